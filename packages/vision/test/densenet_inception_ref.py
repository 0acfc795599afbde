"""torchvision 0.14 references for DenseNet, Inception v3 and GoogLeNet.

op "forward": builds torchvision.models.<arch>(**kwargs) after torch.manual_seed(seed) and saves
into dir:
  init.pt: the initial state dict;
  weights.pt: the same with every constant tensor perturbed, so that BatchNorm's affine and
    running stats and zeroed biases matter;
  io.pt: the input, its eval-mode output, the eval outputs of the modules in `hooks`, the eval
    outputs for `extra_inputs` shapes and, with train_seed, the training-mode outputs after
    torch.manual_seed(train_seed) (on the input, or on train.input of train_input_shape);
  after_train.pt, with train_seed: the state dict after that training forward (running stats).
op "builder": saves a <arch>(**file_kwargs) state dict, perturbed, as `file` (with densenet's
pre-0.4 key names when legacy_densenet), then builds <arch>(weights="DEFAULT") with torchvision's
own builder reading that file instead of the download, and saves its eval output into
dir/builder_io.pt.
op "structure": for each label in `archs` ("arch" or "arch:anything", mapped to builder kwargs),
state-dict keys and shapes, parameter count and the default weights' metadata.
"""
import os
import re
import warnings

import torch
import torchvision.models as models
from torchvision.models import _api

from iris_ref import read_request, reply

warnings.simplefilter("ignore")


def perturb(model, seed):
    """Ones become U(0.5, 1.5) and zeros N(0, 0.1²) in every constant float tensor."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if not t.is_floating_point() or t.numel() == 0 or not bool((t == t.reshape(-1)[0]).all()):
                continue
            if float(t.reshape(-1)[0]) == 1.0:
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            else:
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)


def forward(req):
    # Iris's thread count: the same reduction order, so rounding cannot differ (BatchNorm in
    # training over 2 values per channel, in Inception's aux head, magnifies it past 1e-4).
    torch.set_num_threads(req.get("threads", torch.get_num_threads()))
    torch.manual_seed(req["seed"])
    model = getattr(models, req["arch"])(**req.get("kwargs", {}))
    torch.save(model.state_dict(), os.path.join(req["dir"], "init.pt"))
    perturb(model, req["seed"] + 1)
    torch.save(model.state_dict(), os.path.join(req["dir"], "weights.pt"))
    torch.manual_seed(req["input_seed"])
    x = torch.randn(req["input_shape"])
    extra = [torch.randn(shape) for shape in req.get("extra_inputs", [])]
    train_x = torch.randn(req["train_input_shape"]) if "train_input_shape" in req else x
    io = {"input": x}
    model.eval()
    modules = dict(model.named_modules())
    handles = [
        modules[name].register_forward_hook(lambda m, i, o, name=name: io.__setitem__("hook." + name, o.clone()))
        for name in req.get("hooks", [])
    ]
    with torch.no_grad():
        io["eval"] = model(x)
        for h in handles:
            h.remove()
        for i, e in enumerate(extra):
            io[f"extra.{i}.input"] = e
            io[f"extra.{i}.eval"] = model(e)
    if req.get("train_seed") is not None:
        model.train()
        torch.manual_seed(req["train_seed"])
        with torch.no_grad():
            out = model(train_x)
        if isinstance(out, tuple):
            for name, value in out._asdict().items():
                if value is not None:
                    io["train." + name] = value
        else:
            io["train.logits"] = out
        if train_x is not x:
            io["train.input"] = train_x
        torch.save(model.state_dict(), os.path.join(req["dir"], "after_train.pt"))
    torch.save(io, os.path.join(req["dir"], "io.pt"))
    return {"param_count": sum(p.numel() for p in model.parameters())}


LEGACY_DENSENET_KEY = re.compile(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.(weight|bias|running_mean|running_var)$")


def builder(req):
    torch.set_num_threads(req.get("threads", torch.get_num_threads()))
    torch.manual_seed(req["seed"])
    source = getattr(models, req["arch"])(**req.get("file_kwargs", {}))
    perturb(source, req["seed"] + 1)
    state_dict = source.state_dict()
    if req.get("legacy_densenet"):
        state_dict = {LEGACY_DENSENET_KEY.sub(r"\1.\2.\3", k): v for k, v in state_dict.items()}
    torch.save(state_dict, req["file"])
    _api.WeightsEnum.get_state_dict = lambda self, progress: torch.load(req["file"])
    model = getattr(models, req["arch"])(weights="DEFAULT").eval()
    torch.manual_seed(req["input_seed"])
    x = torch.randn(req["input_shape"])
    with torch.no_grad():
        io = {"input": x, "eval": model(x)}
    torch.save(io, os.path.join(req["dir"], "builder_io.pt"))
    return {}


def structure(req):
    out = {}
    for label, kwargs in req["archs"].items():
        arch = label.split(":")[0]
        model = getattr(models, arch)(**kwargs)
        weights = models.get_model_weights(arch).DEFAULT
        transforms = weights.transforms()
        metrics = weights.meta["_metrics"]["ImageNet-1K"]
        out[label] = {
            "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
            "param_count": sum(p.numel() for p in model.parameters()),
            "url": weights.url,
            "num_params": weights.meta["num_params"],
            "top1": metrics["acc@1"],
            "top5": metrics["acc@5"],
            "crop_size": transforms.crop_size[0],
            "resize_size": transforms.resize_size[0],
            "interpolation": transforms.interpolation.value,
            "mean": list(transforms.mean),
            "std": list(transforms.std),
        }
    return out


if __name__ == "__main__":
    request = read_request()
    reply({"forward": forward, "builder": builder, "structure": structure}[request["op"]](request))
