"""torchvision 0.14 side of the one-stage detector tests (SSD, SSDlite, RetinaNet, FCOS).

Request: {"threads": n, "cases": [case, ...]}, one process for a test file's cases. Per case
{"id", "name", "kwargs", "seed", "images": [[C, H, W], ...], "targets": [{"boxes", "labels"}], "dir",
"backbone_weights"?, "legacy_file"?}:
  - with "backbone_weights" (a weights enum member of the backbone, e.g. "ResNet50_Weights.IMAGENET1K_V1"),
    saves a seeded backbone state dict as <dir>/weights/<its file name> (Iris's cache with IRIS_CACHE=dir)
    and where torch.hub finds it (TORCH_HOME), so both load the same "ImageNet" weights offline;
  - builds torchvision.models.detection.<name>(weights=None, weights_backbone=..., **kwargs) after
    torch.manual_seed(seed) and saves its state dict as <id>-init.pt (the seeded initialisation);
  - perturbs it (perturb() below) and saves <id>-weights.pt, the weights Iris loads strictly (with
    "legacy_file", also <id>-legacy.pth with the head keys RetinaNet files had before torchvision 0.13);
  - eval mode on the images: <id>-eval.pt with boxes.i / scores.i / labels.i per image;
  - train mode on the images and targets: <id>-train.pt with loss.<key> and grad.<name> for grad_names
    (the gradients of the sum of the losses).
Reply: {"cases": {id: {"loss_keys", "trainable", "grad_names"}}, "meta": {name: {...}}}: per case the
loss keys in torchvision's order, the names of the parameters that require grad, and those whose
gradients were saved (the first two, two in the middle, the last four); per name in "meta", its COCO weights' URL, parameter count,
box mAP and categories; per {"extractor": "vgg" | "mobilenet", "layers": k} in "trainable", the trainable
parameters of SSD's / SSDlite's backbone extractor with k trainable stages.
"""
import math
import os
import re

import torch
import torchvision
from torch import nn

from iris_ref import read_request, reply


