"""PyTorch side of detection-yolo-loss.test.ts: Ultralytics' TaskAlignedAssigner and v8DetectionLoss
(ultralytics/utils/tal.py, loss.py, metrics.py bbox_iou, 8.3.x), rewritten in Python from their
formulas (the package is not installable here) and run on Debian's PyTorch 1.13. It keeps
Ultralytics' own way of computing: boolean-mask assignment of the per-pair metrics, the count
tensor built by scatter_add for the top-k, and the early return when no image has a box.

Ground truth arrives as it leaves Ultralytics' preprocess(): per image, xyxy boxes in input pixels
padded with zero rows to the largest count; the loss' padding test is "coordinates sum above 0".

The request is {"cmds": [...]}; the reply maps each command to its answer.
  {"cmd": "case", "dir": d, "id", "batch", "nc", "input": [h, w], "counts": [boxes per image], "seed", "max_side"?, "bin_slope"?}
      -> d/<id>.pt: the levels (random logits), per image boxes.i / classes.i (random, with
         overlapping and duplicated boxes), the assigner's outputs, the three loss terms (gain *
         batch size) and the gradient of their sum w.r.t. each level; replies the positives (per
         level) and whether some anchor was contested by several boxes
  {"cmd": "model", "dir": d, "name", "nc", "input", "seed", "counts"}
      -> d/model-init.pt (weights of detection_yolo_ref's seeded model), d/model-io.pt (input,
         targets, train-mode levels, loss terms, gradients of the Detect head's parameters)
  {"cmd": "parts", "dir": d} -> d/parts.pt: make_anchors, dist2bbox, bbox2dist, bbox_iou(CIoU) on fixed inputs
"""
import math
import os

import torch
import torch.nn.functional as F

from iris_ref import read_request, reply

STRIDES = [8, 16, 32]
REG_MAX = 16
HYP = {"box": 7.5, "cls": 0.5, "dfl": 1.5}


def bbox_iou_ciou(box1, box2, eps=1e-7):
    """metrics.bbox_iou(box1, box2, xywh=False, CIoU=True): [..., 4] x [..., 4] -> [..., 1]."""
    b1_x1, b1_y1, b1_x2, b1_y2 = box1.chunk(4, -1)
    b2_x1, b2_y1, b2_x2, b2_y2 = box2.chunk(4, -1)
    w1, h1 = b1_x2 - b1_x1, b1_y2 - b1_y1 + eps
    w2, h2 = b2_x2 - b2_x1, b2_y2 - b2_y1 + eps
    inter = (b1_x2.minimum(b2_x2) - b1_x1.maximum(b2_x1)).clamp_(0) * (b1_y2.minimum(b2_y2) - b1_y1.maximum(b2_y1)).clamp_(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = b1_x2.maximum(b2_x2) - b1_x1.minimum(b2_x1)
    ch = b1_y2.maximum(b2_y2) - b1_y1.minimum(b2_y1)
    c2 = cw.pow(2) + ch.pow(2) + eps
    rho2 = ((b2_x1 + b2_x2 - b1_x1 - b1_x2).pow(2) + (b2_y1 + b2_y2 - b1_y1 - b1_y2).pow(2)) / 4
    v = (4 / math.pi**2) * ((w2 / h2).atan() - (w1 / h1).atan()).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha)


def make_anchors(feats, strides, offset=0.5):
    points, stride_rows = [], []
    dtype = feats[0].dtype
    for f, s in zip(feats, strides):
        _, _, h, w = f.shape
        sy, sx = torch.meshgrid(torch.arange(h, dtype=dtype) + offset, torch.arange(w, dtype=dtype) + offset, indexing="ij")
        points.append(torch.stack((sx, sy), -1).view(-1, 2))
        stride_rows.append(torch.full((h * w, 1), s, dtype=dtype))
    return torch.cat(points), torch.cat(stride_rows)


def dist2bbox(distance, anchor_points, xywh=True, dim=-1):
    lt, rb = distance.chunk(2, dim)
    x1y1, x2y2 = anchor_points - lt, anchor_points + rb
    if xywh:
        return torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), dim)
    return torch.cat((x1y1, x2y2), dim)


def bbox2dist(anchor_points, bbox, reg_max):
    x1y1, x2y2 = bbox.chunk(2, -1)
    return torch.cat((anchor_points - x1y1, x2y2 - anchor_points), -1).clamp_(0, reg_max - 0.01)


