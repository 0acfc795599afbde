"""torchvision 0.14 side of registry-defaults.test.ts: what each builder makes without weights.

Request {"names": [...]} -> {name: {...}} for the names torchvision.models.list_models() has, each
built as torchvision.models.get_model(name) (no weights, no kwargs) and described by:
  num_classes: the classifier's output features;
  attrs: constructor-level attributes of the model itself (transform_input, aux_logits), where it has them;
  modules: for every submodule whose settings matter, [name, kind, settings]: Dropout p, BatchNorm
    eps and momentum, LayerNorm / GroupNorm eps, StochasticDepth p and mode, MultiheadAttention dropout,
    DenseNet layers' drop_rate, in named_modules() order;
  keys: the state dict's [key, shape] pairs, in order; param_count: the number of parameters.
Initialisation is skipped (torch.nn.init's in-place functions become no-ops) and parameters are
left uninitialised: only structure and settings are read, and vit_l_16 builds in a fraction of a second.
"""
import warnings

import torch
import torchvision
from torch import nn
from torchvision.ops import StochasticDepth

from iris_ref import read_request, reply

warnings.simplefilter("ignore")


def skip_init():
    for name in dir(nn.init):
        fn = getattr(nn.init, name)
        if name.endswith("_") and not name.startswith("_") and callable(fn):
            setattr(nn.init, name, lambda tensor, *args, **kwargs: tensor)


def settings(module):
    if isinstance(module, nn.modules.dropout._DropoutNd):
        return "dropout", {"p": module.p}
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return "batchnorm", {"eps": module.eps, "momentum": module.momentum}
    if isinstance(module, nn.LayerNorm):
        return "layernorm", {"eps": module.eps}
    if isinstance(module, nn.GroupNorm):
        return "groupnorm", {"eps": module.eps}
    if isinstance(module, StochasticDepth):
        return "stochastic_depth", {"p": module.p, "mode": module.mode}
    if isinstance(module, nn.MultiheadAttention):
        return "attention", {"dropout": module.dropout}
    if type(module).__name__ == "_DenseLayer":
        return "dense_layer", {"drop_rate": float(module.drop_rate)}
    return None


def num_classes(model):
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    return last.out_features


def describe(model):
    modules = []
    for name, module in model.named_modules():
        s = settings(module)
        if s is not None:
            modules.append([name, s[0], s[1]])
    attrs = {k: bool(getattr(model, k)) for k in ("transform_input", "aux_logits") if hasattr(model, k)}
    return {
        "num_classes": num_classes(model),
        "attrs": attrs,
        "modules": modules,
        "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
        "param_count": sum(p.numel() for p in model.parameters()),
    }


request = read_request()
torch.set_num_threads(2)
skip_init()
have = set(torchvision.models.list_models(module=torchvision.models))
out = {}
for name in request["names"]:
    if name not in have:
        continue
    model = torchvision.models.get_model(name)
    out[name] = describe(model)
    del model
reply(out)
