"""PyTorch side of bench/yolo-forward: an Ultralytics YOLOv8 / YOLO11 network (the test suite's PyTorch rewrite
of Ultralytics' modules, packages/vision/test/detection_yolo_ref.py, whose outputs the parity tests hold Iris
to), eval, no grad, on a [batch, 3, size, size] input. Before it answers "ready" it writes the seeded weights
and the input with its outputs under args["dir"] (weights.pt, io.pt) for Iris to load and check; then it
answers "steps N" lines with JSON timings (see lib/compare.ts)."""
import json
import os
import sys
import time

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path[:0] = [os.path.join(ROOT, "packages", "vision", "test"), os.path.join(ROOT, "packages", "torch", "test", "helpers")]
from detection_yolo_ref import seeded_model  # noqa: E402


def main():
    args = json.loads(sys.argv[1])
    torch.set_num_threads(args["threads"])
    model = seeded_model({"name": args["model"], "nc": 80, "seed": 0}).eval()
    x = torch.rand(args["batch"], 3, args["size"], args["size"], generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        outs = model(x)
    torch.save(model.state_dict(), os.path.join(args["dir"], "weights.pt"))
    torch.save({"input": x, **{f"out{i}": o for i, o in enumerate(outs)}}, os.path.join(args["dir"], "io.pt"))

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


main()