class Assigner:
    """tal.TaskAlignedAssigner as v8DetectionLoss builds it: topk 10, alpha 0.5, beta 6, eps 1e-9."""

    def __init__(self, nc, topk=10, alpha=0.5, beta=6.0, eps=1e-9):
        self.nc, self.topk, self.alpha, self.beta, self.eps = nc, topk, alpha, beta, eps
        self.contested = False  # whether some anchor was a candidate of several boxes

    @torch.no_grad()
    def __call__(self, pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt):
        bs, na = pd_scores.shape[:2]
        n = gt_bboxes.shape[1]
        if n == 0:
            return (torch.full_like(pd_scores[..., 0], self.nc), torch.zeros_like(pd_bboxes), torch.zeros_like(pd_scores),
                    torch.zeros_like(pd_scores[..., 0]).bool(), torch.zeros_like(pd_scores[..., 0]).long())
        # Anchor centres strictly inside each box.
        lt, rb = gt_bboxes.view(-1, 1, 4).chunk(2, 2)
        deltas = torch.cat((anc_points[None] - lt, rb - anc_points[None]), dim=2).view(bs, n, na, -1)
        mask_in_gts = deltas.amin(3).gt_(1e-9)
        # Alignment metric over the (box, anchor) pairs that are real and inside.
        pairs = (mask_in_gts * mask_gt).bool()
        overlaps = torch.zeros([bs, n, na], dtype=pd_bboxes.dtype)
        bbox_scores = torch.zeros([bs, n, na], dtype=pd_scores.dtype)
        b_idx = torch.arange(bs).view(-1, 1).expand(-1, n)
        cls_idx = gt_labels.squeeze(-1).long()
        bbox_scores[pairs] = pd_scores[b_idx, :, cls_idx][pairs]
        pd = pd_bboxes.unsqueeze(1).expand(-1, n, -1, -1)[pairs]
        gt = gt_bboxes.unsqueeze(2).expand(-1, -1, na, -1)[pairs]
        overlaps[pairs] = bbox_iou_ciou(gt, pd).squeeze(-1).clamp_(0)
        align_metric = bbox_scores.pow(self.alpha) * overlaps.pow(self.beta)
        # Top-k per box, counted so padding rows (all picks at anchor 0) vanish.
        topk_idxs = torch.topk(align_metric, self.topk, dim=-1, largest=True)[1]
        topk_idxs.masked_fill_(~mask_gt.expand(-1, -1, self.topk).bool(), 0)
        count = torch.zeros(align_metric.shape, dtype=torch.int8)
        ones = torch.ones_like(topk_idxs[:, :, :1], dtype=torch.int8)
        for k in range(self.topk):
            count.scatter_add_(-1, topk_idxs[:, :, k:k + 1], ones)
        count.masked_fill_(count > 1, 0)
        mask_pos = count.to(align_metric.dtype) * mask_in_gts * mask_gt
        # An anchor claimed by several boxes keeps the one it overlaps most.
        fg_mask = mask_pos.sum(-2)
        self.contested = bool(fg_mask.max() > 1)
        if self.contested:
            multi = (fg_mask.unsqueeze(1) > 1).expand(-1, n, -1)
            is_max = torch.zeros(mask_pos.shape, dtype=mask_pos.dtype)
            is_max.scatter_(1, overlaps.argmax(1).unsqueeze(1), 1)
            mask_pos = torch.where(multi, is_max, mask_pos).float()
            fg_mask = mask_pos.sum(-2)
        target_gt_idx = mask_pos.argmax(-2)
        # Targets of the assigned boxes.
        flat_idx = target_gt_idx + torch.arange(bs, dtype=torch.int64)[..., None] * n
        target_labels = gt_labels.long().flatten()[flat_idx]
        target_bboxes = gt_bboxes.view(-1, 4)[flat_idx]
        target_labels.clamp_(0)
        target_scores = torch.zeros((bs, na, self.nc), dtype=torch.int64)
        target_scores.scatter_(2, target_labels.unsqueeze(-1), 1)
        target_scores = torch.where(fg_mask[:, :, None].repeat(1, 1, self.nc) > 0, target_scores, 0)
        # Normalise by each box's best alignment and best overlap.
        align_metric *= mask_pos
        pos_align = align_metric.amax(dim=-1, keepdim=True)
        pos_overlaps = (overlaps * mask_pos).amax(dim=-1, keepdim=True)
        norm = (align_metric * pos_overlaps / (pos_align + self.eps)).amax(-2).unsqueeze(-1)
        return target_labels, target_bboxes, target_scores * norm, fg_mask.bool(), target_gt_idx


