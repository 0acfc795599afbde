"""torchvision 0.14 side of the transforms parity tests (JSON on stdin, JSON on stdout).

Requests:
  functional: {"images": {name: tensor}, "cases": [{"input": name, "expr": python}]} -> outputs
      Each expr is evaluated with F = torchvision.transforms.functional, T = torchvision.transforms,
      I = InterpolationMode, torch, and img = the named image.
  replay: the same, but each case also carries "patch": the random draws torchvision must see
      (get_params results, torch.rand / torch.randint / torch._sample_dirichlet values), so the
      torchvision transform runs with the parameters Iris sampled.
  sample: {"cases": [{"expr": python, "seed": s, "n": n, "setup": python}]} -> n draws of expr after
      exec(setup) and manual_seed(s), to compare the distributions of sampled parameters.
"""
import contextlib
import math

import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode as I

from iris_ref import from_json, read_request, reply, to_json


# torchvision's references/classification/transforms.py (v0.14), RandomMixup and RandomCutmix:
# not installed with the package, so reproduced here verbatim apart from the docstrings.
class RandomMixup(torch.nn.Module):
    def __init__(self, num_classes, p=0.5, alpha=1.0, inplace=False):
        super().__init__()
        self.num_classes = num_classes
        self.p = p
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, batch, target):
        if not self.inplace:
            batch = batch.clone()
            target = target.clone()
        if target.ndim == 1:
            target = torch.nn.functional.one_hot(target, num_classes=self.num_classes).to(dtype=batch.dtype)
        if torch.rand(1).item() >= self.p:
            return batch, target
        batch_rolled = batch.roll(1, 0)
        target_rolled = target.roll(1, 0)
        lambda_param = float(torch._sample_dirichlet(torch.tensor([self.alpha, self.alpha]))[0])
        batch_rolled.mul_(1.0 - lambda_param)
        batch.mul_(lambda_param).add_(batch_rolled)
        target_rolled.mul_(1.0 - lambda_param)
        target.mul_(lambda_param).add_(target_rolled)
        return batch, target


class RandomCutmix(torch.nn.Module):
    def __init__(self, num_classes, p=0.5, alpha=1.0, inplace=False):
        super().__init__()
        self.num_classes = num_classes
        self.p = p
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, batch, target):
        if not self.inplace:
            batch = batch.clone()
            target = target.clone()
        if target.ndim == 1:
            target = torch.nn.functional.one_hot(target, num_classes=self.num_classes).to(dtype=batch.dtype)
        if torch.rand(1).item() >= self.p:
            return batch, target
        batch_rolled = batch.roll(1, 0)
        target_rolled = target.roll(1, 0)
        lambda_param = float(torch._sample_dirichlet(torch.tensor([self.alpha, self.alpha]))[0])
        _, H, W = F.get_dimensions(batch)
        r_x = torch.randint(W, (1,))
        r_y = torch.randint(H, (1,))
        r = 0.5 * math.sqrt(1.0 - lambda_param)
        r_w_half = int(r * W)
        r_h_half = int(r * H)
        x1 = int(torch.clamp(r_x - r_w_half, min=0))
        y1 = int(torch.clamp(r_y - r_h_half, min=0))
        x2 = int(torch.clamp(r_x + r_w_half, max=W))
        y2 = int(torch.clamp(r_y + r_h_half, max=H))
        batch[:, :, y1:y2, x1:x2] = batch_rolled[:, :, y1:y2, x1:x2]
        lambda_param = float(1.0 - (x2 - x1) * (y2 - y1) / (W * H))
        target_rolled.mul_(1.0 - lambda_param)
        target.mul_(lambda_param).add_(target_rolled)
        return batch, target


def namespace(**extra):
    ns = {"F": F, "T": T, "I": I, "torch": torch, "math": math, "RandomMixup": RandomMixup, "RandomCutmix": RandomCutmix}
    ns.update(extra)
    return ns


def decode(value):
    """JSON tensors (dicts with shape/dtype/data) back to tensors, recursively."""
    if isinstance(value, dict) and "dtype" in value and "data" in value:
        return from_json(value)
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


@contextlib.contextmanager
def patched(patch):
    """Makes torch.rand / torch.randint / torch._sample_dirichlet and get_params return given draws."""
    saved = []

    def replace(owner, name, value):
        saved.append((owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)))
        setattr(owner, name, value)

    if "rand" in patch:
        values = list(patch["rand"])
        replace(torch, "rand", lambda *a, **k: torch.tensor([values.pop(0) for _ in range(a[0][0] if isinstance(a[0], (tuple, list)) else a[0])]))
    if "randint" in patch:
        ints = list(patch["randint"])

        def randint(*a, **k):
            size = k.get("size", a[-1] if isinstance(a[-1], (tuple, list)) else (1,))
            return torch.tensor([ints.pop(0) for _ in range(size[0])], dtype=torch.long)

        replace(torch, "randint", randint)
    if "dirichlet" in patch:
        lam = patch["dirichlet"]
        replace(torch, "_sample_dirichlet", lambda *a, **k: torch.tensor([lam, 1.0 - lam], dtype=torch.float64))
    if "choice" in patch:
        index = patch["choice"]
        replace(T.transforms.random, "choices", lambda population, weights=None, **k: [population[index]])
    if "get_params" in patch:
        cls = getattr(T, patch["get_params"]["class"])
        result = decode(patch["get_params"]["result"])
        if isinstance(result, list):
            result = tuple(tuple(r) if isinstance(r, list) else r for r in result)
        replace(cls, "get_params", staticmethod(lambda *a, **k: result))
    try:
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


def encode(result):
    if isinstance(result, torch.Tensor):
        return to_json(result)
    if isinstance(result, (tuple, list)):
        return [encode(r) for r in result]
    return result


def main():
    req = read_request()
    kind = req["kind"]
    images = {k: from_json(v) for k, v in req.get("images", {}).items()}
    out = []
    if kind in ("functional", "replay"):
        for case in req["cases"]:
            ns = namespace(img=images[case["input"]].clone(), **{k: v.clone() for k, v in images.items()})
            with patched(case.get("patch", {})):
                out.append(encode(eval(case["expr"], ns)))
    elif kind == "sample":
        for case in req["cases"]:
            torch.manual_seed(case["seed"])
            ns = namespace(img=images[case["input"]] if "input" in case else None)
            exec(case.get("setup", ""), ns)
            out.append([encode(eval(case["expr"], ns)) for _ in range(case["n"])])
    else:
        raise ValueError(f"unknown request kind {kind}")
    reply(out)


if __name__ == "__main__":
    main()
