"""torchvision 0.14 side of zoo-forward.test.ts: every classification model Iris registers that
torchvision has, built seeded with the registry's defaults, run in eval mode on a fixed input.

Request {"cmd": "available", "names": [...]} -> the names torchvision.models.list_models() has.
Request {"cmd": "forward", "dir": d, "cases": [{"name", "num_classes", "input", "kwargs"}]}
    -> d/<name>.pt (state dict) and d/<name>-io.pt ({input, output}).
"""
import os

import torch
import torchvision

from iris_ref import read_request, reply


def randomize(model):
    # Non-trivial statistics and no all-zero tensors (ViT's head, biases), so eval mode exercises
    # every parameter and buffer the file carries.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        for p in model.parameters():
            if p.numel() and p.abs().max() == 0:
                p.normal_(0, 0.05)


def forward(request):
    for case in request["cases"]:
        torch.manual_seed(0)
        model = torchvision.models.get_model(case["name"], num_classes=case["num_classes"], **case["kwargs"])
        randomize(model)
        model.eval()
        x = torch.rand(case["input"], generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            y = model(x)
        torch.save(model.state_dict(), os.path.join(request["dir"], case["name"] + ".pt"))
        torch.save({"input": x, "output": y}, os.path.join(request["dir"], case["name"] + "-io.pt"))
        del model


request = read_request()
torch.set_num_threads(2)
if request["cmd"] == "available":
    have = set(torchvision.models.list_models(module=torchvision.models))
    reply([n for n in request["names"] if n in have])
else:
    forward(request)
    reply({})
