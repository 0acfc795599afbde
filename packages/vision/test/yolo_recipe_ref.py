"""PyTorch side of yolo-recipe.test.ts: Ultralytics' training loop (engine/trainer.py 8.3), written from its
formulas, on a small net and fixed data: three parameter groups, the 'auto' rule, weight decay scaled to nbs,
per-batch warm-up of lr / momentum / accumulation, LambdaLR per epoch, gradient clipping at 10, ModelEMA with
tau. Iris steps at every epoch end as well (a checkpoint never holds half-accumulated gradients); so does this.

Request: {"dir": d, "epochs": E, "batches": nb, "batch_size": bs, "dataset_size": n, "nc": nc,
          "hyp": {...Ultralytics names...}, "in": k}
Writes d/init.pt (the weights both start from), d/data.pt (x [nb*bs, k], y [nb*bs, 1]), d/out.pt (model.* and
ema.* after training). Replies with the resolved optimizer, the lr of every group and momentum at every batch,
the accumulation of every batch and the group sizes.
"""
import math

import numpy as np
import torch
from torch import nn

from iris_ref import read_request, reply


class Net(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.fc1 = nn.Linear(k, 16)
        self.bn = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.bn(self.fc1(x))))


def main():
    req = read_request()
    torch.manual_seed(0)
    d, E, nb, bs, hyp = req["dir"], req["epochs"], req["batches"], req["batch_size"], req["hyp"]
    model = Net(req["in"])
    ema = Net(req["in"])
    ema.load_state_dict(model.state_dict())
    ema.eval()
    torch.save(model.state_dict(), f"{d}/init.pt")
    x = torch.randn(nb * bs, req["in"])
    y = x[:, :1] * 2 - x[:, 1:2] + 0.1 * torch.randn(nb * bs, 1)
    torch.save({"x": x, "y": y}, f"{d}/data.pt")

    nbs = hyp["nbs"]
    accumulate = max(round(nbs / bs), 1)
    weight_decay = hyp["weight_decay"] * bs * accumulate / nbs
    iterations = math.ceil(req["dataset_size"] / max(bs, nbs)) * E
    name, lr, momentum = hyp["optimizer"], hyp["lr0"], hyp["momentum"]
    warmup_bias_lr = hyp["warmup_bias_lr"]
    if name == "auto":
        lr_fit = round(0.002 * 5 / (4 + req["nc"]), 6)
        name, lr, momentum = ("SGD", 0.01, 0.9) if iterations > 10000 else ("AdamW", lr_fit, 0.9)
        warmup_bias_lr = 0.0

    g = [], [], []
    bn = tuple(v for k, v in nn.__dict__.items() if "Norm" in k)
    for module_name, module in model.named_modules():
        for param_name, param in module.named_parameters(recurse=False):
            fullname = f"{module_name}.{param_name}" if module_name else param_name
            if "bias" in fullname:
                g[2].append(param)
            elif isinstance(module, bn):
                g[1].append(param)
            else:
                g[0].append(param)
    if name in ("Adam", "AdamW"):
        opt = getattr(torch.optim, name)(g[2], lr=lr, betas=(momentum, 0.999), weight_decay=0.0)
    else:
        opt = torch.optim.SGD(g[2], lr=lr, momentum=momentum, nesterov=True)
    opt.add_param_group({"params": g[0], "weight_decay": weight_decay})
    opt.add_param_group({"params": g[1], "weight_decay": 0.0})

    if hyp["cos_lr"]:
        lf = lambda e: max((1 - math.cos(e * math.pi / E)) / 2, 0) * (hyp["lrf"] - 1) + 1
    else:
        lf = lambda e: max(1 - e / E, 0) * (1.0 - hyp["lrf"]) + hyp["lrf"]
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lf)
    nw = max(round(hyp["warmup_epochs"] * nb), 100) if hyp["warmup_epochs"] > 0 else -1
    updates = 0
    lrs, momenta, accs = [], [], []
    last_opt_step = -1
    acc = accumulate
    for epoch in range(E):
        model.train()
        for i in range(nb):
            ni = i + nb * epoch
            if ni <= nw:
                xi = [0, nw]
                acc = max(1, int(np.interp(ni, xi, [1, nbs / bs]).round()))
                for j, group in enumerate(opt.param_groups):
                    group["lr"] = float(np.interp(ni, xi, [warmup_bias_lr if j == 0 else 0.0, group["initial_lr"] * lf(epoch)]))
                    if "momentum" in group:
                        group["momentum"] = float(np.interp(ni, xi, [hyp["warmup_momentum"], momentum]))
            else:
                acc = accumulate
            lrs.append([group["lr"] for group in opt.param_groups])
            momenta.append(opt.param_groups[0].get("momentum", None))
            accs.append(acc)
            xb, yb = x[i * bs:(i + 1) * bs], y[i * bs:(i + 1) * bs]
            loss = ((model(xb) - yb) ** 2).mean() * bs
            loss.backward()
            if ni - last_opt_step >= acc or i == nb - 1:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
                opt.step()
                opt.zero_grad()
                updates += 1
                dec = 0.9999 * (1 - math.exp(-updates / 2000))
                with torch.no_grad():
                    msd = model.state_dict()
                    for k, v in ema.state_dict().items():
                        if v.dtype.is_floating_point:
                            v *= dec
                            v += (1 - dec) * msd[k].detach()
                        else:
                            v.copy_(msd[k])
                last_opt_step = ni
        scheduler.step()
    out = {f"model.{k}": v for k, v in model.state_dict().items()}
    out.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    torch.save(out, f"{d}/out.pt")
    reply({"name": name, "lr": lr, "momentum": momentum, "weight_decay": weight_decay, "warmup_bias_lr": warmup_bias_lr,
           "iterations": iterations, "accumulate": accumulate, "lrs": lrs, "momenta": momenta, "accs": accs,
           "groups": [len(x) for x in g], "updates": updates})


main()
