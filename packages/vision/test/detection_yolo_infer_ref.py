"""PyTorch side of detection-yolo-infer.test.ts: Ultralytics' inference pipeline written from its
formulas (utils/tal.py make_anchors / dist2bbox, nn/modules/head.py Detect._inference, utils/nms.py
non_max_suppression, data/augment.py LetterBox, utils/ops.py scale_boxes), run on Debian's
PyTorch 1.13 / torchvision 0.14 with the module rewrite of detection_yolo_ref.py.

The request is {"cmds": [...]}; the reply maps each command to its answer.
  {"cmd": "decode", "dir": d, "nc", "batch", "sizes": [[h, w] per level], "strides", "nms": [options...]}
      -> d/decode-io.pt: level0..2 (random head outputs), pred (decoded [B, 4 + nc, A]), anchors, strides,
         and per NMS option set k and image i: nms.k.i [N, 6] (NMS run on `pred`)
  {"cmd": "pipeline", "dir": d, "id", "name", "nc", "seed", "imgsz", "rect", "images": [[c, h, w], ...], "nms": options}
      -> d/<id>.pt (state dict), d/<id>-io.pt: image0.., batch (letterboxed), out.i [N, 6] in original pixels
"""
import os

import torch
import torch.nn.functional as F
import torchvision

from detection_yolo_ref import seeded_model
from iris_ref import read_request, reply


def make_anchors(shapes, strides, offset=0.5):
    points, stride_rows = [], []
    for (h, w), s in zip(shapes, strides):
        sx = torch.arange(w, dtype=torch.float32) + offset
        sy = torch.arange(h, dtype=torch.float32) + offset
        gy, gx = torch.meshgrid(sy, sx, indexing="ij")
        points.append(torch.stack((gx, gy), -1).view(-1, 2))
        stride_rows.append(torch.full((h * w, 1), float(s)))
    return torch.cat(points), torch.cat(stride_rows)


def dist2bbox(distance, anchor_points, dim):
    lt, rb = distance.chunk(2, dim)
    x1y1, x2y2 = anchor_points - lt, anchor_points + rb
    return torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), dim)


def dfl(box, reg_max=16):
    b, _, a = box.shape
    bins = torch.arange(reg_max, dtype=torch.float32).view(1, reg_max, 1, 1)
    return F.conv2d(box.view(b, 4, reg_max, a).transpose(2, 1).softmax(1), bins).view(b, 4, a)


def decode(levels, nc, strides, reg_max=16):
    """Detect._inference: DFL distances around the anchor points times the stride, then sigmoid scores."""
    b = levels[0].shape[0]
    x = torch.cat([l.view(b, 4 * reg_max + nc, -1) for l in levels], 2)
    box, cls = x.split((4 * reg_max, nc), 1)
    anchors, stride_t = make_anchors([l.shape[2:] for l in levels], strides)
    dbox = dist2bbox(dfl(box, reg_max), anchors.transpose(0, 1).unsqueeze(0), dim=1) * stride_t.transpose(0, 1)
    return torch.cat((dbox, cls.sigmoid()), 1), anchors, stride_t


def xywh2xyxy(x):
    xy, half = x[..., :2], x[..., 2:] / 2
    return torch.cat((xy - half, xy + half), -1)


def nms(prediction, conf_thres=0.25, iou_thres=0.45, classes=None, agnostic=False, multi_label=False, max_det=300, max_nms=30000, max_wh=7680):
    """non_max_suppression for plain detection outputs [B, 4 + nc, A] (no masks, no time limit)."""
    bs, nc = prediction.shape[0], prediction.shape[1] - 4
    candidates = prediction[:, 4:].amax(1) > conf_thres
    multi_label = multi_label and nc > 1
    rows = prediction.transpose(-1, -2)
    rows = torch.cat((xywh2xyxy(rows[..., :4]), rows[..., 4:]), -1)
    out = []
    for xi in range(bs):
        x = rows[xi][candidates[xi]]
        if not x.shape[0]:
            out.append(torch.zeros((0, 6)))
            continue
        box, cls = x[:, :4], x[:, 4:]
        if multi_label:
            i, j = torch.where(cls > conf_thres)
            x = torch.cat((box[i], cls[i, j, None], j[:, None].float()), 1)
        else:
            conf, j = cls.max(1, keepdim=True)
            x = torch.cat((box, conf, j.float()), 1)[conf.view(-1) > conf_thres]
        if classes:
            x = x[(x[:, 5:6] == torch.tensor(classes, dtype=x.dtype)).any(1)]
        if not x.shape[0]:
            out.append(torch.zeros((0, 6)))
            continue
        if x.shape[0] > max_nms:
            x = x[x[:, 4].argsort(descending=True)[:max_nms]]
        c = x[:, 5:6] * (0 if agnostic else max_wh)
        keep = torchvision.ops.nms(x[:, :4] + c, x[:, 4], iou_thres)[:max_det]
        out.append(x[keep])
    return out


