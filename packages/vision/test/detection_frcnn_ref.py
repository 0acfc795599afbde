"""torchvision 0.14 side of detection-faster-rcnn.test.ts: the four Faster R-CNN builders.

The request is {"dir": d, "cmds": [...]}; the reply maps each command's "id" to its answer. Models
are built seeded by torchvision's own builders (weights=None, weights_backbone=None unless a case
says otherwise), their norm statistics randomised, and saved as d/<id>.pt. Cases:
  {"cmd": "structure", "id", "names"} -> per builder: parameter count, state-dict keys/shapes, settings
  {"cmd": "eval", "id", "name", "kwargs", "images": [[C, H, W], ...]}
      -> d/<id>-io.pt: img<i>, boxes<i>, scores<i>, labels<i>
  {"cmd": "train", "id", "name", "kwargs", "images", "boxes_per_image", "grads": [param names]}
      -> d/<id>-io.pt: img<i>, boxes<i>, labels<i> (targets), the losses, grad.<name>
  {"cmd": "pretrained", "id", "name", "kwargs", "images", "cache": d2, "file", "legacy_rpn_keys"}
      -> builds with weights=COCO_V1, whose download is replaced by a seeded random state dict that
         is also written to d2/<file> (the name Iris's cache expects); eval outputs in d/<id>-io.pt
  {"cmd": "backbone", "id", "name", "kwargs", "images", "trainable"}
      -> builds with weights_backbone=IMAGENET1K_V1 replaced by a random classifier state dict
         (d/<id>-backbone.pt); the detector's state in d/<id>.pt, eval outputs, requires_grad flags
"""
import os

import torch
import torchvision
from torchvision.models import MobileNet_V3_Large_Weights, ResNet50_Weights
from torchvision.models._api import WeightsEnum
from torchvision.models.detection import faster_rcnn
from torchvision.ops import FrozenBatchNorm2d

from iris_ref import read_request, reply

BUILDERS = {
    "fasterrcnn_resnet50_fpn": faster_rcnn.fasterrcnn_resnet50_fpn,
    "fasterrcnn_resnet50_fpn_v2": faster_rcnn.fasterrcnn_resnet50_fpn_v2,
    "fasterrcnn_mobilenet_v3_large_fpn": faster_rcnn.fasterrcnn_mobilenet_v3_large_fpn,
    "fasterrcnn_mobilenet_v3_large_320_fpn": faster_rcnn.fasterrcnn_mobilenet_v3_large_320_fpn,
}
COCO_WEIGHTS = {
    "fasterrcnn_resnet50_fpn": faster_rcnn.FasterRCNN_ResNet50_FPN_Weights.COCO_V1,
    "fasterrcnn_resnet50_fpn_v2": faster_rcnn.FasterRCNN_ResNet50_FPN_V2_Weights.COCO_V1,
    "fasterrcnn_mobilenet_v3_large_fpn": faster_rcnn.FasterRCNN_MobileNet_V3_Large_FPN_Weights.COCO_V1,
    "fasterrcnn_mobilenet_v3_large_320_fpn": faster_rcnn.FasterRCNN_MobileNet_V3_Large_320_FPN_Weights.COCO_V1,
}
BACKBONE_WEIGHTS = {
    "fasterrcnn_resnet50_fpn": ResNet50_Weights.IMAGENET1K_V1,
    "fasterrcnn_resnet50_fpn_v2": ResNet50_Weights.IMAGENET1K_V1,
    "fasterrcnn_mobilenet_v3_large_fpn": MobileNet_V3_Large_Weights.IMAGENET1K_V1,
    "fasterrcnn_mobilenet_v3_large_320_fpn": MobileNet_V3_Large_Weights.IMAGENET1K_V1,
}

# Downloads replaced by state dicts the test writes: weights enum member -> state dict.
FAKE_DOWNLOADS = {}
WeightsEnum.get_state_dict = lambda self, progress=True: FAKE_DOWNLOADS[self]


