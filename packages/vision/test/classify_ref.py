"""torchvision 0.14 side of classify.test.ts. The request is {"cmds": [...]}; the reply maps each command to its answer.

{"cmd": "classes"} -> torchvision's _IMAGENET_CATEGORIES
{"cmd": "preprocess", "path": p, "images": [shape...], "presets": [{resizeSize, cropSize, interpolation, mean, std}...]}
    -> p: image<i> (seeded rand) and out<i>_<j> = resize (antialias=True) + center_crop + normalize
{"cmd": "pil", "path": p, "shape": [3, H, W]}
    -> p: a uint8 test card, ResNet18_Weights.IMAGENET1K_V1.transforms() of it as a PIL image
       (PIL's antialiased resize) and of the tensor as torchvision 0.14 resizes tensors (no antialias)
{"cmd": "classify", "dir": d, "shapes": [...], "topk": k}
    -> d/model.pt (seeded resnet18, random BatchNorm statistics), d/images.pt, and per image the top-k
       (indices, probabilities) of softmax(model(transforms(image))) with antialias=True
"""
import os

import torch
import torchvision
import torchvision.transforms.functional as TF
from torchvision.models._meta import _IMAGENET_CATEGORIES
from torchvision.transforms import InterpolationMode

from iris_ref import read_request, reply

MODES = {"bilinear": InterpolationMode.BILINEAR, "bicubic": InterpolationMode.BICUBIC, "nearest": InterpolationMode.NEAREST}


def preprocess(img, p):
    mode = MODES[p["interpolation"]]
    img = TF.resize(img, [p["resizeSize"]], interpolation=mode, antialias=mode != InterpolationMode.NEAREST)
    img = TF.center_crop(img, [p["cropSize"]])
    return TF.normalize(img, mean=p["mean"], std=p["std"])


def seeded(shape, seed):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def classes(request):
    return list(_IMAGENET_CATEGORIES)


def preprocess_cmd(request):
    saved = {}
    for i, shape in enumerate(request["images"]):
        img = seeded(shape, 10 + i)
        saved[f"image{i}"] = img
        for j, p in enumerate(request["presets"]):
            saved[f"out{i}_{j}"] = preprocess(img, p)
    torch.save(saved, request["path"])


def pil(request):
    _, h, w = request["shape"]
    y = torch.arange(h, dtype=torch.float32).view(h, 1)
    x = torch.arange(w, dtype=torch.float32).view(1, w)
    # Smooth shading, fine stripes and hard-edged blocks: what antialiasing is about.
    card = torch.stack([
        0.5 + 0.5 * torch.sin(x / 9) * torch.cos(y / 13),
        ((x // 3 + y // 3) % 2).float() * 0.8 + 0.1,
        ((x // 40 + y // 40) % 2).float() * 0.6 + 0.2 + 0.1 * torch.sin((x + y) / 5),
    ])
    uint8 = (card.clamp(0, 1) * 255).round().to(torch.uint8)
    transforms = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.transforms()
    torch.save({
        "image": uint8,
        "pil": transforms(TF.to_pil_image(uint8)),
        "tensor_no_antialias": transforms(uint8),
    }, request["path"])


def classify(request):
    torch.manual_seed(3)
    model = torchvision.models.resnet18()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.3)
        model.fc.weight.mul_(20)
    model.eval()
    t = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.transforms()
    preset = {"resizeSize": t.resize_size[0], "cropSize": t.crop_size[0], "interpolation": "bilinear", "mean": t.mean, "std": t.std}
    images = {f"image{i}": seeded(shape, 20 + i) for i, shape in enumerate(request["shapes"])}
    out = []
    with torch.no_grad():
        for img in images.values():
            batch = preprocess(img, preset)
            probs = model(batch if batch.dim() == 4 else batch.unsqueeze(0)).softmax(1)
            values, indices = probs.topk(request["topk"], 1)
            out.append({"indices": indices.tolist(), "probabilities": values.tolist()})
    torch.save(model.state_dict(), os.path.join(request["dir"], "model.pt"))
    torch.save(images, os.path.join(request["dir"], "images.pt"))
    return out


COMMANDS = {"classes": classes, "preprocess": preprocess_cmd, "pil": pil, "classify": classify}
torch.set_num_threads(2)
reply({c["cmd"]: COMMANDS[c["cmd"]](c) for c in read_request()["cmds"]})
