"""Python side of pickled-object.test.ts: torch.save of whole nn.Module trees, on Debian's PyTorch 1.13.

The request is {"dir": d}; writes d/module-p<protocol>.pt (protocols 1 and 2: copyreg._reconstructor and
NEWOBJ), d/state.pt (the same model's state_dict()), and replies with the state-dict keys and a few attributes.
"""
import os

import torch
import torch.nn as nn

from iris_ref import read_request, reply


def build():
    torch.manual_seed(0)
    act = nn.SiLU()
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False),
        nn.BatchNorm2d(4),
        act,
        nn.ModuleList([nn.Conv2d(4, 2, 1), act, nn.Upsample(scale_factor=2.0, mode="nearest")]),
    )
    # Not in state_dict(): PyTorch skips non-persistent buffers.
    model[0].register_buffer("scratch", torch.ones(2), persistent=False)
    model[1].running_mean.normal_()
    model.tag = "plain attribute"
    return model.half()


if __name__ == "__main__":
    request = read_request()
    model = build()
    for protocol in (1, 2):
        torch.save({"model": model}, os.path.join(request["dir"], f"module-p{protocol}.pt"), pickle_protocol=protocol)
    torch.save(model.state_dict(), os.path.join(request["dir"], "state.pt"))
    reply({"keys": list(model.state_dict().keys()), "kernel_size": list(model[0].kernel_size), "scale_factor": model[3][2].scale_factor})