def randomise(model, seed, images=None):
    """Random norm statistics and affine parameters (BatchNorm2d and FrozenBatchNorm2d); with
    images, a box predictor scaled to the box head's features on them, so that eval detects a few
    dozen objects with clearly different scores and boxes that move."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm2d, FrozenBatchNorm2d)):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    if images is not None:
        features = []
        handle = model.roi_heads.box_head.register_forward_hook(lambda m, i, o: features.append(o))
        training = model.training
        model.eval()
        with torch.no_grad():
            model(images)
        handle.remove()
        model.train(training)
        scale = max(features[0].norm(dim=1).mean().item(), 1e-3)
        predictor = model.roi_heads.box_predictor
        with torch.no_grad():
            predictor.cls_score.weight.copy_(torch.randn(predictor.cls_score.weight.shape, generator=g) * (4 / scale))
            predictor.bbox_pred.weight.copy_(torch.randn(predictor.bbox_pred.weight.shape, generator=g) * (0.5 / scale))
    return model


def images_for(shapes, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(s, generator=g) for s in shapes]


def build(c, **extra):
    torch.manual_seed(c.get("seed", 0))
    kwargs = {"weights": None, "weights_backbone": None, **c.get("kwargs", {}), **extra}
    return BUILDERS[c["name"]](**kwargs)


def detections(model, images):
    model.eval()
    with torch.no_grad():
        out = model(images)
    saved = {}
    for i, (img, det) in enumerate(zip(images, out)):
        saved[f"img{i}"] = img
        for k in ("boxes", "scores", "labels"):
            saved[f"{k}{i}"] = det[k]
    return saved, [len(d["boxes"]) for d in out]


def settings(model):
    t, rpn, roi = model.transform, model.rpn, model.roi_heads
    return {
        "min_size": list(t.min_size), "max_size": t.max_size, "size_divisible": t.size_divisible,
        "image_mean": t.image_mean, "image_std": t.image_std,
        "rpn_pre_nms_top_n": rpn._pre_nms_top_n, "rpn_post_nms_top_n": rpn._post_nms_top_n,
        "rpn_nms_thresh": rpn.nms_thresh, "rpn_score_thresh": rpn.score_thresh,
        "rpn_fg_iou_thresh": rpn.proposal_matcher.high_threshold, "rpn_bg_iou_thresh": rpn.proposal_matcher.low_threshold,
        "rpn_batch_size_per_image": rpn.fg_bg_sampler.batch_size_per_image, "rpn_positive_fraction": rpn.fg_bg_sampler.positive_fraction,
        "anchor_sizes": [list(s) for s in rpn.anchor_generator.sizes], "aspect_ratios": [list(a) for a in rpn.anchor_generator.aspect_ratios],
        "box_score_thresh": roi.score_thresh, "box_nms_thresh": roi.nms_thresh, "box_detections_per_img": roi.detections_per_img,
        "box_fg_iou_thresh": roi.proposal_matcher.high_threshold, "box_bg_iou_thresh": roi.proposal_matcher.low_threshold,
        "box_batch_size_per_image": roi.fg_bg_sampler.batch_size_per_image, "box_positive_fraction": roi.fg_bg_sampler.positive_fraction,
        "bbox_reg_weights": list(roi.box_coder.weights), "featmap_names": roi.box_roi_pool.featmap_names,
    }


def structure(c, d):
    out = {}
    for name in c["names"]:
        model = BUILDERS[name](weights=None, weights_backbone=None)
        out[name] = {
            "params": sum(p.numel() for p in model.parameters()),
            "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
            "settings": settings(model),
        }
    return out


def evaluate(c, d):
    images = images_for(c["images"])
    model = randomise(build(c), c.get("seed", 0) + 100, images)
    torch.save(model.state_dict(), os.path.join(d, c["id"] + ".pt"))
    saved, counts = detections(model, images)
    torch.save(saved, os.path.join(d, c["id"] + "-io.pt"))
    return {"counts": counts}


def random_targets(images, per_image, seed=2):
    g = torch.Generator().manual_seed(seed)
    targets = []
    for img, n in zip(images, per_image):
        h, w = img.shape[-2:]
        xy = torch.rand(n, 2, generator=g) * torch.tensor([w * 0.6, h * 0.6])
        wh = torch.rand(n, 2, generator=g) * torch.tensor([w * 0.4, h * 0.4]) + 4
        labels = torch.randint(1, 91, (n,), generator=g)
        targets.append({"boxes": torch.cat([xy, xy + wh], 1), "labels": labels})
    return targets


def train(c, d):
    images = images_for(c["images"])
    model = randomise(build(c), c.get("seed", 0) + 100, images)
    torch.save(model.state_dict(), os.path.join(d, c["id"] + ".pt"))
    model.train()
    targets = random_targets(images, c["boxes_per_image"])
    losses = model(images, targets)
    sum(losses.values()).backward()
    saved = {}
    for i, (img, t) in enumerate(zip(images, targets)):
        saved[f"img{i}"] = img
        saved[f"boxes{i}"] = t["boxes"]
        saved[f"labels{i}"] = t["labels"]
    for k, v in losses.items():
        saved[k] = v.detach()
    params = dict(model.named_parameters())
    for name in c["grads"]:
        saved["grad." + name] = params[name].grad
    torch.save(saved, os.path.join(d, c["id"] + "-io.pt"))
    return {"losses": {k: v.item() for k, v in losses.items()}}


def pretrained(c, d):
    # A COCO file as torchvision's builder with weights makes it: FrozenBatchNorm2d throughout the backbone.
    torch.manual_seed(c.get("seed", 0))
    source = BUILDERS[c["name"]](weights=None, weights_backbone=None, **c.get("kwargs", {}))
    if c["name"] != "fasterrcnn_resnet50_fpn_v2":
        # Frozen norms, as the COCO models have; their keys lack num_batches_tracked.
        source = swap_frozen(source)
    state = randomise(source, 7, images_for(c["images"])).state_dict()
    state = {k: v for k, v in state.items()}
    if c.get("legacy_rpn_keys"):
        # The 2019 fasterrcnn_resnet50_fpn file predates RPNHead version 2 (conv.0.0).
        for t in ("weight", "bias"):
            state[f"rpn.head.conv.{t}"] = state.pop(f"rpn.head.conv.0.0.{t}")
    os.makedirs(c["cache"], exist_ok=True)
    torch.save(state, os.path.join(c["cache"], c["file"]))
    FAKE_DOWNLOADS[COCO_WEIGHTS[c["name"]]] = state
    torch.manual_seed(c.get("seed", 0))
    model = BUILDERS[c["name"]](weights=COCO_WEIGHTS[c["name"]], **c.get("kwargs", {}))
    saved, counts = detections(model, images_for(c["images"]))
    torch.save(saved, os.path.join(d, c["id"] + "-io.pt"))
    eps = sorted({m.eps for m in model.modules() if isinstance(m, FrozenBatchNorm2d)})
    return {"counts": counts, "frozen_eps": eps, "requires_grad": {k: p.requires_grad for k, p in model.named_parameters()}}


def swap_frozen(model):
    """The backbone's BatchNorm2d as FrozenBatchNorm2d (what norm_layer=FrozenBatchNorm2d builds)."""
    for parent in list(model.backbone.body.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.BatchNorm2d):
                setattr(parent, name, FrozenBatchNorm2d(child.num_features))
    return model