def perturb(model, seed):
    """Random norm statistics and affine parameters, random biases, and head convs re-drawn with a
    gain that keeps activations O(1) (torchvision's 0.01 std would make every score the prior), so
    eval mode exercises the norms and the scores are spread out."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(0, 0.1, generator=g)
            elif isinstance(m, nn.GroupNorm):
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(0, 0.1, generator=g)
            elif isinstance(m, torchvision.ops.FrozenBatchNorm2d):
                m.running_mean.normal_(0, 0.1, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
        for m in model.head.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.normal_(0, 1.5 / math.sqrt(fan_in), generator=g)
                if m.bias is not None:
                    m.bias.normal_(0, 0.5, generator=g)


def seeded_images(shapes, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(s, generator=g) for s in shapes]


def backbone_weights(spec, d, seed):
    """Seeded stand-in ImageNet weights for the backbone, in Iris's cache and torch.hub's."""
    enum_name, member = spec.split(".")
    weights = getattr(torchvision.models.__dict__[enum_name], member)
    arch = enum_name.replace("_Weights", "").lower()
    torch.manual_seed(seed)
    state = torchvision.models.__dict__[arch]().state_dict()
    file = weights.url.split("/")[-1]
    os.makedirs(os.path.join(d, "weights"), exist_ok=True)
    torch.save(state, os.path.join(d, "weights", file))
    hub = os.path.join(d, "torch", "hub", "checkpoints")
    os.makedirs(hub, exist_ok=True)
    os.symlink(os.path.join(d, "weights", file), os.path.join(hub, file))
    os.environ["TORCH_HOME"] = os.path.join(d, "torch")
    return weights


def grad_names(names):
    mid = len(names) // 2
    return list(dict.fromkeys([names[0], names[1], names[mid], names[mid + 1], *names[-4:]]))


def run_case(case):
    d, cid = case["dir"], case["id"]
    wb = backbone_weights(case["backbone_weights"], d, case["seed"] + 10) if case.get("backbone_weights") else None
    torch.manual_seed(case["seed"])
    builder = torchvision.models.detection.__dict__[case["name"]]
    model = builder(weights=None, weights_backbone=wb, **case.get("kwargs", {}))
    trainable = [k for k, p in model.named_parameters() if p.requires_grad]
    names = grad_names(trainable)
    torch.save(model.state_dict(), os.path.join(d, f"{cid}-init.pt"))
    perturb(model, case["seed"] + 1)
    torch.save(model.state_dict(), os.path.join(d, f"{cid}-weights.pt"))
    if case.get("legacy_file"):
        # Keys of files saved before torchvision 0.13 (the COCO weights of retinanet_resnet50_fpn and
        # fcos_resnet50_fpn): the FPN's inner_blocks.{i} for inner_blocks.{i}.0, RetinaNet's head conv.{2i} for conv.{i}.0.
        fpn = re.compile(r"^(backbone\.fpn\.(?:inner|layer)_blocks\.\d+)\.0\.(weight|bias)$")
        head = re.compile(r"^(head\.(?:classification|regression)_head\.conv\.)(\d+)\.0\.(weight|bias)$")
        renamed = {}
        for k, v in model.state_dict().items():
            k = fpn.sub(r"\1.\2", k)
            if case["name"] == "retinanet_resnet50_fpn":
                k = head.sub(lambda m: f"{m[1]}{2 * int(m[2])}.{m[3]}", k)
            renamed[k] = v
        # As torch.save of an old model writes it: no version metadata, so torchvision upgrades the keys.
        torch.save(renamed, os.path.join(d, f"{cid}-legacy.pth"))
        # torchvision itself loads it (strictly), through its own key upgrades.
        builder(weights=None, weights_backbone=wb, **case.get("kwargs", {})).load_state_dict(renamed)

    images = seeded_images(case["images"], case["seed"] + 2)
    model.eval()
    with torch.no_grad():
        detections = model(images)
    saved = {}
    for i, (img, det) in enumerate(zip(images, detections)):
        saved[f"image.{i}"] = img
        for k in ("boxes", "scores", "labels"):
            saved[f"{k}.{i}"] = det[k]
    torch.save(saved, os.path.join(d, f"{cid}-eval.pt"))

    targets = [{"boxes": torch.tensor(t["boxes"], dtype=torch.float32), "labels": torch.tensor(t["labels"], dtype=torch.int64)} for t in case["targets"]]
    model.train()
    torch.manual_seed(case["seed"] + 3)
    losses = model(images, targets)
    sum(losses.values()).backward()
    params = dict(model.named_parameters())
    train = {f"loss.{k}": v.detach() for k, v in losses.items()}
    for name in names:
        train[f"grad.{name}"] = params[name].grad
    torch.save(train, os.path.join(d, f"{cid}-train.pt"))
    return {"loss_keys": list(losses.keys()), "trainable": trainable, "grad_names": names}


def meta(name):
    w = torchvision.models.get_model_weights(name).DEFAULT
    return {"tag": w.name.lower(), "url": w.url, "num_params": w.meta["num_params"], "box_map": w.meta["_metrics"]["COCO-val2017"]["box_map"], "categories": w.meta["categories"]}


def trainable(spec):
    """Names of the parameters that require grad after torchvision's SSD / SSDlite backbone extractor with `layers` trainable stages."""
    from torchvision.models.detection import ssd, ssdlite
    if spec["extractor"] == "vgg":
        backbone = ssd._vgg_extractor(torchvision.models.vgg16(), False, spec["layers"])
    else:
        norm = lambda c: nn.BatchNorm2d(c, eps=0.001, momentum=0.03)  # noqa: E731
        backbone = ssdlite._mobilenet_extractor(torchvision.models.mobilenet_v3_large(norm_layer=norm, reduced_tail=True), spec["layers"], norm)
    return [k for k, p in backbone.named_parameters() if p.requires_grad]


request = read_request()
torch.set_num_threads(request.get("threads", 2))
reply({
    "cases": {c["id"]: run_case(c) for c in request.get("cases", [])},
    "meta": {n: meta(n) for n in request.get("meta", [])},
    "trainable": [trainable(t) for t in request.get("trainable", [])],
})
