"""torchvision side of recipe-transforms.test.ts: the evaluation recipe of a grayscale dataset trained at another
size for a 3-channel model: Resize(side, antialias=True) on the uint8 image, its one channel repeated to three
(torchvision 0.14 has no v2 RGB(); repeat is what it does), to float, Normalize.

Request: {"image": [1, H, W] uint8 as a nested list, "side": s, "mean": m, "std": sd}; replies {"shape", "data"}.
"""
import torch
import torchvision.transforms.functional as F

from iris_ref import read_request, reply

req = read_request()
img = torch.tensor(req["image"], dtype=torch.uint8)
out = F.resize(img, req["side"], antialias=True).repeat(3, 1, 1)
out = F.normalize(out.float() / 255, [req["mean"]] * 3, [req["std"]] * 3)
reply({"shape": list(out.shape), "data": out.flatten().tolist()})
