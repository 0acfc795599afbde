"""PyTorch side of bench/resnet50-inference: torchvision's ResNet-50 (seeded init), eval, no grad,
as eager fp32, channels-last fp32 and channels-last under bf16 autocast, at each requested batch
size; and the ONNX file the Node side runs in onnxruntime, written by torch.onnx.export (batch axis
dynamic). Answers "VARIANT BATCH COUNT" lines on stdin with JSON timings."""
import json
import os
import sys
import time

import torch
import torchvision


def main():
    args = json.loads(sys.argv[1])
    torch.set_num_threads(args["threads"])
    torch.manual_seed(0)
    eager = torchvision.models.resnet50().eval()
    onnx_path = os.path.join(args["dir"], "resnet50.onnx")
    with torch.no_grad():
        torch.onnx.export(eager, torch.randn(1, 3, args["size"], args["size"]), onnx_path, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    channels_last = torchvision.models.resnet50().eval()
    channels_last.load_state_dict(eager.state_dict())
    channels_last = channels_last.to(memory_format=torch.channels_last)
    inputs = {b: torch.randn(b, 3, args["size"], args["size"]) for b in args["batches"]}
    inputs_cl = {b: x.contiguous(memory_format=torch.channels_last) for b, x in inputs.items()}

    def eager_step(b):
        eager(inputs[b])

    def channels_last_step(b):
        channels_last(inputs_cl[b])

    def bf16_step(b):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            channels_last(inputs_cl[b])

    steps = {"eager": eager_step, "channels_last": channels_last_step, "bf16": bf16_step}
    with torch.no_grad():
        for b in args["batches"]:
            for step in steps.values():
                for _ in range(args["warmup"]):
                    step(b)
        print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "onnx": onnx_path}), flush=True)
        for line in sys.stdin:
            variant, batch, count = line.split()
            times = []
            for _ in range(int(count)):
                t0 = time.perf_counter()
                steps[variant](int(batch))
                times.append((time.perf_counter() - t0) * 1000)
            print(json.dumps({"times": times}), flush=True)


main()
