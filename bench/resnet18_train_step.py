"""PyTorch side of bench/resnet18-train-step: one SGD training step of torchvision's ResNet-18
(batch 64, 32x32 by default), in fp32 or with the forward pass under CPU bf16 autocast (the loss in
fp32, as Iris's side and its Trainer do), NCHW or channels-last, with torchvision's stem or the
CIFAR one. It stays up and answers "steps N" lines on stdin with JSON timings, so the benchmark can
alternate short bursts of Iris and PyTorch (see lib/compare.ts)."""
import json
import sys
import time

import torch
import torchvision

args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=10)
if args.get("stem") == "cifar":
    # The usual CIFAR adaptation: 3x3 stride-1 stem, no max-pool.
    model.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    model.maxpool = torch.nn.Identity()
model.train()
if args.get("channelsLast"):
    model = model.to(memory_format=torch.channels_last)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
x = torch.randn(args["batch"], 3, args["size"], args["size"])
if args.get("channelsLast"):
    x = x.contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 10, (args["batch"],))
bf16 = args.get("precision") == "bf16"


def step():
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits.float(), y)
    loss.backward()
    optimizer.step()


for _ in range(args["warmup"]):
    step()
print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    command, count = line.split()
    times = []
    for _ in range(int(count)):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"times": times}), flush=True)
