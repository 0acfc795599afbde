"""PyTorch 1.13 reference for conv-BN folding (fusion.test.ts): torch.nn.utils.fusion.fuse_conv_bn_eval
on one eval-mode Conv2d + BatchNorm2d pair with perturbed running stats, saved with its input and outputs."""
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from iris_ref import read_request, reply


def case(spec):
    torch.manual_seed(spec["seed"])
    cin, cout, groups = spec["inChannels"], spec["outChannels"], spec["groups"]
    conv = nn.Conv2d(cin, cout, spec["kernelSize"], stride=spec["stride"], padding=spec["padding"], groups=groups, bias=spec["bias"])
    bn = nn.BatchNorm2d(cout, eps=spec["eps"], affine=spec["affine"])
    with torch.no_grad():
        bn.running_mean.normal_(0, 0.5)
        bn.running_var.uniform_(0.2, 2.0)
        if spec["affine"]:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0, 0.5)
    conv.eval()
    bn.eval()
    fused = fuse_conv_bn_eval(conv, bn)
    x = torch.randn(2, cin, 9, 11)
    out = {"x": x, "fused.weight": fused.weight, "fused.bias": fused.bias}
    out.update({f"conv.{k}": v for k, v in conv.state_dict().items()})
    out.update({f"bn.{k}": v for k, v in bn.state_dict().items()})
    with torch.no_grad():
        out["unfused"] = bn(conv(x))
        out["out"] = fused(x)
    torch.save({k: v.detach().contiguous() for k, v in out.items()}, spec["path"])


def main():
    for spec in read_request()["cases"]:
        case(spec)
    reply({"ok": True})


main()
