"""torchvision 0.14 side of weights.test.ts.

{"cmd": "save", "path": p}: saves a seeded resnet18(num_classes=10) state dict to p (the file the test serves).
{"cmd": "registry", "names": [...]}: torchvision's metadata for each model it has: for every weights
  enum member, its URL, accuracy, parameter count, class count and transforms() settings.
"""
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
elif request["cmd"] == "registry":
    known = set(torchvision.models.list_models())
    out = {}
    for name in request["names"]:
        if name not in known:
            continue
        enum = torchvision.models.get_model_weights(name)
        weights = {}
        for w in enum:
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
