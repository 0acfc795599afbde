"""Shared by the inference benchmarks' PyTorch side: a torchvision model's eval forward without
gradients, timed in bursts on request ("steps N" on stdin, JSON timings out)."""
import json
import sys
import time

import torch
import torchvision


def serve(name, args_json):
    args = json.loads(args_json)
    torch.set_num_threads(args["threads"])
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)().eval()
    x = torch.randn(args["batch"], 3, args["size"], args["size"])

    def step():
        with torch.no_grad():
            model(x)

    for _ in range(args["warmup"]):
        step()
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        _, count = line.split()
        times = []
        for _ in range(int(count)):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"times": times}), flush=True)
