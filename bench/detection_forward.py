"""PyTorch side of bench/detection-forward: a torchvision 0.14 detector's eval forward without
gradients on a list of images, timed in bursts on request (see lib/compare.ts).

Before it answers "ready" it writes, under args["dir"], the seeded weights (weights.pt) that Iris
loads, and the images with torchvision's detections (io.pt: image.i, boxes.i, scores.i, labels.i)
that Iris's are checked against. "steps N" times N whole forwards; "stages N" times N forwards cut
at the detector's parts (transform, backbone, ...; the names Iris's side uses), in ms each, and
counts each pass's minor page faults.
"""
import json
import math
import os
import resource
import sys
import time

import torch
import torchvision
from torch import nn
from torchvision.models.detection.faster_rcnn import FasterRCNN
from torchvision.models.detection.ssd import SSD
from torchvision.ops import FrozenBatchNorm2d


def perturb(model, seed, images):
    """Random norm statistics and affine parameters (eval mode then exercises them); for Faster
    R-CNN a box predictor scaled to its box head's features, for SSD head convs with a gain that
    keeps activations O(1): seeded init alone scores every class near 1/91, so the postprocess would
    see no detections (Faster R-CNN) or only ties (SSD). As the parity tests' reference scripts do."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, FrozenBatchNorm2d)):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
        if isinstance(model, SSD):
            for m in model.head.modules():
                if isinstance(m, nn.Conv2d):
                    m.weight.normal_(0, 1.5 / math.sqrt(m.weight[0].numel()), generator=g)
                    if m.bias is not None:
                        m.bias.normal_(0, 0.5, generator=g)
            return
        features = []
        handle = model.roi_heads.box_head.register_forward_hook(lambda m, i, o: features.append(o))
        model(images)
        handle.remove()
        scale = max(features[0].norm(dim=1).mean().item(), 1e-3)
        predictor = model.roi_heads.box_predictor
        predictor.cls_score.weight.copy_(torch.randn(predictor.cls_score.weight.shape, generator=g) * (4 / scale))
        predictor.bbox_pred.weight.copy_(torch.randn(predictor.bbox_pred.weight.shape, generator=g) * (0.5 / scale))


def stages_rcnn(model, images):
    """GeneralizedRCNN.forward in eval mode, timed per part."""
    t = [time.perf_counter()]
    original_sizes = [img.shape[-2:] for img in images]
    image_list, _ = model.transform(images)
    t.append(time.perf_counter())
    features = model.backbone(image_list.tensors)
    t.append(time.perf_counter())
    proposals, _ = model.rpn(image_list, features)
    t.append(time.perf_counter())
    detections, _ = model.roi_heads(features, proposals, image_list.image_sizes)
    t.append(time.perf_counter())
    model.transform.postprocess(detections, image_list.image_sizes, original_sizes)
    t.append(time.perf_counter())
    return dict(zip(["transform", "backbone", "rpn", "roi_heads", "postprocess"], [(b - a) * 1000 for a, b in zip(t, t[1:])]))


def stages_ssd(model, images):
    """SSD.forward in eval mode, timed per part."""
    t = [time.perf_counter()]
    original_sizes = [img.shape[-2:] for img in images]
    image_list, _ = model.transform(images)
    t.append(time.perf_counter())
    features = list(model.backbone(image_list.tensors).values())
    t.append(time.perf_counter())
    head_outputs = model.head(features)
    t.append(time.perf_counter())
    anchors = model.anchor_generator(image_list, features)
    t.append(time.perf_counter())
    detections = model.postprocess_detections(head_outputs, anchors, image_list.image_sizes)
    model.transform.postprocess(detections, image_list.image_sizes, original_sizes)
    t.append(time.perf_counter())
    return dict(zip(["transform", "backbone", "head", "anchors", "postprocess"], [(b - a) * 1000 for a, b in zip(t, t[1:])]))


def main():
    args = json.loads(sys.argv[1])
    torch.set_num_threads(args["threads"])
    torch.manual_seed(args["seed"])
    builder = torchvision.models.detection.__dict__[args["model"]]
    model = builder(weights=None, weights_backbone=None).eval()
    g = torch.Generator().manual_seed(args["seed"] + 1)
    images = [torch.rand(s, generator=g) for s in args["images"]]
    perturb(model, args["seed"] + 2, images)
    torch.save(model.state_dict(), os.path.join(args["dir"], "weights.pt"))
    with torch.no_grad():
        detections = model(images)
    saved = {}
    for i, (img, det) in enumerate(zip(images, detections)):
        saved[f"image.{i}"] = img
        for k in ("boxes", "scores", "labels"):
            saved[f"{k}.{i}"] = det[k]
    torch.save(saved, os.path.join(args["dir"], "io.pt"))

    staged = stages_rcnn if isinstance(model, FasterRCNN) else stages_ssd
    for _ in range(args["warmup"]):
        with torch.no_grad():
            model(images)
    print(json.dumps({"ready": True, "torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        cmd, count = line.split()
        times, stages, faults = [], [], []
        for _ in range(int(count)):
            with torch.no_grad():
                if cmd == "stages":
                    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                    stages.append(staged(model, images))
                    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
                    continue
                t0 = time.perf_counter()
                model(images)
                times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"times": times, "stages": stages, "faults": faults}), flush=True)


main()
