"""torchvision 0.14 side of the box-aware transforms tests (JSON on stdin, JSON on stdout).

Request: {"outDir": path, "cases": [{"inputs": {name: tensor}, "expr": python, "tape": [draw, ...]}]}.
Each expr is evaluated with the inputs bound to their names and F (torchvision.transforms.functional),
T (torchvision.transforms), I (InterpolationMode), ops (torchvision.ops), torch, R (the reference
transforms below) and V (transforms v2's box kernels below) in scope; its value comes back encoded.
Tensors cross as JSON {shape, dtype, data} or, when large, as raw files {file, shape, dtype}.

"tape" holds the random draws Iris made, in order: torch.rand, torch.randint, torch.randperm and
ColorJitter.get_params are patched to return them, so the references' sampling loops run on the
same draws (as float64, the precision of Iris's Rng) and must consume every one of them.

torchvision 0.14 installs neither references/detection/transforms.py nor transforms v2, so both are
re-implemented below from torchvision's source: the same statements, the sampled parameters passed in.
"""
import math
import os
import sys
import types

import numpy as np
import torch
import torchvision.ops as ops
import torchvision.transforms as T
import torchvision.transforms.functional as F
import torchvision.transforms.functional_tensor as FT
from torchvision.transforms import InterpolationMode as I

from iris_ref import DTYPES, NAMES, read_request, reply, to_json, from_json


# ---- the random draws ----------------------------------------------------------------------

class Tape:
    def __init__(self, draws):
        self.draws = list(draws)

    def pop(self, kind):
        if not self.draws:
            raise AssertionError(f"torchvision asked for a {kind} draw after Iris's last one")
        d = self.draws.pop(0)
        if d["k"] != kind:
            raise AssertionError(f"torchvision asked for a {kind} draw where Iris drew {d['k']} ({d})")
        return d

    def rand(self, *size, **kw):
        n = size[0][0] if isinstance(size[0], (tuple, list)) else size[0]
        return torch.tensor([self.pop("rand")["v"] for _ in range(n)], dtype=torch.float64)

    def randint(self, *a, **kw):
        if "high" in kw:
            low, high = kw.get("low", 0), kw["high"]
        elif len(a) >= 2 and not isinstance(a[1], (tuple, list)):
            low, high = a[0], a[1]
        else:
            low, high = 0, a[0]
        size = kw.get("size", a[-1] if a and isinstance(a[-1], (tuple, list)) else (1,))
        values = []
        for _ in range(int(np.prod(size))):
            d = self.pop("int")
            if (d["low"], d["high"]) != (low, high):
                raise AssertionError(f"torch.randint({low}, {high}) where Iris drew from [{d['low']}, {d['high']})")
            values.append(d["v"])
        return torch.tensor(values, dtype=torch.long).reshape(size)

    def randperm(self, n, **kw):
        d = self.pop("perm")
        if len(d["v"]) != n:
            raise AssertionError(f"torch.randperm({n}) where Iris drew a permutation of {len(d['v'])}")
        return torch.tensor(d["v"], dtype=torch.long)

    def uniform(self, low, high):
        d = self.pop("uniform")
        if abs(d["low"] - low) > 1e-12 or abs(d["high"] - high) > 1e-12:
            raise AssertionError(f"uniform({low}, {high}) where Iris drew from [{d['low']}, {d['high']})")
        return d["v"]


def color_jitter_params(tape):
    """T.ColorJitter.get_params of torchvision 0.14, its uniform_ draws taken from the tape."""
    def get_params(brightness, contrast, saturation, hue):
        fn_idx = torch.randperm(4)
        b = None if brightness is None else float(tape.uniform(brightness[0], brightness[1]))
        c = None if contrast is None else float(tape.uniform(contrast[0], contrast[1]))
        s = None if saturation is None else float(tape.uniform(saturation[0], saturation[1]))
        h = None if hue is None else float(tape.uniform(hue[0], hue[1]))
        return fn_idx, b, c, s, h
    return staticmethod(get_params)


class patched:
    def __init__(self, tape):
        self.tape = tape

    def __enter__(self):
        self.saved = [(torch, "rand", torch.rand), (torch, "randint", torch.randint), (torch, "randperm", torch.randperm),
                      (T.ColorJitter, "get_params", T.ColorJitter.__dict__["get_params"])]
        torch.rand, torch.randint, torch.randperm = self.tape.rand, self.tape.randint, self.tape.randperm
        T.ColorJitter.get_params = color_jitter_params(self.tape)

    def __exit__(self, *exc):
        for owner, name, value in self.saved:
            setattr(owner, name, value)