def backbone(c, d):
    classifier = {"fasterrcnn_resnet50_fpn": torchvision.models.resnet50, "fasterrcnn_resnet50_fpn_v2": torchvision.models.resnet50}.get(c["name"], torchvision.models.mobilenet_v3_large)
    torch.manual_seed(5)
    state = randomise(classifier(), 8).state_dict()
    torch.save(state, os.path.join(d, c["id"] + "-backbone.pt"))
    FAKE_DOWNLOADS[BACKBONE_WEIGHTS[c["name"]]] = state
    torch.manual_seed(c.get("seed", 0))
    model = BUILDERS[c["name"]](weights=None, weights_backbone=BACKBONE_WEIGHTS[c["name"]], trainable_backbone_layers=c.get("trainable"), **c.get("kwargs", {}))
    randomise(model, 9, images_for(c["images"]))
    torch.save(model.state_dict(), os.path.join(d, c["id"] + ".pt"))
    saved, counts = detections(model, images_for(c["images"]))
    torch.save(saved, os.path.join(d, c["id"] + "-io.pt"))
    return {"counts": counts, "requires_grad": {k: p.requires_grad for k, p in model.named_parameters()},
            "frozen": sum(isinstance(m, FrozenBatchNorm2d) for m in model.modules())}


COMMANDS = {"structure": structure, "eval": evaluate, "train": train, "pretrained": pretrained, "backbone": backbone}

# One thread on both sides: the same kernels in the same order, and no spinning threads on a shared CI box.
torch.set_num_threads(1)
request = read_request()
reply({c["id"]: COMMANDS[c["cmd"]](c, request["dir"]) for c in request["cmds"]})
