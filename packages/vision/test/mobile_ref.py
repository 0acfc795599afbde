"""torchvision 0.14 references for MobileNetV2/V3 and EfficientNet (mobilenet.test.ts, efficientnet.test.ts).

op "forward": builds the model after torch.manual_seed(seed), saves its initial state dict
(init.pt), perturbs every BatchNorm's stats and affine parameters and every bias (so eval
mode is not near-identity), saves the state dict (weights.pt) and the input, the eval-mode
features/stage outputs/logits and, when asked, a seeded train-mode pass with the gradients of
sum(logits²) (io.pt).
op "structure": for each {model, kwargs}, the state-dict keys and shapes, the parameter count and the
repr; for the default configuration also the weights metadata.
"""
import os

import torch
import torchvision
from torch import nn

from iris_ref import read_request, reply


def build(name, kwargs):
    return torchvision.models.__dict__[name](**kwargs)


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


def forward(req):
    out_dir = req["dir"]
    torch.manual_seed(req["seed"])
    model = build(req["model"], req.get("kwargs", {}))
    torch.save(model.state_dict(), os.path.join(out_dir, "init.pt"))
    perturb(model, req["seed"] + 1)
    torch.save(model.state_dict(), os.path.join(out_dir, "weights.pt"))
    x = torch.randn(req["input"], generator=torch.Generator().manual_seed(req["seed"] + 2))
    io = {"input": x}
    model.eval()
    with torch.no_grad():
        h = x
        for i, layer in enumerate(model.features):
            h = layer(h)
            if i in req.get("stages", []):
                io[f"stage{i}"] = h
        io["features"] = h
        io["logits"] = model(x)
    if "train_seed" in req:
        model.train()
        torch.manual_seed(req["train_seed"])
        y = model(x)
        y.pow(2).sum().backward()
        io["train_logits"] = y.detach()
        for k, p in model.named_parameters():
            io[f"grad.{k}"] = p.grad
        for k, v in model.state_dict().items():
            if k.endswith("running_mean") or k.endswith("running_var"):
                io[f"after_train.{k}"] = v
    torch.save(io, os.path.join(out_dir, "io.pt"))
    return {"repr": str(model)}


def weights_entry(w):
    """[tag, url, top1, top5, resize, crop, interpolation, mean, std] of one weights enum member."""
    t = w.transforms()
    metrics = w.meta["_metrics"]["ImageNet-1K"]
    return [w.name.lower(), w.url, metrics["acc@1"], metrics["acc@5"],
            t.resize_size[0], t.crop_size[0], t.interpolation.value, list(t.mean), list(t.std)]


def weights_meta(name):
    """The DEFAULT weights' metadata (zoo-parity.ts's StructureRef) and every weights entry."""
    enum = torchvision.models.get_model_weights(name)
    default = enum.DEFAULT
    transforms = default.transforms()
    metrics = default.meta["_metrics"]["ImageNet-1K"]
    return {
        "url": default.url,
        "num_params": default.meta["num_params"],
        "top1": metrics["acc@1"],
        "top5": metrics["acc@5"],
        "crop_size": transforms.crop_size[0],
        "resize_size": transforms.resize_size[0],
        "interpolation": transforms.interpolation.value,
        "mean": list(transforms.mean),
        "std": list(transforms.std),
        "all_weights": [weights_entry(w) for w in enum],
    }


def structure(req):
    out = []
    for spec in req["models"]:
        model = build(spec["model"], spec.get("kwargs", {}))
        out.append({
            "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
            "param_count": sum(p.numel() for p in model.parameters()),
            "repr": str(model),
            **({} if spec.get("kwargs") else weights_meta(spec["model"])),
        })
    return out


req = read_request()
reply({"forward": forward, "structure": structure}[req["op"]](req))
