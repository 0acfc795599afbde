"""torchvision 0.14 side of detection-parts.test.ts: the Faster R-CNN parts alone.

The request is {"cmds": [...]}; the reply maps each command's "id" to its answer (tensors as JSON).
Commands:
  {"cmd": "anchors", "id", "sizes", "aspect_ratios", "image": [N, C, H, W], "image_sizes", "grids": [[h, w], ...]}
      -> cell_anchors (per level), anchors (per image), num_anchors_per_location
  {"cmd": "box_coder", "id", "weights", "reference", "proposals", "codes", "boxes"}
      -> encode_single(reference, proposals), decode(codes, [boxes])
  {"cmd": "matcher", "id", "high", "low", "allow_low", "quality"} -> matches
  {"cmd": "transform", "id", "min_size", "max_size", "fixed_size", "images": [...], "targets": [...], "train", "seed"}
      -> batched tensors, image_sizes, resized target boxes, and postprocess of boxes back
  {"cmd": "sampler", "id", "seed", "batch_size", "fraction", "labels": [...]} -> positive and negative masks
"""
import torch
from torchvision.models.detection._utils import BalancedPositiveNegativeSampler, BoxCoder, Matcher
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.transform import GeneralizedRCNNTransform

from iris_ref import from_json, read_request, reply, to_json


def anchors(c):
    gen = AnchorGenerator(tuple(tuple(s) for s in c["sizes"]), tuple(tuple(a) for a in c["aspect_ratios"]))
    image = torch.zeros(c["image"])
    feats = [torch.zeros(c["image"][0], 1, h, w) for h, w in c["grids"]]
    out = gen(ImageList(image, [tuple(s) for s in c["image_sizes"]]), feats)
    return {
        "cell_anchors": [to_json(a) for a in gen.cell_anchors],
        "anchors": [to_json(a) for a in out],
        "num_anchors_per_location": gen.num_anchors_per_location(),
    }


def box_coder(c):
    coder = BoxCoder(tuple(c["weights"]))
    return {
        "encoded": to_json(coder.encode_single(from_json(c["reference"]), from_json(c["proposals"]))),
        "decoded": to_json(coder.decode(from_json(c["codes"]), [from_json(c["boxes"])])),
    }


def matcher(c):
    m = Matcher(c["high"], c["low"], allow_low_quality_matches=c["allow_low"])
    return {"matches": to_json(m(from_json(c["quality"])))}


def transform(c):
    t = GeneralizedRCNNTransform(c["min_size"], c["max_size"], [0.485, 0.456, 0.406], [0.229, 0.224, 0.225],
                                 fixed_size=tuple(c["fixed_size"]) if c.get("fixed_size") else None)
    t.train(c["train"])
    torch.manual_seed(c.get("seed", 0))
    images = [from_json(i) for i in c["images"]]
    targets = [{"boxes": from_json(b), "labels": torch.ones(from_json(b).shape[0], dtype=torch.int64)} for b in c["targets"]] if c.get("targets") else None
    image_list, new_targets = t(images, targets)
    out = {"tensors": to_json(image_list.tensors), "image_sizes": [list(s) for s in image_list.image_sizes]}
    if new_targets is not None:
        out["boxes"] = [to_json(tt["boxes"]) for tt in new_targets]
    if not c["train"] and c.get("targets"):
        result = [{"boxes": from_json(b)} for b in c["targets"]]
        back = t.postprocess(result, image_list.image_sizes, [tuple(i.shape[-2:]) for i in images])
        out["postprocessed"] = [to_json(r["boxes"]) for r in back]
    return out


def sampler(c):
    torch.manual_seed(c["seed"])
    s = BalancedPositiveNegativeSampler(c["batch_size"], c["fraction"])
    pos, neg = s([from_json(l) for l in c["labels"]])
    return {"pos": [to_json(p) for p in pos], "neg": [to_json(n) for n in neg]}


def backbone(c):
    """resnet_fpn_backbone / mobilenet_backbone (weights None, FrozenBatchNorm2d), statistics randomised:
    the state dict to c["file"], the outputs by name, each parameter's requires_grad."""
    from torchvision.models.detection.backbone_utils import mobilenet_backbone, resnet_fpn_backbone
    from torchvision.ops import FrozenBatchNorm2d
    torch.manual_seed(0)
    if c["kind"] == "resnet":
        model = resnet_fpn_backbone(backbone_name=c["name"], weights=None, trainable_layers=c["trainable"])
    else:
        model = mobilenet_backbone(backbone_name=c["name"], weights=None, fpn=c["fpn"], trainable_layers=c["trainable"])
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, FrozenBatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    torch.save(model.state_dict(), c["file"])
    with torch.no_grad():
        out = model(from_json(c["input"]))
    if isinstance(out, torch.Tensor):
        out = {"0": out}
    return {"outputs": {k: to_json(v) for k, v in out.items()}, "requires_grad": {k: p.requires_grad for k, p in model.named_parameters()},
            "out_channels": model.out_channels}


COMMANDS = {"backbone": backbone, "anchors": anchors, "box_coder": box_coder, "matcher": matcher, "transform": transform, "sampler": sampler}

torch.set_num_threads(1)
reply({c["id"]: COMMANDS[c["cmd"]](c) for c in read_request()["cmds"]})
