"""torchvision 0.14 side of weights.test.ts.

{"cmd": "save", "path": p}: saves a seeded resnet18(num_classes=10) state dict to p (the file the test serves).
{"cmd": "legacy", "path": p, "dir": d}: a seeded resnet18(num_classes=10) with running stats from
  three training-mode batches, saved to p without num_batches_tracked (as pre-0.4.1 files are), then
  loaded strictly by PyTorch into a fresh resnet18; its eval output on a small input goes to d/legacy_io.pt.
{"cmd": "registry", "names": [...]}: torchvision's metadata for each model it has: for every weights
  enum member, its URL, accuracy, parameter count, class count and transforms() settings.
"""
import os

import torch
import torchvision
from torchvision.transforms import InterpolationMode

from iris_ref import read_request, reply

INTERPOLATION = {InterpolationMode.BILINEAR: "bilinear", InterpolationMode.BICUBIC: "bicubic", InterpolationMode.NEAREST: "nearest"}

request = read_request()
if request["cmd"] == "save":
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), request["path"])
    reply({"ok": True})
elif request["cmd"] == "legacy":
    torch.manual_seed(1)
    source = torchvision.models.resnet18(num_classes=10).train()
    with torch.no_grad():
        for _ in range(3):
            source(torch.randn(4, 3, 32, 32))
    stripped = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(stripped, request["path"])
    model = torchvision.models.resnet18(num_classes=10)
    result = model.load_state_dict(torch.load(request["path"]))
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.save({"input": x, "eval": model(x)}, os.path.join(request["dir"], "legacy_io.pt"))
    counts = [int(v) for k, v in model.state_dict().items() if k.endswith("num_batches_tracked")]
    reply({"missing": result.missing_keys, "unexpected": result.unexpected_keys, "counts": counts})
elif request["cmd"] == "registry":
    known = set(torchvision.models.list_models())
    out = {}
    for name in request["names"]:
        if name not in known:
            continue
        enum = torchvision.models.get_model_weights(name)
        weights = {}
        for w in enum:
            if w.meta["categories"] is None:
                continue  # feature-extraction weights without a classifier (vgg16's IMAGENET1K_FEATURES, SSD's backbone)
            t = w.transforms()
            metrics = w.meta["_metrics"]["ImageNet-1K"]
            weights[w.name.lower()] = {
                "url": w.url,
                "top1": metrics["acc@1"],
                "top5": metrics["acc@5"],
                "params": w.meta["num_params"],
                "classes": len(w.meta["categories"]),
                "preprocessing": {
                    "resizeSize": t.resize_size[0],
                    "cropSize": t.crop_size[0],
                    "interpolation": INTERPOLATION[t.interpolation],
                    "mean": list(t.mean),
                    "std": list(t.std),
                },
            }
        out[name] = {"default": enum.DEFAULT.name.lower(), "weights": weights}
    reply(out)