# ---- references/detection/transforms.py (v0.14) ---------------------------------------------

class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, image, target):
        for t in self.transforms:
            image, target = t(image, target)
        return image, target


class RandomHorizontalFlip(T.RandomHorizontalFlip):
    def forward(self, image, target=None):
        if torch.rand(1) < self.p:
            image = F.hflip(image)
            if target is not None:
                _, _, width = F.get_dimensions(image)
                target["boxes"][:, [0, 2]] = width - target["boxes"][:, [2, 0]]
        return image, target


class ConvertImageDtype(torch.nn.Module):
    def __init__(self, dtype):
        super().__init__()
        self.dtype = dtype

    def forward(self, image, target=None):
        return F.convert_image_dtype(image, self.dtype), target


def as_chw(image):
    if image.ndimension() not in {2, 3}:
        raise ValueError(f"image should be 2/3 dimensional. Got {image.ndimension()} dimensions.")
    return image.unsqueeze(0) if image.ndimension() == 2 else image


class RandomIoUCrop(torch.nn.Module):
    def __init__(self, min_scale=0.3, max_scale=1.0, min_aspect_ratio=0.5, max_aspect_ratio=2.0, sampler_options=None, trials=40):
        super().__init__()
        self.min_scale, self.max_scale = min_scale, max_scale
        self.min_aspect_ratio, self.max_aspect_ratio = min_aspect_ratio, max_aspect_ratio
        self.options = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0] if sampler_options is None else sampler_options
        self.trials = trials

    def forward(self, image, target=None):
        if target is None:
            raise ValueError("The targets can't be None for this transform.")
        image = as_chw(image)
        _, orig_h, orig_w = F.get_dimensions(image)
        while True:
            idx = int(torch.randint(low=0, high=len(self.options), size=(1,)))
            min_jaccard_overlap = self.options[idx]
            if min_jaccard_overlap >= 1.0:
                return image, target
            for _ in range(self.trials):
                r = self.min_scale + (self.max_scale - self.min_scale) * torch.rand(2)
                new_w = int(orig_w * r[0])
                new_h = int(orig_h * r[1])
                aspect_ratio = new_w / new_h
                if not (self.min_aspect_ratio <= aspect_ratio <= self.max_aspect_ratio):
                    continue
                r = torch.rand(2)
                left = int((orig_w - new_w) * r[0])
                top = int((orig_h - new_h) * r[1])
                right, bottom = left + new_w, top + new_h
                if left == right or top == bottom:
                    continue
                cx = 0.5 * (target["boxes"][:, 0] + target["boxes"][:, 2])
                cy = 0.5 * (target["boxes"][:, 1] + target["boxes"][:, 3])
                is_within_crop_area = (left < cx) & (cx < right) & (top < cy) & (cy < bottom)
                if not is_within_crop_area.any():
                    continue
                boxes = target["boxes"][is_within_crop_area]
                ious = ops.boxes.box_iou(boxes, torch.tensor([[left, top, right, bottom]], dtype=boxes.dtype, device=boxes.device))
                if ious.max() < min_jaccard_overlap:
                    continue
                target["boxes"] = boxes
                target["labels"] = target["labels"][is_within_crop_area]
                target["boxes"][:, 0::2] -= left
                target["boxes"][:, 1::2] -= top
                target["boxes"][:, 0::2].clamp_(min=0, max=new_w)
                target["boxes"][:, 1::2].clamp_(min=0, max=new_h)
                image = F.crop(image, top, left, new_h, new_w)
                return image, target


class RandomZoomOut(torch.nn.Module):
    def __init__(self, fill=None, side_range=(1.0, 4.0), p=0.5):
        super().__init__()
        self.fill = [0.0, 0.0, 0.0] if fill is None else fill
        self.side_range = side_range
        if side_range[0] < 1.0 or side_range[0] > side_range[1]:
            raise ValueError(f"Invalid canvas side range provided {side_range}.")
        self.p = p

    def forward(self, image, target=None):
        image = as_chw(image)
        if torch.rand(1) >= self.p:
            return image, target
        _, orig_h, orig_w = F.get_dimensions(image)
        r = self.side_range[0] + torch.rand(1) * (self.side_range[1] - self.side_range[0])
        canvas_width = int(orig_w * r)
        canvas_height = int(orig_h * r)
        r = torch.rand(2)
        left = int((canvas_width - orig_w) * r[0])
        top = int((canvas_height - orig_h) * r[1])
        right = canvas_width - (left + orig_w)
        bottom = canvas_height - (top + orig_h)
        image = F.pad(image, [left, top, right, bottom], fill=0)
        # The tensor path pads with 0, then paints the fill colour over the border.
        v = torch.tensor(self.fill, device=image.device, dtype=image.dtype).view(-1, 1, 1)
        image[..., :top, :] = image[..., :, :left] = image[..., (top + orig_h):, :] = image[..., :, (left + orig_w):] = v
        if target is not None:
            target["boxes"][:, 0::2] += left
            target["boxes"][:, 1::2] += top
        return image, target


