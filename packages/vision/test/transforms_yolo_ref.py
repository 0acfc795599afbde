"""Ultralytics' training augmentation, side of transforms-yolo.test.ts (JSON on stdin, JSON on stdout).

Ultralytics and cv2 are not installable here, so its statements (ultralytics/data/augment.py:
Mosaic._mosaic4 and _cat_labels, RandomPerspective.affine_transform / apply_bboxes / box_candidates,
RandomHSV; data/base.py load_image's sizes) are re-written below in numpy, and cv2's pieces they
call from OpenCV's definitions: getRotationMatrix2D, the 8-bit BGR<->HSV of color_hsv.simd.hpp
(scalar code), and warpAffine / warpPerspective as exact bilinear sampling with a constant border.

Randomness: "draws" are the uniform [0, 1) numbers Iris's Rng produced, in order; Python's
random.uniform(a, b) and numpy's uniform(low, high) are a + (b - a) * U, so feeding the same U's
replays the same parameters. Every draw must be consumed.

Request: {"cases": [{"cmd": ..., ...}]}; reply: {"results": [...]}, one per case.
"""
import math
import random

import numpy as np

from iris_ref import read_request, reply


class Draws(random.Random):
    """random.Random whose random() returns Iris's draws in order."""

    def __init__(self, draws):
        super().__init__(0)
        self.draws = list(draws)

    def random(self):
        if not self.draws:
            raise AssertionError("the reference asked for a draw after Iris's last one")
        return self.draws.pop(0)

    def done(self):
        if self.draws:
            raise AssertionError(f"Iris drew {len(self.draws)} numbers the reference did not use")


def np_uniform(rnd, low, high, n):
    # numpy's uniform: low + (high - low) * random_sample()
    return np.array([low + (high - low) * rnd.random() for _ in range(n)])


# ---- cv2 pieces, from OpenCV's definitions ------------------------------------------------------

def get_rotation_matrix_2d(angle, center, scale):
    a = math.radians(angle)
    alpha, beta = scale * math.cos(a), scale * math.sin(a)
    cx, cy = center
    return np.array([[alpha, beta, (1 - alpha) * cx - beta * cy], [-beta, alpha, beta * cx + (1 - alpha) * cy]])


def cv_round(x):
    return np.rint(x)  # half to even, as cvRound


HSV_SHIFT = 12
SDIV = np.array([0] + [int(cv_round((255 << HSV_SHIFT) / (1.0 * i))) for i in range(1, 256)], dtype=np.int64)
HDIV = np.array([0] + [int(cv_round((180 << HSV_SHIFT) / (6.0 * i))) for i in range(1, 256)], dtype=np.int64)


def rgb2hsv_u8(img):
    """cv2.cvtColor(COLOR_RGB2HSV) on uint8 HWC (RGB2HSV_b, scalar path)."""
    r, g, b = (img[..., k].astype(np.int64) for k in range(3))
    v = np.maximum(np.maximum(b, g), r)
    vmin = np.minimum(np.minimum(b, g), r)
    diff = v - vmin
    vr = v == r
    vg = v == g
    s = (diff * SDIV[v] + (1 << (HSV_SHIFT - 1))) >> HSV_SHIFT
    h = np.where(vr, g - b, np.where(vg, b - r + 2 * diff, r - g + 4 * diff))
    h = (h * HDIV[diff] + (1 << (HSV_SHIFT - 1))) >> HSV_SHIFT
    h = h + np.where(h < 0, 180, 0)
    return np.stack([h, s, v], -1).astype(np.uint8)


def hsv2rgb_u8(hsv):
    """cv2.cvtColor(COLOR_HSV2RGB) on uint8 HWC (HSV2RGB_b + HSV2RGB_native, float32)."""
    f = np.float32
    h = hsv[..., 0].astype(f)
    s = hsv[..., 1].astype(f) * f(1.0 / 255.0)
    v = hsv[..., 2].astype(f) * f(1.0 / 255.0)
    h = np.fmod(h * f(6.0 / 180), f(6.0))
    sector = np.floor(h).astype(np.int64)
    h = (h - sector.astype(f)).astype(f)
    bad = (sector < 0) | (sector >= 6)
    sector = np.where(bad, 0, sector)
    h = np.where(bad, f(0), h)
    one = f(1.0)
    tab = np.stack([v, v * (one - s), v * (one - s * h), v * (one - s * (one - h))], 0).astype(f)
    sector_data = np.array([[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]])
    idx = sector_data[sector]  # H, W, 3 (b, g, r)
    bgr = np.take_along_axis(tab.transpose(1, 2, 0), idx, axis=-1)
    gray = (s == 0)[..., None]
    bgr = np.where(gray, v[..., None], bgr).astype(f)
    out = np.clip(cv_round(bgr * f(255.0)), 0, 255).astype(np.uint8)
    return out[..., ::-1]  # rgb


