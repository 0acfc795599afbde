"""PyTorch side of train-precision.test.ts: one Trainer-style SGD step of a small conv net in fp32,
bf16 autocast (torch.autocast('cpu', dtype=torch.bfloat16)) and channels-last.

Request: {"dir": d, "input": [N, C, H, W], "classes": k, "lr": lr, "momentum": m, "weight_decay": wd,
          "cases": [{"id": id, "bf16": bool, "channels_last": bool}]}
Writes d/init.pt (the weights both sides start from), d/batch.pt ({images, labels}) and per case
d/<id>.pt ({logits (as float32), loss, after.<state-dict key>...}); replies with each case's logits
dtype and the parameters' strides after model.to(memory_format=torch.channels_last).
"""
import copy
import os

import torch
import torch.nn.functional as F
from torch import nn

from iris_ref import read_request, reply


class SmallNet(nn.Module):
    """The test's net: 3x3 convs with BatchNorm, a strided one, a 1x1 conv with bias, a linear head."""

    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 32, 1)
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.conv3(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def main():
    req = read_request()
    d = req["dir"]
    torch.set_num_threads(2)
    torch.manual_seed(0)
    base = SmallNet(req["classes"])
    with torch.no_grad():
        for m in base.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    images = torch.randn(*req["input"])
    labels = torch.randint(0, req["classes"], (req["input"][0],))
    torch.save({k: v.clone() for k, v in base.state_dict().items()}, os.path.join(d, "init.pt"))
    torch.save({"images": images, "labels": labels}, os.path.join(d, "batch.pt"))

    out = {"cases": {}}
    for case in req["cases"]:
        model = copy.deepcopy(base)
        x = images
        if case["channels_last"]:
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        optimizer = torch.optim.SGD(model.parameters(), lr=req["lr"], momentum=req["momentum"], weight_decay=req["weight_decay"])
        model.train()
        # As the Trainer: the forward pass under autocast, the loss in fp32 outside it.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=case["bf16"]):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), labels)
        loss.backward()
        optimizer.step()
        saved = {"logits": logits.detach().float().contiguous(), "loss": loss.detach().reshape(1)}
        for k, v in model.state_dict().items():
            saved["after." + k] = v.contiguous().clone()
        torch.save(saved, os.path.join(d, case["id"] + ".pt"))
        out["cases"][case["id"]] = {"logits_dtype": str(logits.dtype).replace("torch.", "")}

    converted = copy.deepcopy(base).to(memory_format=torch.channels_last)
    out["channels_last_strides"] = {k: list(p.stride()) for k, p in converted.named_parameters()}
    reply(out)


if __name__ == "__main__":
    main()