class RandomPhotometricDistort(torch.nn.Module):
    def __init__(self, contrast=(0.5, 1.5), saturation=(0.5, 1.5), hue=(-0.05, 0.05), brightness=(0.875, 1.125), p=0.5):
        super().__init__()
        self._brightness = T.ColorJitter(brightness=brightness)
        self._contrast = T.ColorJitter(contrast=contrast)
        self._hue = T.ColorJitter(hue=hue)
        self._saturation = T.ColorJitter(saturation=saturation)
        self.p = p

    def forward(self, image, target=None):
        image = as_chw(image)
        r = torch.rand(7)
        if r[0] < self.p:
            image = self._brightness(image)
        contrast_before = r[1] < 0.5
        if contrast_before:
            if r[2] < self.p:
                image = self._contrast(image)
        if r[3] < self.p:
            image = self._saturation(image)
        if r[4] < self.p:
            image = self._hue(image)
        if not contrast_before:
            if r[5] < self.p:
                image = self._contrast(image)
        if r[6] < self.p:
            channels, _, _ = F.get_dimensions(image)
            permutation = torch.randperm(channels)
            image = image[..., permutation, :, :]
        return image, target


class ScaleJitter(torch.nn.Module):
    def __init__(self, target_size, scale_range=(0.1, 2.0), interpolation=I.BILINEAR):
        super().__init__()
        self.target_size, self.scale_range, self.interpolation = target_size, scale_range, interpolation

    def forward(self, image, target=None):
        image = as_chw(image)
        _, orig_height, orig_width = F.get_dimensions(image)
        scale = self.scale_range[0] + torch.rand(1) * (self.scale_range[1] - self.scale_range[0])
        r = min(self.target_size[1] / orig_height, self.target_size[0] / orig_width) * scale
        new_width = int(orig_width * r)
        new_height = int(orig_height * r)
        image = F.resize(image, [new_height, new_width], interpolation=self.interpolation)
        if target is not None:
            target["boxes"][:, 0::2] *= new_width / orig_width
            target["boxes"][:, 1::2] *= new_height / orig_height
        return image, target


class FixedSizeCrop(torch.nn.Module):
    def __init__(self, size, fill=0, padding_mode="constant"):
        super().__init__()
        size = tuple(T.transforms._setup_size(size, error_msg="Please provide only two dimensions (h, w) for size."))
        self.crop_height, self.crop_width = size
        self.fill = fill
        self.padding_mode = padding_mode

    def _pad(self, img, target, padding):
        pad_left, pad_top, pad_right, pad_bottom = padding
        if isinstance(self.fill, (int, float)) or self.padding_mode != "constant":
            img = F.pad(img, padding, self.fill if isinstance(self.fill, (int, float)) else 0, self.padding_mode)
        else:
            # A fill per channel, as the PIL path takes it (the tensor pad takes a number only).
            _, h, w = F.get_dimensions(img)
            out = torch.tensor(self.fill, dtype=img.dtype).view(-1, 1, 1).expand(img.shape[0], pad_top + h + pad_bottom, pad_left + w + pad_right).clone()
            out[:, pad_top:pad_top + h, pad_left:pad_left + w] = img
            img = out
        if target is not None:
            target["boxes"][:, 0::2] += pad_left
            target["boxes"][:, 1::2] += pad_top
        return img, target

    def _crop(self, img, target, top, left, height, width):
        img = F.crop(img, top, left, height, width)
        if target is not None:
            boxes = target["boxes"]
            boxes[:, 0::2] -= left
            boxes[:, 1::2] -= top
            boxes[:, 0::2].clamp_(min=0, max=width)
            boxes[:, 1::2].clamp_(min=0, max=height)
            is_valid = (boxes[:, 0] < boxes[:, 2]) & (boxes[:, 1] < boxes[:, 3])
            target["boxes"] = boxes[is_valid]
            target["labels"] = target["labels"][is_valid]
        return img, target

    def forward(self, img, target=None):
        _, height, width = F.get_dimensions(img)
        new_height = min(height, self.crop_height)
        new_width = min(width, self.crop_width)
        if new_height != height or new_width != width:
            offset_height = max(height - self.crop_height, 0)
            offset_width = max(width - self.crop_width, 0)
            r = torch.rand(1)
            top = int(offset_height * r)
            left = int(offset_width * r)
            img, target = self._crop(img, target, top, left, new_height, new_width)
        pad_bottom = max(self.crop_height - new_height, 0)
        pad_right = max(self.crop_width - new_width, 0)
        if pad_bottom != 0 or pad_right != 0:
            img, target = self._pad(img, target, [0, 0, pad_right, pad_bottom])
        return img, target