def warp(img, M, dsize, perspective, border_value=114.0):
    """cv2.warpAffine / warpPerspective, INTER_LINEAR, BORDER_CONSTANT, as exact bilinear sampling."""
    w, h = dsize
    Minv = np.linalg.inv(M.astype(np.float64))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    pts = np.stack([xs, ys, np.ones_like(xs)], -1) @ Minv.T
    sx, sy = (pts[..., 0] / pts[..., 2], pts[..., 1] / pts[..., 2]) if perspective else (pts[..., 0], pts[..., 1])
    H, W = img.shape[:2]
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    fx, fy = sx - x0, sy - y0
    src = img.astype(np.float64)
    out = np.zeros((h, w, img.shape[2]))
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi, yi = x0 + dx, y0 + dy
            inside = (xi >= 0) & (xi < W) & (yi >= 0) & (yi < H)
            val = np.where(inside[..., None], src[np.clip(yi, 0, H - 1), np.clip(xi, 0, W - 1)], border_value)
            out += (wx * wy)[..., None] * val
    return out


# ---- Ultralytics' statements --------------------------------------------------------------------

def random_perspective(case):
    """RandomPerspective.__call__ for bboxes: affine_transform, apply_bboxes, clip, box_candidates."""
    rnd = Draws(case["draws"])
    hyp = case["hyp"]
    h0, w0 = case["imageSize"]
    border = (case["border"], case["border"])
    size = (w0 + border[1] * 2, h0 + border[0] * 2)  # w, h
    degrees, translate, scale, shear, perspective = (hyp[k] for k in ("degrees", "translate", "scale", "shear", "perspective"))

    C = np.eye(3, dtype=np.float32)
    C[0, 2] = -w0 / 2
    C[1, 2] = -h0 / 2
    P = np.eye(3, dtype=np.float32)
    P[2, 0] = rnd.uniform(-perspective, perspective)
    P[2, 1] = rnd.uniform(-perspective, perspective)
    R = np.eye(3, dtype=np.float32)
    a = rnd.uniform(-degrees, degrees)
    s = rnd.uniform(1 - scale, 1 + scale)
    R[:2] = get_rotation_matrix_2d(angle=a, center=(0, 0), scale=s)
    S = np.eye(3, dtype=np.float32)
    S[0, 1] = math.tan(rnd.uniform(-shear, shear) * math.pi / 180)
    S[1, 0] = math.tan(rnd.uniform(-shear, shear) * math.pi / 180)
    T = np.eye(3, dtype=np.float32)
    T[0, 2] = rnd.uniform(0.5 - translate, 0.5 + translate) * size[0]
    T[1, 2] = rnd.uniform(0.5 - translate, 0.5 + translate) * size[1]
    M = T @ S @ R @ P @ C
    rnd.done()

    bboxes = np.array(case["boxes"], dtype=np.float32).reshape(-1, 4)
    n = len(bboxes)
    xy = np.ones((n * 4, 3), dtype=bboxes.dtype)
    xy[:, :2] = bboxes[:, [0, 1, 2, 3, 0, 3, 2, 1]].reshape(n * 4, 2)
    xy = xy @ M.T
    xy = (xy[:, :2] / xy[:, 2:3] if perspective else xy[:, :2]).reshape(n, 8)
    x = xy[:, [0, 2, 4, 6]]
    y = xy[:, [1, 3, 5, 7]]
    new = np.concatenate((x.min(1), y.min(1), x.max(1), y.max(1)), dtype=bboxes.dtype).reshape(4, n).T
    new[:, [0, 2]] = new[:, [0, 2]].clip(0, size[0])  # Instances.clip(w, h)
    new[:, [1, 3]] = new[:, [1, 3]].clip(0, size[1])
    old = bboxes * s  # instances.scale(s, s)
    keep = box_candidates(old.T, new.T)
    out = {"matrix": M.astype(np.float64).reshape(-1).tolist(), "boxes": new.astype(np.float64).tolist(), "keep": keep.tolist(), "size": list(size)}
    if "image" in case:
        img = np.array(case["image"], dtype=np.uint8).reshape(case["imageShape"]).transpose(1, 2, 0)
        out["warped"] = warp(img, M, size, perspective).transpose(2, 0, 1).reshape(-1).tolist()
    return out


def box_candidates(box1, box2, wh_thr=2, ar_thr=100, area_thr=0.1, eps=1e-16):
    w1, h1 = box1[2] - box1[0], box1[3] - box1[1]
    w2, h2 = box2[2] - box2[0], box2[3] - box2[1]
    ar = np.maximum(w2 / (h2 + eps), h2 / (w2 + eps))
    return (w2 > wh_thr) & (h2 > wh_thr) & (w2 * h2 / (w1 * h1 + eps) > area_thr) & (ar < ar_thr)


