"""PyTorch side of the optim tests: optimizer runs, LR schedules and gradient clipping."""
import math
from collections import Counter

import torch
import torch.nn.functional as F
from torch.optim import lr_scheduler
from torch.nn.utils import clip_grad_norm_, clip_grad_value_

from iris_ref import read_request, reply, to_json, from_json

OPTIMIZERS = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW, "RMSprop": torch.optim.RMSprop}
LAMBDAS = {"exp95": lambda epoch: 0.95 ** epoch, "warmup5": lambda epoch: min(1.0, (epoch + 1) / 5)}


def options(spec):
    return {k: tuple(v) if k == "betas" else v for k, v in spec.items() if k != "params"}


def make_optimizer(spec, params):
    cls = OPTIMIZERS[spec["kind"]]
    if spec.get("groups"):
        groups = [dict(options(g), params=[params[n] for n in g["params"]]) for g in spec["groups"]]
        return cls(groups, **options(spec["defaults"]))
    return cls([params[n] for n in spec["params"]], **options(spec["defaults"]))


def make_scheduler(spec, opt):
    kind = spec["kind"]
    if kind == "SequentialLR":
        children = [make_scheduler(s, opt) for s in spec["schedulers"]]
        return lr_scheduler.SequentialLR(opt, children, spec["milestones"])
    if kind == "ChainedScheduler":
        return lr_scheduler.ChainedScheduler([make_scheduler(s, opt) for s in spec["schedulers"]])
    if kind == "LambdaLR":
        fns = [LAMBDAS[name] for name in spec["lambdas"]]
        return lr_scheduler.LambdaLR(opt, fns if len(fns) > 1 else fns[0])
    return getattr(lr_scheduler, kind)(opt, **spec["args"])


def loss_of(params, x, y, sign):
    out = torch.tanh(x @ params["w1"].t() + params["b1"]) @ params["w2"].t() + params["b2"]
    return F.mse_loss(out, y) * sign


def json_state_dict(sd):
    state = {str(i): {k: to_json(v) if torch.is_tensor(v) else v for k, v in s.items()} for i, s in sd["state"].items()}
    return {"state": state, "param_groups": sd["param_groups"]}


def load_json_state_dict(sd):
    state = {int(i): {k: from_json(v) if isinstance(v, dict) else v for k, v in s.items()} for i, s in sd["state"].items()}
    return {"state": state, "param_groups": sd["param_groups"]}


def json_scheduler_state(sd):
    out = {}
    for k, v in sd.items():
        if isinstance(v, dict) and not isinstance(v, Counter):
            continue
        if callable(v):
            continue
        out[k] = dict(v) if isinstance(v, Counter) else v
    return out


def train(req):
    params = {k: from_json(v).requires_grad_() for k, v in req["params"].items()}
    x, y = from_json(req["x"]), from_json(req["y"])
    opt = make_optimizer(req["optimizer"], params)
    if "load" in req:
        opt.load_state_dict(load_json_state_dict(req["load"]))
    sched = make_scheduler(req["scheduler"], opt) if req.get("scheduler") else None
    snapshots, lrs = {}, []
    for step in range(1, req["steps"] + 1):
        opt.zero_grad(set_to_none=True)
        loss_of(params, x, y, req.get("sign", 1)).backward()
        opt.step()
        if sched is not None:
            sched.step()
            lrs.append(sched.get_last_lr())
        if step in req["record"]:
            snapshots[str(step)] = {k: to_json(v) for k, v in params.items()}
    return {"snapshots": snapshots, "state_dict": json_state_dict(opt.state_dict()), "lrs": lrs}


def schedule(req):
    params = [torch.zeros(2, requires_grad=True) for _ in req["group_lrs"]]
    spec = req["optimizer"]
    cls = OPTIMIZERS[spec["kind"]]
    opt = cls([dict(params=[p], lr=lr) for p, lr in zip(params, req["group_lrs"])], **options(spec["defaults"]))
    sched = make_scheduler(req["scheduler"], opt)

    def momenta():
        return [g["betas"][0] if "betas" in g else g.get("momentum", 0.0) for g in opt.param_groups]

    lrs, moms = [sched.get_last_lr()], [momenta()]
    for _ in range(req["steps"]):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        moms.append(momenta())
    return {"lrs": lrs, "momenta": moms, "state_dict": json_scheduler_state(sched.state_dict()),
            "initial_lrs": [g["initial_lr"] for g in opt.param_groups]}


def clip(req):
    params = []
    for g in req["grads"]:
        grad = from_json(g)
        p = torch.zeros_like(grad, requires_grad=True)
        p.grad = grad
        params.append(p)
    if req.get("nan_in_first"):
        params[0].grad.view(-1)[-1] = float("nan")  # JSON cannot carry NaN
    norm_type = math.inf if req["norm_type"] == "inf" else req["norm_type"]
    if req["kind"] == "value":
        clip_grad_value_(params, req["clip_value"])
        return {"grads": [to_json(p.grad) for p in params]}
    try:
        total = clip_grad_norm_(params, req["max_norm"], norm_type=norm_type, error_if_nonfinite=req["error_if_nonfinite"])
    except RuntimeError as e:
        return {"error": str(e)}
    return {"total_norm": to_json(total), "grads": [to_json(p.grad) for p in params]}


OPS = {"train": train, "schedule": schedule, "clip": clip}
req = read_request()
if req["op"] == "batch":
    reply([OPS[r["op"]](r) for r in req["requests"]])
else:
    reply(OPS[req["op"]](req))