class RandomShortestSize(torch.nn.Module):
    def __init__(self, min_size, max_size, interpolation=I.BILINEAR):
        super().__init__()
        self.min_size = [min_size] if isinstance(min_size, int) else list(min_size)
        self.max_size = max_size
        self.interpolation = interpolation

    def forward(self, image, target=None):
        _, orig_height, orig_width = F.get_dimensions(image)
        min_size = self.min_size[torch.randint(len(self.min_size), (1,)).item()]
        r = min(min_size / min(orig_height, orig_width), self.max_size / max(orig_height, orig_width))
        new_width = int(orig_width * r)
        new_height = int(orig_height * r)
        image = F.resize(image, [new_height, new_width], interpolation=self.interpolation)
        if target is not None:
            target["boxes"][:, 0::2] *= new_width / orig_width
            target["boxes"][:, 1::2] *= new_height / orig_height
        return image, target


# references/detection/presets.py (v0.14), the PILToTensor steps dropped: the images are uint8 tensors already.
def DetectionPresetTrain(data_augmentation, hflip_prob=0.5, mean=(123.0, 117.0, 104.0)):
    tail = [RandomHorizontalFlip(p=hflip_prob), ConvertImageDtype(torch.float)]
    if data_augmentation == "hflip":
        return Compose(tail)
    if data_augmentation == "lsj":
        return Compose([ScaleJitter(target_size=(1024, 1024)), FixedSizeCrop(size=(1024, 1024), fill=list(mean))] + tail)
    if data_augmentation == "multiscale":
        return Compose([RandomShortestSize(min_size=(480, 512, 544, 576, 608, 640, 672, 704, 736, 768, 800), max_size=1333)] + tail)
    if data_augmentation == "ssd":
        return Compose([RandomPhotometricDistort(), RandomZoomOut(fill=list(mean)), RandomIoUCrop()] + tail)
    if data_augmentation == "ssdlite":
        return Compose([RandomIoUCrop()] + tail)
    raise ValueError(f'Unknown data augmentation policy "{data_augmentation}"')


def DetectionPresetEval():
    return Compose([ConvertImageDtype(torch.float)])


# ---- transforms v2's box kernels, written with torchvision 0.14's own helpers ---------------

def clamp_bounding_boxes(boxes, canvas_size):
    boxes = boxes.clone()
    boxes[..., 0::2].clamp_(min=0, max=canvas_size[1])
    boxes[..., 1::2].clamp_(min=0, max=canvas_size[0])
    return boxes


def resize_bounding_boxes(boxes, canvas_size, new_size):
    (old_h, old_w), (new_h, new_w) = canvas_size, new_size
    w_ratio, h_ratio = new_w / old_w, new_h / old_h
    ratios = torch.tensor([w_ratio, h_ratio, w_ratio, h_ratio], device=boxes.device)
    return boxes.mul(ratios).to(boxes.dtype)


def crop_bounding_boxes(boxes, top, left, height, width):
    boxes = boxes - torch.tensor([left, top, left, top], dtype=boxes.dtype, device=boxes.device)
    return clamp_bounding_boxes(boxes, (height, width))


