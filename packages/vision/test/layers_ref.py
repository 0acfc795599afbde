"""torchvision 0.14 references for the shared layers (layers.test.ts): _make_divisible,
Conv2dNormActivation, SqueezeExcitation and stochastic_depth."""
from functools import partial

import torch
from torch import nn
from torchvision.models._utils import _make_divisible
from torchvision.ops import Conv2dNormActivation, SqueezeExcitation, stochastic_depth

from iris_ref import read_request, reply, to_json, from_json

NORMS = {None: None, "bn": nn.BatchNorm2d, "bn_tf": partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)}
ACTIVATIONS = {
    None: None, "relu": nn.ReLU, "relu6": nn.ReLU6, "hardswish": nn.Hardswish, "silu": nn.SiLU,
    "sigmoid": nn.Sigmoid, "hardsigmoid": nn.Hardsigmoid, "silu_inplace": partial(nn.SiLU, inplace=True),
}


def run_module(module, x, seed):
    """Initial state dict and repr; then, with batch-norm stats and affine parameters perturbed,
    that state dict, the eval output, and a train-mode output (batch stats) after the same seed."""
    out = {
        "init": {k: to_json(v) for k, v in module.state_dict().items()},
        "repr": repr(module),
    }
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.5, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(0, 0.5, generator=g)
    out["state"] = {k: to_json(v) for k, v in module.state_dict().items()}
    module.eval()
    with torch.no_grad():
        out["eval"] = to_json(module(x))
    module.train()
    torch.manual_seed(seed)
    with torch.no_grad():
        out["train"] = to_json(module(x))
    return out


def conv_norm_activation(req):
    results = []
    for case in req["cases"]:
        torch.manual_seed(case["seed"])
        kwargs = dict(case["kwargs"])
        kwargs["norm_layer"] = NORMS[case["norm"]]
        kwargs["activation_layer"] = ACTIVATIONS[case["activation"]]
        m = Conv2dNormActivation(case["in"], case["out"], **kwargs)
        results.append(run_module(m, from_json(case["x"]), case["seed"]))
    return results


def squeeze_excitation(req):
    results = []
    for case in req["cases"]:
        torch.manual_seed(case["seed"])
        m = SqueezeExcitation(
            case["in"], case["squeeze"],
            activation=ACTIVATIONS[case["activation"]], scale_activation=ACTIVATIONS[case["scale"]],
        )
        results.append(run_module(m, from_json(case["x"]), case["seed"]))
    return results


def make_divisible(req):
    return [_make_divisible(v, d, m) for v, d, m in req["cases"]]


def stochastic_depth_masks(req):
    x = from_json(req["x"])
    out = []
    for p, mode, training in req["cases"]:
        torch.manual_seed(req["seed"])
        out.append(to_json(stochastic_depth(x, p, mode, training)))
    return out


req = read_request()
ops = {
    "conv_norm_activation": conv_norm_activation,
    "squeeze_excitation": squeeze_excitation,
    "make_divisible": make_divisible,
    "stochastic_depth": stochastic_depth_masks,
}
reply(ops[req["op"]](req))
