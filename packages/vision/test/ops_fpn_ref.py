"""torchvision 0.14 side of ops-fpn.test.ts: FeaturePyramidNetwork (with and without extra blocks
and a norm layer) and FrozenBatchNorm2d.

Request {"fpn": [case...], "frozen": {...}}.
fpn case: {"seed", "in_channels", "out_channels", "extra": null|"maxpool"|"p6p7", "p6p7_in",
           "norm": null|"bn", "names", "inputs": [json], "weights": [json]}
  -> "init": state dict right after torch.manual_seed(seed) and construction,
     "state": the state dict with BatchNorm statistics and all parameters randomised (what Iris loads),
     "keys": its keys in order, "names": output names, "outputs": eval-mode outputs,
     "input_grads" / "param_grads": gradients of sum_i sum(out_i * weights_i)
frozen: {"channels", "input": json, "weight": json}
  -> "bn_state": a randomised BatchNorm2d state dict (with num_batches_tracked), "keys": FrozenBatchNorm2d's
     state-dict keys, "repr", "output" after FrozenBatchNorm2d loads bn_state, "grad" of sum(out * weight)
"""
from collections import OrderedDict

import torch
from torch import nn
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7
from torchvision.ops.misc import FrozenBatchNorm2d

from iris_ref import from_json, read_request, reply, to_json


def state_json(module):
    return {k: to_json(v) for k, v in module.state_dict().items()}


def randomise(module, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.3, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
                m.num_batches_tracked.fill_(3)
        for p in module.parameters():
            p.normal_(0, 0.2, generator=g)


def fpn_case(case):
    torch.manual_seed(case["seed"])
    extra = None
    if case["extra"] == "maxpool":
        extra = LastLevelMaxPool()
    elif case["extra"] == "p6p7":
        extra = LastLevelP6P7(case["p6p7_in"], case["out_channels"])
    norm = nn.BatchNorm2d if case["norm"] == "bn" else None
    fpn = FeaturePyramidNetwork(case["in_channels"], case["out_channels"], extra_blocks=extra, norm_layer=norm)
    out = {"init": state_json(fpn)}
    randomise(fpn, case["seed"] + 1)
    out["state"] = state_json(fpn)
    out["keys"] = list(fpn.state_dict().keys())
    fpn.eval()
    inputs = [from_json(x).requires_grad_() for x in case["inputs"]]
    result = fpn(OrderedDict(zip(case["names"], inputs)))
    out["names"] = list(result.keys())
    out["outputs"] = [to_json(v) for v in result.values()]
    loss = sum((v * from_json(w)).sum() for v, w in zip(result.values(), case["weights"]))
    params = [p for _, p in fpn.named_parameters()]
    grads = torch.autograd.grad(loss, inputs + params)
    out["input_grads"] = [to_json(g) for g in grads[: len(inputs)]]
    out["param_grads"] = {name: to_json(g) for (name, _), g in zip(fpn.named_parameters(), grads[len(inputs):])}
    return out


def frozen_case(case):
    bn = nn.BatchNorm2d(case["channels"])
    randomise(bn, 5)
    frozen = FrozenBatchNorm2d(case["channels"])
    frozen.load_state_dict(bn.state_dict())
    x = from_json(case["input"]).requires_grad_()
    y = frozen(x)
    (g,) = torch.autograd.grad((y * from_json(case["weight"])).sum(), [x])
    return {
        "bn_state": state_json(bn),
        "keys": list(frozen.state_dict().keys()),
        "repr": repr(frozen),
        "output": to_json(y),
        "grad": to_json(g),
    }


def main():
    torch.set_num_threads(1)
    request = read_request()
    reply({"fpn": [fpn_case(c) for c in request["fpn"]], "frozen": frozen_case(request["frozen"])})


if __name__ == "__main__":
    main()
