# Reference for yolo-metrics.test.ts: Ultralytics' detection metrics (DetectionValidator's
# matching, utils/metrics.py ap_per_class / compute_ap / smooth and the detect ConfusionMatrix),
# rewritten in numpy + PyTorch from their definitions. Ties are broken by a stable sort, the one
# choice Ultralytics leaves to numpy's sort.
# stdin: {"nc", "images": [{"pred": {"boxes", "scores", "labels"}, "gt": {"boxes", "labels"}}]}
import json
import sys

import numpy as np
import torch

IOUV = torch.linspace(0.5, 0.95, 10)


def box_iou(a, b, eps=1e-7):
    (a1, a2), (b1, b2) = a.unsqueeze(1).chunk(2, 2), b.unsqueeze(0).chunk(2, 2)
    inter = (torch.min(a2, b2) - torch.max(a1, b1)).clamp(0).prod(2)
    return inter / ((a2 - a1).prod(2) + (b2 - b1).prod(2) - inter + eps)


def desc(v):
    return np.argsort(v, kind="stable")[::-1]


def match(pred_cls, true_cls, iou):
    correct = np.zeros((pred_cls.shape[0], IOUV.shape[0]), dtype=bool)
    iou = (iou * (true_cls[:, None] == pred_cls)).numpy()
    for t, thr in enumerate(IOUV.tolist()):
        m = np.array(np.nonzero(iou >= thr)).T
        if m.shape[0]:
            if m.shape[0] > 1:
                m = m[desc(iou[m[:, 0], m[:, 1]])]
                m = m[np.unique(m[:, 1], return_index=True)[1]]
                m = m[np.unique(m[:, 0], return_index=True)[1]]
            correct[m[:, 1], t] = True
    return correct


def interp_ap(recall, precision):
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([1.0], precision, [0.0]))
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    x = np.linspace(0, 1, 101)
    return np.trapz(np.interp(x, mrec, mpre), x), mpre, mrec


def smooth(y, f):
    nf = round(len(y) * f * 2) // 2 + 1
    pad = np.ones(nf // 2)
    return np.convolve(np.concatenate((pad * y[0], y, pad * y[-1])), np.ones(nf) / nf, mode="valid")


def ap_per_class(tp, conf, pred_cls, target_cls, nc, eps=1e-16):
    i = np.argsort(-conf, kind="stable")
    tp, conf, pred_cls = tp[i], conf[i], pred_cls[i]
    classes, nt = np.unique(target_cls, return_counts=True)
    x = np.linspace(0, 1, 1000)
    n = classes.shape[0]
    ap, p_curve, r_curve, pr_curve = np.zeros((n, tp.shape[1])), np.zeros((n, 1000)), np.zeros((n, 1000)), np.zeros((n, 1000))
    for ci, c in enumerate(classes):
        sel = pred_cls == c
        if sel.sum() == 0:
            continue
        fpc = (1 - tp[sel]).cumsum(0)
        tpc = tp[sel].cumsum(0)
        recall = tpc / (nt[ci] + eps)
        precision = tpc / (tpc + fpc)
        r_curve[ci] = np.interp(-x, -conf[sel], recall[:, 0], left=0)
        p_curve[ci] = np.interp(-x, -conf[sel], precision[:, 0], left=1)
        for j in range(tp.shape[1]):
            ap[ci, j], mpre, mrec = interp_ap(recall[:, j], precision[:, j])
            if j == 0:
                pr_curve[ci] = np.interp(x, mrec, mpre)
    f1_curve = 2 * p_curve * r_curve / (p_curve + r_curve + eps)
    smoothed = smooth(f1_curve.mean(0), 0.1)
    b = int(smoothed.argmax())
    p, r, f1 = p_curve[:, b], r_curve[:, b], f1_curve[:, b]
    tpn = (r * nt).round()
    fpn = (tpn / (p + eps) - tpn).round()
    return dict(
        classes=classes.astype(int).tolist(), p=p.tolist(), r=r.tolist(), f1=f1.tolist(), tp=tpn.tolist(), fp=fpn.tolist(),
        ap=ap.tolist(), pCurve=p_curve.tolist(), rCurve=r_curve.tolist(), f1Curve=f1_curve.tolist(), prCurve=pr_curve.tolist(),
        bestIndex=b, smoothed=smoothed.tolist(), precision=float(p.mean()), recall=float(r.mean()), map50=float(ap[:, 0].mean()),
        map75=float(ap[:, 5].mean()), map=float(ap.mean()), fitness=float((np.array([p.mean(), r.mean(), ap[:, 0].mean(), ap.mean()]) * [0.0, 0.0, 0.1, 0.9]).sum()),
    )


def confusion(images, nc, conf=0.25, iou_thres=0.45):
    matrix = np.zeros((nc + 1, nc + 1))
    for im in images:
        gb, gc = im["gt"]["boxes"], im["gt"]["labels"].int().numpy()
        keep = im["pred"]["scores"] > conf
        db, dc = im["pred"]["boxes"][keep], im["pred"]["labels"][keep].int().numpy()
        if gc.shape[0] == 0:
            for c in dc:
                matrix[c, nc] += 1
            continue
        iou = box_iou(gb, db)
        w = torch.where(iou > iou_thres)
        if w[0].shape[0]:
            m = torch.cat((torch.stack(w, 1), iou[w[0], w[1]][:, None]), 1).numpy()
            if w[0].shape[0] > 1:
                m = m[desc(m[:, 2])]
                m = m[np.unique(m[:, 1], return_index=True)[1]]
                m = m[desc(m[:, 2])]
                m = m[np.unique(m[:, 0], return_index=True)[1]]
        else:
            m = np.zeros((0, 3))
        n = m.shape[0] > 0
        m0, m1, _ = m.transpose().astype(int)
        for i, c in enumerate(gc):
            j = m0 == i
            if n and sum(j) == 1:
                matrix[dc[m1[j]], c] += 1
            else:
                matrix[nc, c] += 1
        if n:
            for i, c in enumerate(dc):
                if not any(m1 == i):
                    matrix[c, nc] += 1
    return matrix


def main():
    req = json.load(sys.stdin)
    nc = req["nc"]
    images = []
    tps, confs, pcls, tcls = [], [], [], []
    for im in req["images"]:
        pb = torch.tensor(im["pred"]["boxes"], dtype=torch.float32).reshape(-1, 4)
        ps = torch.tensor(im["pred"]["scores"], dtype=torch.float32)
        pl = torch.tensor(im["pred"]["labels"], dtype=torch.float32)
        gb = torch.tensor(im["gt"]["boxes"], dtype=torch.float32).reshape(-1, 4)
        gl = torch.tensor(im["gt"]["labels"], dtype=torch.float32)
        images.append(dict(pred=dict(boxes=pb, scores=ps, labels=pl), gt=dict(boxes=gb, labels=gl)))
        tcls.append(gl.numpy())
        if pb.shape[0] == 0:
            continue
        tps.append(match(pl, gl, box_iou(gb, pb)) if gb.shape[0] else np.zeros((pb.shape[0], 10), dtype=bool))
        confs.append(ps.numpy())
        pcls.append(pl.numpy())
    tp = np.concatenate(tps) if tps else np.zeros((0, 10), dtype=bool)
    out = {"tpFlags": tp.astype(int).tolist(), "confusion": confusion(images, nc).tolist()}
    if tp.any():
        out.update(ap_per_class(tp, np.concatenate(confs), np.concatenate(pcls), np.concatenate(tcls), nc))
    json.dump(out, sys.stdout)


main()