def affine_bounding_boxes(boxes, canvas_size, angle, translate, scale, shear, center=None, expand=False, out_size=None):
    """_affine_bounding_boxes_with_expand; the canvas after expand is `out_size`, the rotated image's."""
    if boxes.numel() == 0:
        return boxes
    dtype = boxes.dtype
    height, width = canvas_size
    if center is None:
        center = [width * 0.5, height * 0.5]
    affine_vector = F._get_inverse_affine_matrix(center, angle, translate, scale, shear, inverted=False)
    transposed_affine_matrix = torch.tensor(affine_vector, dtype=dtype).reshape(2, 3).T
    points = boxes[:, [[0, 1], [2, 1], [2, 3], [0, 3]]].reshape(-1, 2)
    points = torch.cat([points, torch.ones(points.shape[0], 1, dtype=dtype)], dim=-1)
    transformed_points = torch.matmul(points, transposed_affine_matrix).reshape(-1, 4, 2)
    out_bboxes = torch.cat([torch.amin(transformed_points, dim=1), torch.amax(transformed_points, dim=1)], dim=1)
    if expand:
        points = torch.tensor([[0.0, 0.0, 1.0], [0.0, float(height), 1.0], [float(width), float(height), 1.0], [float(width), 0.0, 1.0]], dtype=dtype)
        tr = torch.amin(torch.matmul(points, transposed_affine_matrix), dim=0, keepdim=True)
        out_bboxes.sub_(tr.repeat((1, 2)))
        canvas_size = out_size
    return clamp_bounding_boxes(out_bboxes, canvas_size)


def hflip_boxes(boxes, width):
    """references' RandomHorizontalFlip on target["boxes"]."""
    boxes = boxes.clone()
    boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
    return boxes


def vflip_boxes(boxes, height):
    """v2's vertical_flip_bounding_boxes (xyxy)."""
    boxes = boxes.clone()
    boxes[:, [1, 3]] = height - boxes[:, [3, 1]]
    return boxes


def pad_boxes(boxes, left, top):
    """references' RandomZoomOut / FixedSizeCrop._pad on target["boxes"]."""
    boxes = boxes.clone()
    boxes[:, 0::2] += left
    boxes[:, 1::2] += top
    return boxes


def sanitize_mask(boxes, canvas_size, min_size=1.0, min_area=1.0):
    """SanitizeBoundingBoxes._get_valid_mask, its size test as torchvision.ops.remove_small_boxes."""
    keep = torch.zeros(boxes.shape[0], dtype=torch.bool)
    keep[ops.remove_small_boxes(boxes, min_size)] = True
    ws, hs = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    valid = keep & (ws * hs >= min_area) & (boxes >= 0).all(dim=-1)
    image_h, image_w = canvas_size
    valid &= (boxes[:, 0] <= image_w) & (boxes[:, 2] <= image_w)
    valid &= (boxes[:, 1] <= image_h) & (boxes[:, 3] <= image_h)
    return valid


# ---- Ultralytics' LetterBox arithmetic (ultralytics/data/augment.py), on tensors --------------

def letterbox(img, boxes, new_shape=(640, 640), auto=False, scale_fill=False, scaleup=True, center=True, stride=32, padding_value=114):
    shape = list(img.shape[-2:])
    if isinstance(new_shape, int):
        new_shape = (new_shape, new_shape)
    r = min(new_shape[0] / shape[0], new_shape[1] / shape[1])
    if not scaleup:
        r = min(r, 1.0)
    ratio = r, r
    new_unpad = round(shape[1] * r), round(shape[0] * r)
    dw, dh = new_shape[1] - new_unpad[0], new_shape[0] - new_unpad[1]
    if auto:
        dw, dh = np.mod(dw, stride), np.mod(dh, stride)
    elif scale_fill:
        dw, dh = 0.0, 0.0
        new_unpad = (new_shape[1], new_shape[0])
        ratio = new_shape[1] / shape[1], new_shape[0] / shape[0]
    if center:
        dw /= 2
        dh /= 2
    if shape[::-1] != list(new_unpad):
        # cv2.resize(INTER_LINEAR) in Ultralytics; here torchvision's bilinear resize, as Iris's.
        img = F.resize(img, [new_unpad[1], new_unpad[0]], interpolation=I.BILINEAR)
    top, bottom = round(dh - 0.1) if center else 0, round(dh + 0.1)
    left, right = round(dw - 0.1) if center else 0, round(dw + 0.1)
    img = F.pad(img, [int(left), int(top), int(right), int(bottom)], fill=padding_value)
    # Instances.scale then add_padding(left, top), in the boxes' float32.
    boxes = boxes * torch.tensor([ratio[0], ratio[1], ratio[0], ratio[1]], dtype=boxes.dtype)
    boxes = boxes + torch.tensor([left, top, left, top], dtype=boxes.dtype)
    return img, boxes, [float(ratio[0]), float(ratio[1])], [int(left), int(top)], [int(right), int(bottom)]


