# Pascal VOC detection AP for voc-map.test.ts, written after the VOC devkit (VOCevaldet.m, VOCap)
# in the structure of the well-known voc_eval.py: per class, detections sorted by confidence go
# to the ground truth of largest overlap; difficult objects neither count nor penalise. Two points
# follow the MATLAB devkit rather than voc_eval.py: overlap >= threshold, and a stable sort.
import json
import sys

import numpy as np


def voc_ap(rec, prec, use_07_metric):
    if use_07_metric:
        ap = 0.
        for t in np.arange(0., 1.1, 0.1):
            p = 0 if np.sum(rec >= t) == 0 else np.max(prec[rec >= t])
            ap = ap + p / 11.
        return ap
    mrec = np.concatenate(([0.], rec, [1.]))
    mpre = np.concatenate(([0.], prec, [0.]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])


def voc_eval(targets, predictions, classname, ovthresh, use_07_metric, one):
    class_recs = {}
    npos = 0
    for image, target in enumerate(targets):
        keep = [j for j, label in enumerate(target['labels']) if label == classname]
        bbox = np.array([target['boxes'][j] for j in keep], dtype=float).reshape(-1, 4)
        difficult = np.array([target.get('difficult', [0] * len(target['labels']))[j] for j in keep]).astype(bool)
        npos = npos + sum(~difficult)
        class_recs[image] = {'bbox': bbox, 'difficult': difficult, 'det': [False] * len(keep)}

    image_ids, confidence, BB = [], [], []
    for image, prediction in enumerate(predictions):
        for box, score, label in zip(prediction['boxes'], prediction['scores'], prediction['labels']):
            if label == classname:
                image_ids.append(image)
                confidence.append(score)
                BB.append(box)
    confidence = np.array(confidence, dtype=float)
    BB = np.array(BB, dtype=float).reshape(-1, 4)
    sorted_ind = np.argsort(-confidence, kind='mergesort')
    BB = BB[sorted_ind, :]
    image_ids = [image_ids[x] for x in sorted_ind]

    nd = len(image_ids)
    tp = np.zeros(nd)
    fp = np.zeros(nd)
    for d in range(nd):
        R = class_recs[image_ids[d]]
        bb = BB[d, :]
        ovmax = -np.inf
        BBGT = R['bbox']
        if BBGT.size > 0:
            ixmin = np.maximum(BBGT[:, 0], bb[0])
            iymin = np.maximum(BBGT[:, 1], bb[1])
            ixmax = np.minimum(BBGT[:, 2], bb[2])
            iymax = np.minimum(BBGT[:, 3], bb[3])
            iw = np.maximum(ixmax - ixmin + one, 0.)
            ih = np.maximum(iymax - iymin + one, 0.)
            inters = iw * ih
            uni = ((bb[2] - bb[0] + one) * (bb[3] - bb[1] + one) +
                   (BBGT[:, 2] - BBGT[:, 0] + one) * (BBGT[:, 3] - BBGT[:, 1] + one) - inters)
            overlaps = inters / uni
            ovmax = np.max(overlaps)
            jmax = np.argmax(overlaps)
        if ovmax >= ovthresh and ovmax > 0:
            if not R['difficult'][jmax]:
                if not R['det'][jmax]:
                    tp[d] = 1.
                    R['det'][jmax] = 1
                else:
                    fp[d] = 1.
        else:
            fp[d] = 1.

    fp = np.cumsum(fp)
    tp = np.cumsum(tp)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    # A class with no positives has no AP (-1, left out of the mean); its recall reads 0.
    if npos == 0:
        return np.zeros(nd), prec, -1
    rec = tp / float(npos)
    return rec, prec, voc_ap(rec, prec, use_07_metric)


request = json.load(sys.stdin)
out = []
for case in request['cases']:
    o = case['options']
    one = 1. if o.get('legacyCoordinates', True) else 0.
    classes = sorted({label for t in case['targets'] for label in t['labels']})
    per_class = []
    for c in classes:
        rec, prec, ap = voc_eval(case['targets'], case['predictions'], c, o.get('iouThreshold', 0.5), o.get('use07Metric', False), one)
        per_class.append({'label': c, 'ap': float(ap), 'recall': rec.tolist(), 'precision': prec.tolist()})
    aps = [c['ap'] for c in per_class if c['ap'] >= 0]
    out.append({'map': float(np.mean(aps)) if aps else -1, 'perClass': per_class})
json.dump(out, sys.stdout)
