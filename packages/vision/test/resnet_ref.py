"""torchvision 0.14 side of resnet.test.ts: structures, seeded weights, eval outputs, a train step.

The request is {"cmds": [...]} (one process, one torch import); the reply maps each command to its answer.
Commands:
  {"cmd": "structure", "names": [...]}  -> per model: parameter count and state-dict keys/shapes
  {"cmd": "forward", "dir": d, "cases": [{"id", "name", "num_classes", "in_channels", "cifar_stem", "input"}]}
      -> saves d/<id>.pt (state dict) and d/<id>-io.pt ({input, output} in eval mode)
  {"cmd": "features", "dir": d, "id": id, "name": n, "input": shape}
      -> builds n seeded, saves d/<id>.pt and d/<id>-io.pt with layer1..layer4 outputs
  {"cmd": "train_step", "dir": d, "input": shape, "num_classes": c}
      -> resnet18: d/train-init.pt (weights before), d/train-out.pt (input, target, loss, grads, state after)
  {"cmd": "seeded_init", "dir": d, "name": n, "num_classes": c, "seed": s}
      -> d/seeded.pt: torchvision's own initialisation after torch.manual_seed(s)
"""
import os

import torch
import torchvision
from torchvision.models._utils import IntermediateLayerGetter

from iris_ref import read_request, reply


def build(case):
    torch.manual_seed(case.get("seed", 0))
    model = getattr(torchvision.models, case["name"])(num_classes=case.get("num_classes", 1000))
    if case.get("cifar_stem"):
        # The usual CIFAR adaptation: 3x3 stride-1 stem, no max-pool.
        model.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        model.maxpool = torch.nn.Identity()
    if case.get("in_channels", 3) != 3:
        model.conv1 = torch.nn.Conv2d(case["in_channels"], 64, 7, 2, 3, bias=False)
    # Random BatchNorm statistics and affine parameters, so eval mode exercises them.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    return model


def seeded_input(shape, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g)


def structure(request):
    # Shapes only: skip the initialisation, which dominates building the big variants.
    torch.nn.Conv2d.reset_parameters = lambda self: None
    torch.nn.Linear.reset_parameters = lambda self: None
    torch.nn.init.kaiming_normal_ = lambda *args, **kwargs: None
    out = {}
    for name in request["names"]:
        model = getattr(torchvision.models, name)()
        out[name] = {
            "params": sum(p.numel() for p in model.parameters()),
            "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
        }
    return out


def forward(request):
    for case in request["cases"]:
        model = build(case).eval()
        x = seeded_input(case["input"])
        with torch.no_grad():
            y = model(x)
        torch.save(model.state_dict(), os.path.join(request["dir"], case["id"] + ".pt"))
        torch.save({"input": x, "output": y}, os.path.join(request["dir"], case["id"] + "-io.pt"))


def features(request):
    model = build(request).eval()
    x = seeded_input(request["input"])
    getter = IntermediateLayerGetter(model, {f"layer{i}": f"layer{i}" for i in range(1, 5)})
    with torch.no_grad():
        feats = getter(x)
    torch.save(model.state_dict(), os.path.join(request["dir"], request["id"] + ".pt"))
    torch.save({"input": x, **feats}, os.path.join(request["dir"], request["id"] + "-io.pt"))


def train_step(request):
    model = build({"name": "resnet18", "num_classes": request["num_classes"]}).train()
    torch.save(model.state_dict(), os.path.join(request["dir"], "train-init.pt"))
    x = seeded_input(request["input"])
    target = torch.randint(0, request["num_classes"], (request["input"][0],), generator=torch.Generator().manual_seed(2))
    loss = torch.nn.functional.cross_entropy(model(x), target)
    loss.backward()
    saved = {"input": x, "target": target, "loss": loss.detach()}
    for name, p in model.named_parameters():
        saved["grad." + name] = p.grad
    for name, t in model.state_dict().items():
        saved["state." + name] = t
    torch.save(saved, os.path.join(request["dir"], "train-out.pt"))


def seeded_init(request):
    torch.manual_seed(request["seed"])
    model = getattr(torchvision.models, request["name"])(num_classes=request["num_classes"])
    torch.save(model.state_dict(), os.path.join(request["dir"], "seeded.pt"))


COMMANDS = {"forward": forward, "features": features, "train_step": train_step, "seeded_init": seeded_init, "structure": structure}

torch.set_num_threads(2)
# structure patches the initialisers, so it runs last.
cmds = sorted(read_request()["cmds"], key=lambda c: c["cmd"] == "structure")
reply({c["cmd"]: COMMANDS[c["cmd"]](c) for c in cmds})