def df_loss(pred_dist, target, reg_max=REG_MAX):
    target = target.clamp_(0, reg_max - 1 - 0.01)
    tl = target.long()
    tr = tl + 1
    wl = tr - target
    wr = 1 - wl
    return (F.cross_entropy(pred_dist, tl.view(-1), reduction="none").view(tl.shape) * wl
            + F.cross_entropy(pred_dist, tr.view(-1), reduction="none").view(tl.shape) * wr).mean(-1, keepdim=True)


def pad_targets(boxes, classes):
    n = max([len(b) for b in boxes] + [0])
    gt = torch.zeros(len(boxes), n, 5)
    for i, (b, c) in enumerate(zip(boxes, classes)):
        gt[i, :len(b), 0] = c.float()
        gt[i, :len(b), 1:] = b
    return gt


def detection_loss(feats, boxes, classes, nc):
    """v8DetectionLoss.__call__ on Detect's training outputs; returns (box, cls, dfl) * batch size and the assignment."""
    no = nc + REG_MAX * 4
    bs = feats[0].shape[0]
    pred_distri, pred_scores = torch.cat([x.view(bs, no, -1) for x in feats], 2).split((REG_MAX * 4, nc), 1)
    pred_scores = pred_scores.permute(0, 2, 1).contiguous()
    pred_distri = pred_distri.permute(0, 2, 1).contiguous()
    anchor_points, stride_tensor = make_anchors(feats, STRIDES, 0.5)
    gt_labels, gt_bboxes = pad_targets(boxes, classes).split((1, 4), 2)
    mask_gt = gt_bboxes.sum(2, keepdim=True).gt_(0.0)
    b, a, c = pred_distri.shape
    proj = torch.arange(REG_MAX, dtype=torch.float)
    pred_bboxes = dist2bbox(pred_distri.view(b, a, 4, c // 4).softmax(3).matmul(proj.type(pred_distri.dtype)), anchor_points, xywh=False)
    assigner = Assigner(nc)
    assigned = assigner(pred_scores.detach().sigmoid(), (pred_bboxes.detach() * stride_tensor).type(gt_bboxes.dtype),
                            anchor_points * stride_tensor, gt_labels, gt_bboxes, mask_gt)
    _, target_bboxes, target_scores, fg_mask, _ = assigned
    loss = torch.zeros(3)
    target_scores_sum = max(target_scores.sum(), 1)
    loss[1] = F.binary_cross_entropy_with_logits(pred_scores, target_scores.to(pred_scores.dtype), reduction="none").sum() / target_scores_sum
    if fg_mask.sum():
        target_bboxes = target_bboxes / stride_tensor
        weight = target_scores.sum(-1)[fg_mask].unsqueeze(-1)
        iou = bbox_iou_ciou(pred_bboxes[fg_mask], target_bboxes[fg_mask])
        loss[0] = ((1.0 - iou) * weight).sum() / target_scores_sum
        target_ltrb = bbox2dist(anchor_points, target_bboxes, REG_MAX - 1)
        loss[2] = (df_loss(pred_distri[fg_mask].view(-1, REG_MAX), target_ltrb[fg_mask]) * weight).sum() / target_scores_sum
    loss[0] *= HYP["box"]
    loss[1] *= HYP["cls"]
    loss[2] *= HYP["dfl"]
    return loss * bs, assigned, assigner.contested


def random_targets(gen, counts, h, w, nc, max_side=None):
    """Random xyxy boxes in pixels (sides 4..max_side px, default half the shorter side; clipped), the third box of an image overlapping the first and the fifth duplicating the second."""
    boxes, classes = [], []
    for n in counts:
        cxy = torch.rand(n, 2, generator=gen) * torch.tensor([w, h])
        wh = 4 + torch.rand(n, 2, generator=gen) * ((max_side or min(h, w) / 2) - 4)
        b = torch.cat((cxy - wh / 2, cxy + wh / 2), 1)
        if n >= 3:
            b[2] = b[0] + torch.tensor([3.0, 2.0, 5.0, 4.0])
        if n >= 5:
            b[4] = b[1]
        b[:, 0::2] = b[:, 0::2].clamp(0, w)
        b[:, 1::2] = b[:, 1::2].clamp(0, h)
        boxes.append(b)
        classes.append(torch.randint(0, nc, (n,), generator=gen))
    return boxes, classes


def case(request):
    gen = torch.Generator().manual_seed(request["seed"])
    h, w = request["input"]
    nc, bs = request["nc"], request["batch"]
    feats = [torch.randn(bs, nc + 4 * REG_MAX, h // s, w // s, generator=gen) * 2 for s in STRIDES]
    # Optional per-level tilt of the DFL logits towards small bins, so coarse levels predict boxes
    # of similar pixel size and win positives too.
    for f, slope in zip(feats, request.get("bin_slope", [0, 0, 0])):
        f[:, :4 * REG_MAX] -= slope * torch.arange(REG_MAX, dtype=f.dtype).repeat(4).view(1, -1, 1, 1)
    feats = [f.requires_grad_(True) for f in feats]
    boxes, classes = random_targets(gen, request["counts"], h, w, nc, request.get("max_side"))
    loss, (labels, bboxes, scores, fg, gt_idx), contested = detection_loss(feats, boxes, classes, nc)
    loss.sum().backward()
    out = {f"level{i}": f.detach() for i, f in enumerate(feats)}
    out.update({f"grad{i}": f.grad for i, f in enumerate(feats)})
    out.update({f"boxes.{i}": b for i, b in enumerate(boxes)})
    out.update({f"classes.{i}": c for i, c in enumerate(classes)})
    out.update({"loss": loss.detach(), "target_labels": labels, "target_bboxes": bboxes, "target_scores": scores,
                "fg_mask": fg, "target_gt_idx": gt_idx})
    torch.save(out, os.path.join(request["dir"], request["id"] + ".pt"))
    levels = [int(fg[:, a:b].sum()) for a, b in level_ranges(feats)]
    return {"positives": int(fg.sum()), "positives_per_level": levels, "contested": contested, "loss": loss.tolist()}


def level_ranges(feats):
    sizes = [f.shape[2] * f.shape[3] for f in feats]
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return [(s, s + n) for s, n in zip(starts, sizes)]


def model(request):
    from detection_yolo_ref import seeded_model

    net = seeded_model(request).train()
    torch.save(net.state_dict(), os.path.join(request["dir"], "model-init.pt"))
    gen = torch.Generator().manual_seed(request["seed"] + 7)
    h, w = request["input"][2:]
    x = torch.rand(request["input"], generator=gen)
    boxes, classes = random_targets(gen, request["counts"], h, w, request["nc"])
    feats = net(x)
    loss, (_, _, _, fg, _), _ = detection_loss(feats, boxes, classes, request["nc"])
    loss.sum().backward()
    head = "model.%d." % (len(net.model) - 1)
    grads = {"grad." + k: p.grad for k, p in net.named_parameters() if k.startswith(head) and p.grad is not None}
    out = {"input": x, "loss": loss.detach(), **grads, **{f"level{i}": f.detach() for i, f in enumerate(feats)}}
    out.update({f"boxes.{i}": b for i, b in enumerate(boxes)})
    out.update({f"classes.{i}": c for i, c in enumerate(classes)})
    torch.save(out, os.path.join(request["dir"], "model-io.pt"))
    return {"positives": int(fg.sum()), "loss": loss.tolist()}


def parts(request):
    gen = torch.Generator().manual_seed(11)
    feats = [torch.zeros(1, 1, 4, 6), torch.zeros(1, 1, 2, 3), torch.zeros(1, 1, 1, 2)]
    anchor_points, stride_tensor = make_anchors(feats, STRIDES, 0.5)
    dist = torch.rand(2, anchor_points.shape[0], 4, generator=gen) * 20
    b1 = torch.rand(64, 4, generator=gen) * 50
    b1[:, 2:] += b1[:, :2]
    b2 = b1 + torch.randn(64, 4, generator=gen) * 8
    b2[:8, :2] = torch.rand(8, 2, generator=gen) * 10 + 100  # disjoint pairs: negative CIoU
    b2[:8, 2:] = b2[:8, :2] + 5
    b2[8:12] = b1[8:12]  # identical pairs
    torch.save({"anchor_points": anchor_points, "stride_tensor": stride_tensor, "dist": dist,
                "xyxy": dist2bbox(dist, anchor_points, xywh=False), "xywh": dist2bbox(dist, anchor_points, xywh=True),
                "ltrb": bbox2dist(anchor_points, dist2bbox(dist, anchor_points, xywh=False), REG_MAX - 1),
                "b1": b1, "b2": b2, "ciou": bbox_iou_ciou(b1, b2)}, os.path.join(request["dir"], "parts.pt"))
    return True


if __name__ == "__main__":
    torch.set_num_threads(1)
    request = read_request()
    handlers = {"case": case, "model": model, "parts": parts}
    reply({cmd.get("id", cmd["cmd"]): handlers[cmd["cmd"]](cmd) for cmd in request["cmds"]})
