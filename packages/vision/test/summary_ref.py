"""torchvision 0.14 side of summary.test.ts: every submodule of a model with the output shape of its
first call (forward hooks, batch 1 at the given size), its class name and parameter count."""
import torch
import torchvision

from iris_ref import read_request, reply

request = read_request()
model = getattr(torchvision.models, request["name"])().eval()
rows = {}


def record(name):
    def hook(module, inputs, output):
        rows[name].setdefault("outputShape", list(output.shape))
    return hook


for name, module in model.named_modules():
    if name:
        rows[name] = {"type": type(module).__name__, "params": sum(p.numel() for p in module.parameters())}
        module.register_forward_hook(record(name))
with torch.no_grad():
    model(torch.zeros([1, *request["input"]]))
reply({"names": list(rows), "rows": rows})
