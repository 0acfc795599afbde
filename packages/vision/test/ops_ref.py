"""torchvision 0.14 side of the @iris/vision/ops parity cases (test/helpers/ops-cases.ts).

Each case names a torchvision function ('ops.box_iou', 'ops.roi_align', ...) and its arguments;
tensors arrive as {"$t": json, "grad": bool}, alone or in lists. The reply holds the output and,
when a weight w is given, the gradients of sum(output * w) with respect to the tensors marked
grad, in the order they appear (args, then kwargs, depth first).
"""
import math
from collections import OrderedDict

import torch
import torchvision  # noqa: F401  (registers torch.ops.torchvision)
from torchvision import ops

from iris_ref import from_json, read_request, reply, to_json

def multi_scale_roi_align(featmap_names, output_size, sampling_ratio, feature_names, features, boxes, image_shapes,
                          canonical_scale=224, canonical_level=4, first_image_shapes=None):
    """MultiScaleRoIAlign built and called once (or first called with first_image_shapes, whose
    scales it then keeps, as torchvision 0.14 does)."""
    m = ops.MultiScaleRoIAlign(featmap_names, output_size, sampling_ratio,
                               canonical_scale=canonical_scale, canonical_level=canonical_level)
    x = OrderedDict(zip(feature_names, features))
    if first_image_shapes is not None:
        with torch.no_grad():
            m(x, boxes, [tuple(s) for s in first_image_shapes])
    return m(x, boxes, [tuple(s) for s in image_shapes])


def level_mapper(k_min, k_max, boxes, canonical_scale=224, canonical_level=4, eps=1e-6):
    return ops.poolers.LevelMapper(k_min, k_max, canonical_scale, canonical_level, eps)(boxes)


FUNCTIONS = {
    "ops.MultiScaleRoIAlign": multi_scale_roi_align,
    "ops.poolers.LevelMapper": level_mapper,
    "ops.nms": ops.nms,
    "ops.batched_nms": ops.batched_nms,
    "ops.boxes._batched_nms_coordinate_trick": ops.boxes._batched_nms_coordinate_trick,
    "ops.boxes._batched_nms_vanilla": ops.boxes._batched_nms_vanilla,
    "ops.remove_small_boxes": ops.remove_small_boxes,
    "ops.clip_boxes_to_image": ops.clip_boxes_to_image,
    "ops.box_convert": ops.box_convert,
    "ops.box_area": ops.box_area,
    "ops.box_iou": ops.box_iou,
    "ops.generalized_box_iou": ops.generalized_box_iou,
    "ops.distance_box_iou": ops.distance_box_iou,
    "ops.complete_box_iou": ops.complete_box_iou,
    "ops.masks_to_boxes": ops.masks_to_boxes,
    "ops.generalized_box_iou_loss": ops.generalized_box_iou_loss,
    "ops.distance_box_iou_loss": ops.distance_box_iou_loss,
    "ops.complete_box_iou_loss": ops.complete_box_iou_loss,
    "ops.sigmoid_focal_loss": ops.sigmoid_focal_loss,
    "ops.roi_align": ops.roi_align,
    "ops.roi_pool": ops.roi_pool,
    "ops.ps_roi_align": ops.ps_roi_align,
    "ops.ps_roi_pool": ops.ps_roi_pool,
}


def encode(t):
    """to_json with non-finite values as strings JSON can carry ('NaN', 'Infinity', '-Infinity')."""
    obj = to_json(t)
    obj["data"] = [v if not isinstance(v, float) or math.isfinite(v) else
                   ("NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")) for v in obj["data"]]
    return obj


def decode(value, grads):
    if isinstance(value, list):
        return [decode(v, grads) for v in value]
    if isinstance(value, dict):
        if "$t" in value:
            t = from_json(value["$t"])
            if value["grad"]:
                t.requires_grad_()
                grads.append(t)
            return t
        if "$num" in value:
            return float(value["$num"])
        raise ValueError(f"unknown argument {value}")
    return value


def run_case(case, fn=None):
    grads = []
    args = [decode(a, grads) for a in case["args"]]
    kwargs = {k: decode(v, grads) for k, v in case["kwargs"].items()}
    out = (fn or FUNCTIONS[case["fn"]])(*args, **kwargs)
    result = {"output": encode(out)}
    if case["weight"] is not None:
        loss = (out * from_json(case["weight"])).sum()
        gs = torch.autograd.grad(loss, grads, allow_unused=True)
        result["grads"] = [None if g is None else encode(g) for g in gs]
    else:
        result["grads"] = []
    return result


def run_all(cases, functions=None):
    results = []
    for case in cases:
        try:
            fn = (functions or {}).get(case["fn"])
            results.append(run_case(case, fn))
        except Exception as e:  # reported per case, so one failure does not hide the rest
            results.append({"error": f"{type(e).__name__}: {e}"})
    return results


def main():
    torch.set_num_threads(1)
    reply({"results": run_all(read_request()["cases"])})


if __name__ == "__main__":
    main()