NMS_KEYS = {"confThres": "conf_thres", "iouThres": "iou_thres", "classes": "classes", "agnostic": "agnostic",
            "multiLabel": "multi_label", "maxDet": "max_det", "maxNms": "max_nms"}


def nms_kwargs(options):
    return {NMS_KEYS[k]: v for k, v in options.items()}


def letterbox(img, new_shape, auto, stride=32, scaleup=True, pad_value=114 / 255):
    """LetterBox on a float [3, H, W] image: torch's bilinear resize (cv2 INTER_LINEAR's sampling), centred grey padding."""
    h, w = img.shape[1:]
    r = min(new_shape[0] / h, new_shape[1] / w)
    if not scaleup:
        r = min(r, 1.0)
    unpad_w, unpad_h = round(w * r), round(h * r)
    dw, dh = new_shape[1] - unpad_w, new_shape[0] - unpad_h
    if auto:
        dw, dh = dw % stride, dh % stride
    dw, dh = dw / 2, dh / 2
    if (w, h) != (unpad_w, unpad_h):
        img = F.interpolate(img[None], size=(unpad_h, unpad_w), mode="bilinear", align_corners=False)[0]
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    img = F.pad(img[None], (left, right, top, bottom), value=pad_value)[0]
    return img, (r, (left, top))


def scale_boxes(boxes, ratio_pad, shape0):
    """scale_boxes with the letterbox's own ratio and padding (the validator's ratio_pad), then clip_boxes."""
    gain, (left, top) = ratio_pad
    boxes = boxes.clone()
    boxes[:, [0, 2]] -= left
    boxes[:, [1, 3]] -= top
    boxes /= gain
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clamp(0, shape0[1])
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clamp(0, shape0[0])
    return boxes


def decode_cmd(request):
    g = torch.Generator().manual_seed(request.get("seed", 0))
    nc, b = request["nc"], request["batch"]
    levels = []
    for h, w in request["sizes"]:
        # Box logits spread so the DFL expectations vary; class logits centred below 0 so thresholds cut.
        box = torch.randn((b, 64, h, w), generator=g) * 2
        cls = torch.randn((b, nc, h, w), generator=g) * 1.5 - 1.5
        levels.append(torch.cat((box, cls), 1))
    pred, anchors, stride_t = decode(levels, nc, request["strides"])
    out = {f"level{i}": l for i, l in enumerate(levels)}
    out.update({"pred": pred, "anchors": anchors, "strides": stride_t})
    counts = []
    for k, options in enumerate(request["nms"]):
        dets = nms(pred, **nms_kwargs(options))
        counts.append([d.shape[0] for d in dets])
        for i, d in enumerate(dets):
            out[f"nms.{k}.{i}"] = d
    torch.save(out, os.path.join(request["dir"], "decode-io.pt"))
    return counts


def pipeline_cmd(request):
    model = seeded_model(request).eval()
    g = torch.Generator().manual_seed(request["seed"] + 7)
    images = [torch.rand(shape, generator=g) for shape in request["images"]]
    imgsz = request["imgsz"]
    same = all(tuple(im.shape) == tuple(images[0].shape) for im in images)
    boxed = [letterbox(im, (imgsz, imgsz), auto=request["rect"] and same) for im in images]
    batch = torch.stack([b[0] for b in boxed])
    with torch.no_grad():
        levels = model(batch)
    pred, _, _ = decode(levels, request["nc"], [8, 16, 32])
    dets = nms(pred, **nms_kwargs(request["nms"]))
    out = {f"image{i}": im for i, im in enumerate(images)}
    out["batch"] = batch
    for i, (d, (_, ratio_pad), im) in enumerate(zip(dets, boxed, images)):
        out[f"out.{i}"] = torch.cat((scale_boxes(d[:, :4], ratio_pad, im.shape[1:]), d[:, 4:]), 1)
    torch.save(model.state_dict(), os.path.join(request["dir"], request["id"] + ".pt"))
    torch.save(out, os.path.join(request["dir"], request["id"] + "-io.pt"))
    return {"counts": [d.shape[0] for d in dets], "batch": list(batch.shape)}


if __name__ == "__main__":
    torch.set_num_threads(1)
    request = read_request()
    handlers = {"decode": decode_cmd, "pipeline": pipeline_cmd}
    reply({cmd.get("id", cmd["cmd"]): handlers[cmd["cmd"]](cmd) for cmd in request["cmds"]})
