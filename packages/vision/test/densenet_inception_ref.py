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
pre-0.4 key names when legacy_densenet, without num_batches_tracked when drop_num_batches_tracked:
the format of torchvision's 2017 DenseNet files), then builds <arch>(weights="DEFAULT",
**builder_kwargs) with torchvision's own builder reading that file instead of the download, saves
its eval output into dir/builder_io.pt and replies with its state-dict keys and the warnings it gave.
With delete_aux_heads, the model's aux heads are then deleted as the builders' own code does when
aux_logits was not passed: torchvision 0.14 raises ValueError for an explicit aux_logits=False with
weights, so that is the only way to get inception_v3's pretrained model without AuxLogits.
op "legacy_file": a small torchvision DenseNet(**kwargs), perturbed, saved as `file` in that 2017
format; torchvision's densenet _load_state_dict loads it into a fresh DenseNet(**kwargs), whose
eval output goes to dir/legacy_io.pt. The same file without the key `drop` is saved as
`broken_file`; the reply has the error torchvision's loader gives on it.
op "structure": for each label in `archs` ("arch" or "arch:anything", mapped to builder kwargs),
state-dict keys and shapes, parameter count and the default weights' metadata.
"""
import os
import re
import warnings

import torch
import torchvision.models as models
from torchvision.models import _api, densenet

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


def file_state_dict(model, legacy_densenet, drop_num_batches_tracked):
    """A plain dict (no _metadata, so PyTorch treats every module as version None) in the requested format."""
    state_dict = model.state_dict()
    if legacy_densenet:
        state_dict = {LEGACY_DENSENET_KEY.sub(r"\1.\2.\3", k): v for k, v in state_dict.items()}
    if drop_num_batches_tracked:
        state_dict = {k: v for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}
    return dict(state_dict)


def builder(req):
    torch.set_num_threads(req.get("threads", torch.get_num_threads()))
    torch.manual_seed(req["seed"])
    source = getattr(models, req["arch"])(**req.get("file_kwargs", {}))
    perturb(source, req["seed"] + 1)
    torch.save(file_state_dict(source, req.get("legacy_densenet"), req.get("drop_num_batches_tracked")), req["file"])
    _api.WeightsEnum.get_state_dict = lambda self, progress: torch.load(req["file"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = getattr(models, req["arch"])(weights="DEFAULT", **req.get("builder_kwargs", {})).eval()
    if req.get("delete_aux_heads"):
        # The lines of googlenet()/inception_v3() that run after load_state_dict when not original_aux_logits.
        model.aux_logits = False
        for name in ("aux1", "aux2", "AuxLogits"):
            if hasattr(model, name):
                setattr(model, name, None)
    torch.manual_seed(req["input_seed"])
    x = torch.randn(req["input_shape"])
    with torch.no_grad():
        io = {"input": x, "eval": model(x)}
    torch.save(io, os.path.join(req["dir"], "builder_io.pt"))
    return {"keys": list(model.state_dict().keys()), "warnings": [str(w.message) for w in caught]}


class FileWeights:
    """What torchvision's densenet _load_state_dict asks of a weights enum member: get_state_dict."""

    def __init__(self, path):
        self.path = path

    def get_state_dict(self, progress):
        return torch.load(self.path)


def legacy_file(req):
    torch.set_num_threads(req.get("threads", torch.get_num_threads()))
    torch.manual_seed(req["seed"])
    source = models.DenseNet(**req["kwargs"])
    perturb(source, req["seed"] + 1)
    state_dict = file_state_dict(source, True, True)
    torch.save(state_dict, req["file"])
    model = models.DenseNet(**req["kwargs"])
    densenet._load_state_dict(model, FileWeights(req["file"]), progress=False)
    model.eval()
    torch.manual_seed(req["input_seed"])
    x = torch.randn(req["input_shape"])
    with torch.no_grad():
        torch.save({"input": x, "eval": model(x)}, os.path.join(req["dir"], "legacy_io.pt"))
    torch.save({k: v for k, v in state_dict.items() if k != req["drop"]}, req["broken_file"])
    try:
        densenet._load_state_dict(models.DenseNet(**req["kwargs"]), FileWeights(req["broken_file"]), progress=False)
        broken_error = ""
    except RuntimeError as e:
        broken_error = str(e)
    return {"keys": list(state_dict.keys()), "broken_error": broken_error}


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
    reply({"forward": forward, "builder": builder, "legacy_file": legacy_file, "structure": structure}[request["op"]](request))