def random_hsv(case):
    """RandomHSV.__call__ (Ultralytics >= 8.3.79: additive hue, grey kept) on an RGB image."""
    rnd = Draws(case["draws"])
    hgain, sgain, vgain = case["gains"]
    img = np.array(case["image"], dtype=np.uint8).reshape(case["shape"]).transpose(1, 2, 0)
    r = np_uniform(rnd, -1, 1, 3) * [hgain, sgain, vgain]
    rnd.done()
    dtype = img.dtype
    x = np.arange(0, 256, dtype=r.dtype)
    lut_hue = ((x + r[0] * 180) % 180).astype(dtype)
    lut_sat = np.clip(x * (r[1] + 1), 0, 255).astype(dtype)
    lut_val = np.clip(x * (r[2] + 1), 0, 255).astype(dtype)
    lut_sat[0] = 0
    hsv = rgb2hsv_u8(img)
    mapped = np.stack([lut_hue[hsv[..., 0]], lut_sat[hsv[..., 1]], lut_val[hsv[..., 2]]], -1)
    out = hsv2rgb_u8(mapped)
    return {
        "gains": r.tolist(),
        "luts": [lut_hue.tolist(), lut_sat.tolist(), lut_val.tolist()],
        "hsv": hsv.transpose(2, 0, 1).reshape(-1).tolist(),
        "image": out.transpose(2, 0, 1).reshape(-1).tolist(),
    }


def mosaic4(case):
    """Mosaic._mosaic4 + _update_labels + _cat_labels on tiles already through load_image."""
    rnd = Draws(case["draws"])
    s = case["imgsz"]
    border = (-s // 2, -s // 2)
    yc, xc = (int(rnd.uniform(-x, 2 * s + x)) for x in border)
    rnd.done()
    tiles, boxes, rects = case["tiles"], [], []
    img4 = None
    for i, tile in enumerate(tiles):
        img = np.array(tile["image"], dtype=np.uint8).reshape(tile["shape"]).transpose(1, 2, 0)
        h, w = img.shape[:2]
        if i == 0:
            img4 = np.full((s * 2, s * 2, img.shape[2]), 114, dtype=np.uint8)
            x1a, y1a, x2a, y2a = max(xc - w, 0), max(yc - h, 0), xc, yc
            x1b, y1b, x2b, y2b = w - (x2a - x1a), h - (y2a - y1a), w, h
        elif i == 1:
            x1a, y1a, x2a, y2a = xc, max(yc - h, 0), min(xc + w, s * 2), yc
            x1b, y1b, x2b, y2b = 0, h - (y2a - y1a), min(w, x2a - x1a), h
        elif i == 2:
            x1a, y1a, x2a, y2a = max(xc - w, 0), yc, xc, min(s * 2, yc + h)
            x1b, y1b, x2b, y2b = w - (x2a - x1a), 0, w, min(y2a - y1a, h)
        else:
            x1a, y1a, x2a, y2a = xc, yc, min(xc + w, s * 2), min(s * 2, yc + h)
            x1b, y1b, x2b, y2b = 0, 0, min(w, x2a - x1a), min(y2a - y1a, h)
        img4[y1a:y2a, x1a:x2a] = img[y1b:y2b, x1b:x2b]
        padw, padh = x1a - x1b, y1a - y1b
        rects.append({"placed": [x1a, y1a, x2a, y2a], "source": [x1b, y1b, x2b, y2b], "offset": [padw, padh]})
        boxes.append(np.array(tile["boxes"], dtype=np.float32).reshape(-1, 4) + np.array([padw, padh, padw, padh], dtype=np.float32))
    allb = np.concatenate(boxes, 0)
    allb[:, [0, 2]] = allb[:, [0, 2]].clip(0, 2 * s)
    allb[:, [1, 3]] = allb[:, [1, 3]].clip(0, 2 * s)
    good = (allb[:, 2] - allb[:, 0]) * (allb[:, 3] - allb[:, 1]) > 0
    return {"center": [xc, yc], "border": border[0], "rects": rects, "image": img4.transpose(2, 0, 1).reshape(-1).tolist(), "boxes": allb[good].astype(np.float64).tolist(), "kept": good.tolist()}


def load_sizes(case):
    """BaseDataset.load_image's resized [h, w] (rect_mode: long side to imgsz)."""
    s = case["imgsz"]
    out = []
    for h0, w0 in case["sizes"]:
        r = s / max(h0, w0)
        if r != 1:
            w, h = (min(math.ceil(w0 * r), s), min(math.ceil(h0 * r), s))
        else:
            h, w = h0, w0
        out.append([h, w])
    return {"sizes": out}


CMDS = {"perspective": random_perspective, "hsv": random_hsv, "mosaic": mosaic4, "load": load_sizes}

if __name__ == "__main__":
    request = read_request()
    reply({"results": [CMDS[c["cmd"]](c) for c in request["cases"]]})