def scale_boxes(img1_shape, boxes, img0_shape, ratio_pad=None):
    """ultralytics.utils.ops.scale_boxes (xyxy, padding=True)."""
    if ratio_pad is None:
        gain = min(img1_shape[0] / img0_shape[0], img1_shape[1] / img0_shape[1])
        pad = (round((img1_shape[1] - img0_shape[1] * gain) / 2 - 0.1), round((img1_shape[0] - img0_shape[0] * gain) / 2 - 0.1))
    else:
        gain = ratio_pad[0][0]
        pad = ratio_pad[1]
    boxes = boxes.clone()
    boxes[..., 0] -= pad[0]
    boxes[..., 1] -= pad[1]
    boxes[..., 2] -= pad[0]
    boxes[..., 3] -= pad[1]
    boxes[..., :4] /= gain
    boxes[..., 0].clamp_(0, img0_shape[1])
    boxes[..., 1].clamp_(0, img0_shape[0])
    boxes[..., 2].clamp_(0, img0_shape[1])
    boxes[..., 3].clamp_(0, img0_shape[0])
    return boxes


# ---- plumbing ------------------------------------------------------------------------------

def pixel_boxes(img, values):
    """[x1, y1, x2 + 1, y2 + 1] of the pixels of `img` (the first channel) equal to each value, or None."""
    out = []
    plane = img[0]
    for v in values:
        ys, xs = torch.nonzero(plane == v, as_tuple=True)
        out.append(None if len(xs) == 0 else [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1])
    return out


def decode(value):
    if isinstance(value, dict) and "file" in value:
        raw = np.fromfile(value["file"], dtype=np.dtype(NP[value["dtype"]]))
        return torch.from_numpy(raw.copy()).reshape(value["shape"]).to(DTYPES[value["dtype"]])
    if isinstance(value, dict) and "dtype" in value and "data" in value:
        return from_json(value)
    return value


NP = {"float32": "float32", "float64": "float64", "uint8": "uint8", "int64": "int64", "bool": "bool"}
counter = [0]


def encode(value, out_dir):
    if isinstance(value, torch.Tensor):
        t = value.detach().contiguous()
        if t.numel() > 20000:
            counter[0] += 1
            path = os.path.join(out_dir, f"out{counter[0]}.bin")
            t.numpy().tofile(path)
            return {"file": path, "shape": list(t.shape), "dtype": NAMES[t.dtype]}
        return to_json(t)
    if isinstance(value, dict):
        return {k: encode(v, out_dir) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [encode(v, out_dir) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def main():
    req = read_request()
    out_dir = req["outDir"]
    R = types.SimpleNamespace(Compose=Compose, RandomHorizontalFlip=RandomHorizontalFlip, RandomIoUCrop=RandomIoUCrop, RandomZoomOut=RandomZoomOut,
                              RandomPhotometricDistort=RandomPhotometricDistort, ScaleJitter=ScaleJitter, FixedSizeCrop=FixedSizeCrop,
                              RandomShortestSize=RandomShortestSize, DetectionPresetTrain=DetectionPresetTrain, DetectionPresetEval=DetectionPresetEval,
                              letterbox=letterbox, scale_boxes=scale_boxes)
    V = types.SimpleNamespace(clamp_bounding_boxes=clamp_bounding_boxes, resize_bounding_boxes=resize_bounding_boxes, crop_bounding_boxes=crop_bounding_boxes,
                              affine_bounding_boxes=affine_bounding_boxes, sanitize_mask=sanitize_mask, hflip_boxes=hflip_boxes, vflip_boxes=vflip_boxes,
                              pad_boxes=pad_boxes)
    results = []
    for case in req["cases"]:
        ns = {"F": F, "FT": FT, "T": T, "I": I, "ops": ops, "torch": torch, "math": math, "R": R, "V": V, "pixel_boxes": pixel_boxes}
        ns.update({k: decode(v) for k, v in case.get("inputs", {}).items()})
        tape = Tape(case.get("tape", []))
        with patched(tape):
            value = eval(case["expr"], ns)
        if tape.draws:
            raise AssertionError(f"{case['expr']}: torchvision left {len(tape.draws)} of Iris's draws unused, the first {tape.draws[0]}")
        results.append(encode(value, out_dir))
    reply(results)


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    main()
