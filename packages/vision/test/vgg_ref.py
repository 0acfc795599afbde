"""torchvision 0.14 side of vgg.test.ts. VGG is big (133M+ parameters, 477 MB at 10 classes), so
the seeded initialisation crosses as per-tensor float64 sums and only the weights Iris loads are saved.

Request {"cmds": [...]}, one process; the reply maps each command to its answer.
  {"cmd": "structure", "models": [{"name", "kwargs"}]} -> per model: state-dict keys and shapes, parameter
      count, repr; for the default configuration also every weights entry [tag, url, top1, top5, resize,
      crop, interpolation, mean, std] (NaN accuracies as null). Initialisation is skipped (shapes only).
  {"cmd": "parity", "dir", "name", "kwargs", "seed", "input", "train_seed", "grad_names", "stages"} ->
      builds <name>(**kwargs) after manual_seed(seed) and replies its init's [sum, sum |x|] per key;
      perturbs BatchNorm statistics and biases and saves dir/weights.pt; dir/io.pt holds the input, the
      eval-mode outputs of the `stages` indices of `features`, the features and logits, and a train-mode
      pass after manual_seed(train_seed): its logits, the gradients of sum(logits²) for grad_names and the
      running statistics after it.
  {"cmd": "rng_after", "name", "kwargs", "seed"} -> torch.rand(3) drawn after building <name>(**kwargs) after
      manual_seed(seed): equal draws mean the builder consumed the generator as torchvision's (init_weights=False).
"""
import math
import os

import torch
import torchvision
from torch import nn

from iris_ref import read_request, reply


def weights_entries(name):
    out = []
    for w in torchvision.models.get_model_weights(name):
        t = w.transforms()
        m = w.meta["_metrics"]["ImageNet-1K"]
        acc = [None if math.isnan(m["acc@1"]) else m["acc@1"], None if math.isnan(m["acc@5"]) else m["acc@5"]]
        out.append([w.name.lower(), w.url, *acc, t.resize_size[0], t.crop_size[0], t.interpolation.value, list(t.mean), list(t.std)])
    return out


def structure(req):
    # Shapes only: initialising 133M+ parameters per model would dominate the test.
    nn.init.kaiming_normal_ = lambda *a, **k: None
    nn.init.normal_ = lambda *a, **k: None
    nn.Conv2d.reset_parameters = lambda self: None
    nn.Linear.reset_parameters = lambda self: None
    out = []
    for spec in req["models"]:
        model = torchvision.models.__dict__[spec["name"]](**spec.get("kwargs", {}))
        entry = {
            "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
            "param_count": sum(p.numel() for p in model.parameters()),
            "repr": str(model),
        }
        if not spec.get("kwargs"):
            entry["weights"] = weights_entries(spec["name"])
        out.append(entry)
    return out


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.2, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(0, 0.2, generator=g)
            elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.normal_(0, 0.2, generator=g)


def parity(req):
    torch.manual_seed(req["seed"])
    model = torchvision.models.__dict__[req["name"]](**req.get("kwargs", {}))
    sums = {k: [v.sum(dtype=torch.float64).item(), v.abs().sum(dtype=torch.float64).item()] for k, v in model.state_dict().items()}
    perturb(model, req["seed"] + 1)
    torch.save(model.state_dict(), os.path.join(req["dir"], "weights.pt"))
    x = torch.randn(req["input"], generator=torch.Generator().manual_seed(req["seed"] + 2))
    io = {"input": x}
    model.eval()
    with torch.no_grad():
        h = x
        for i, layer in enumerate(model.features):
            h = layer(h)
            if i in req["stages"]:
                io[f"stage{i}"] = h
        io["features"] = h
        io["logits"] = model(x)
    model.train()
    torch.manual_seed(req["train_seed"])
    y = model(x)
    y.pow(2).sum().backward()
    io["train_logits"] = y.detach()
    params = dict(model.named_parameters())
    for k in req["grad_names"]:
        io[f"grad.{k}"] = params[k].grad
    for k, v in model.state_dict().items():
        if k.endswith("running_mean") or k.endswith("running_var"):
            io[f"after_train.{k}"] = v
    torch.save(io, os.path.join(req["dir"], "io.pt"))
    return {"init_sums": sums}


def rng_after(req):
    torch.manual_seed(req["seed"])
    torchvision.models.__dict__[req["name"]](**req.get("kwargs", {}))
    return torch.rand(3).tolist()


COMMANDS = {"structure": structure, "parity": parity, "rng_after": rng_after}
torch.set_num_threads(1)  # as the test: bit-identical kernels on the shared CI box
# structure patches the initialisers, so it runs last.
cmds = sorted(read_request()["cmds"], key=lambda c: c["cmd"] == "structure")
reply({c["cmd"]: COMMANDS[c["cmd"]](c) for c in cmds})
