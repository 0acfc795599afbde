"""References for the detection data tests: COCO JSON written with Python's json, Pascal VOC XML
with xml.etree, YOLO data.yaml with PyYAML and label lines with '%.6f', images with PIL; the targets
torchvision's detection references would build from them; and Fashion-MNIST scene boxes redone
with torch.nn.functional.interpolate from the item the annotation names."""
import base64
import gzip
import json
import os
import sys
import xml.etree.ElementTree as ET

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from PIL import Image


def b64(array):
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def save_image(path, rng, width, height):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    with Image.open(path) as image:
        return b64(np.asarray(image.convert("RGB")))


def coco_target(anns, image_id, width, height, label_of):
    # torchvision references/detection/coco_utils.py ConvertCocoPolysToMask, crowd boxes kept.
    boxes = torch.as_tensor([a["bbox"] for a in anns], dtype=torch.float32).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    boxes[:, 0::2].clamp_(min=0, max=width)
    boxes[:, 1::2].clamp_(min=0, max=height)
    keep = (boxes[:, 3] > boxes[:, 1]) & (boxes[:, 2] > boxes[:, 0])
    kept = [a for a, k in zip(anns, keep.tolist()) if k]
    return {
        "boxes": boxes[keep].flatten().tolist(),
        "labels": [label_of[a["category_id"]] for a in kept],
        "area": [float(a["area"]) for a in kept],
        "iscrowd": [a["iscrowd"] for a in kept],
        "imageId": image_id,
    }


def write_coco(root, seed):
    rng = np.random.default_rng(seed)
    categories = [{"id": 1, "name": "cat", "supercategory": "animal"}, {"id": 3, "name": "dog", "supercategory": "animal"}, {"id": 7, "name": "bird", "supercategory": "animal"}]
    label_of = {1: 1, 3: 2, 7: 3}
    sizes = [(64, 48), (50, 70), (33, 33), (80, 40)]
    images, annotations, expected = [], [], []
    next_id = 100
    for i, (w, h) in enumerate(sizes):
        image_id = 10 + i
        name = f"img_{i}.png"
        pixels = save_image(os.path.join(root, "images", "train", name), rng, w, h)
        images.append({"id": image_id, "file_name": name, "width": w, "height": h, "license": 0})
        anns = []
        for k in range(0 if i == 2 else int(rng.integers(1, 5))):
            x, y = float(rng.uniform(0, w - 6)), float(rng.uniform(0, h - 6))
            bw, bh = float(rng.uniform(2, w - x)), float(rng.uniform(2, h - y))
            anns.append({"id": next_id, "image_id": image_id, "category_id": [1, 3, 7][int(rng.integers(0, 3))], "bbox": [x, y, bw, bh], "area": bw * bh * 0.7, "iscrowd": 1 if (i == 1 and k == 0) else 0, "segmentation": []})
            next_id += 1
        annotations += anns
        expected.append({"fileName": name, "width": w, "height": h, "pixels": pixels, **coco_target(anns, image_id, w, h, label_of)})
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    with open(os.path.join(root, "annotations", "train.json"), "w") as f:
        json.dump({"info": {}, "licenses": [], "images": images, "annotations": annotations, "categories": categories}, f, indent=1)
    return {"expected": expected, "classes": ["__background__", "cat", "dog", "bird"]}


VOC = ["aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"]


def write_voc(root, seed):
    rng = np.random.default_rng(seed)
    expected = {"train": [], "val": []}
    for split, count in (("train", 3), ("val", 2)):
        ids = []
        for i in range(count):
            stem = f"2007_{split}_{i:03d}"
            ids.append(stem)
            w, h = int(rng.integers(40, 90)), int(rng.integers(40, 90))
            name = f"{stem}.png"
            pixels = save_image(os.path.join(root, "JPEGImages", name), rng, w, h)
            ann = ET.Element("annotation")
            ET.SubElement(ann, "folder").text = "VOC2007"
            ET.SubElement(ann, "filename").text = name
            size = ET.SubElement(ann, "size")
            for tag, v in (("width", w), ("height", h), ("depth", 3)):
                ET.SubElement(size, tag).text = str(v)
            boxes, labels, difficult = [], [], []
            for k in range(int(rng.integers(1, 4))):
                xmin, ymin = int(rng.integers(1, w // 2)), int(rng.integers(1, h // 2))
                xmax, ymax = int(rng.integers(xmin + 2, w + 1)), int(rng.integers(ymin + 2, h + 1))
                cls = VOC[int(rng.integers(0, 20))]
                d = 1 if k == 1 else 0
                obj = ET.SubElement(ann, "object")
                ET.SubElement(obj, "name").text = cls
                ET.SubElement(obj, "pose").text = "Unspecified"
                ET.SubElement(obj, "truncated").text = "0"
                ET.SubElement(obj, "difficult").text = str(d)
                bb = ET.SubElement(obj, "bndbox")
                for tag, v in (("xmin", xmin), ("ymin", ymin), ("xmax", xmax), ("ymax", ymax)):
                    ET.SubElement(bb, tag).text = str(v)
                # detectron2's pascal_voc: 1-based inclusive pixel indices to pixel edges.
                boxes += [xmin - 1.0, ymin - 1.0, float(xmax), float(ymax)]
                labels.append(VOC.index(cls) + 1)
                difficult.append(d)
            os.makedirs(os.path.join(root, "Annotations"), exist_ok=True)
            ET.ElementTree(ann).write(os.path.join(root, "Annotations", f"{stem}.xml"))
            expected[split].append({"fileName": name, "width": w, "height": h, "pixels": pixels, "boxes": boxes, "labels": labels, "difficult": difficult})
        os.makedirs(os.path.join(root, "ImageSets", "Main"), exist_ok=True)
        with open(os.path.join(root, "ImageSets", "Main", f"{split}.txt"), "w") as f:
            f.write("".join(f"{i}\n" for i in ids))
    return {"expected": expected}


def write_yolo(root, seed, names_as_map):
    rng = np.random.default_rng(seed)
    names = ["shirt", "shoe", "bag"]
    expected = {"train": [], "val": []}
    for split, count in (("train", 4), ("val", 2)):
        for i in range(count):
            w, h = int(rng.integers(30, 100)), int(rng.integers(30, 100))
            name = f"{split}_{i}.png"
            pixels = save_image(os.path.join(root, "images", split, name), rng, w, h)
            boxes, labels, lines = [], [], []
            for _ in range(int(rng.integers(0, 4))):
                cls = int(rng.integers(0, 3))
                bw, bh = float(rng.uniform(0.05, 0.5)), float(rng.uniform(0.05, 0.5))
                cx, cy = float(rng.uniform(bw / 2, 1 - bw / 2)), float(rng.uniform(bh / 2, 1 - bh / 2))
                line = "%d %.6f %.6f %.6f %.6f" % (cls, cx, cy, bw, bh)
                lines.append(line)
                c, cx, cy, bw, bh = [float(v) for v in line.split()]
                # Ultralytics' xywhn2xyxy on the values as written.
                boxes += [w * (cx - bw / 2), h * (cy - bh / 2), w * (cx + bw / 2), h * (cy + bh / 2)]
                labels.append(int(c) + 1)
            if i != 1:  # image 1 of each split has no label file: a background image
                os.makedirs(os.path.join(root, "labels", split), exist_ok=True)
                with open(os.path.join(root, "labels", split, f"{split}_{i}.txt"), "w") as f:
                    f.write("\n".join(lines) + ("\n" if lines else ""))
            expected[split].append({"fileName": name, "width": w, "height": h, "pixels": pixels, "boxes": boxes if i != 1 else [], "labels": labels if i != 1 else []})
    data = {"path": ".", "train": "images/train", "val": "images/val", "names": dict(enumerate(names)) if names_as_map else names}
    with open(os.path.join(root, "data.yaml"), "w") as f:
        yaml.safe_dump(data, f)
    return {"expected": expected, "names": names}


def scene_check(root, split, fmnist, threshold, ramp, shade_base):
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(os.path.join(fmnist, f"{prefix}-images-idx3-ubyte.gz")) as f:
        items = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(fmnist, f"{prefix}-labels-idx1-ubyte.gz")) as f:
        item_labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    with open(os.path.join(root, "annotations", f"{split}.json")) as f:
        coco = json.load(f)
    files = {i["id"]: i["file_name"] for i in coco["images"]}
    pixels = {}
    out = []
    for a in coco["annotations"]:
        src = a["fashion_mnist"]
        x0, y0, w, h = src["rect"]
        v = F.interpolate(torch.from_numpy(items[src["index"]].astype(np.float32))[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0].numpy()
        mask = v > threshold
        ys, xs = np.nonzero(mask)
        box = [x0 + int(xs.min()), y0 + int(ys.min()), x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1]
        if a["image_id"] not in pixels:
            with Image.open(os.path.join(root, "images", split, files[a["image_id"]])) as image:
                pixels[a["image_id"]] = np.asarray(image.convert("RGB")).astype(np.float64)
        image = pixels[a["image_id"]]
        # Fully opaque item pixels must show the tinted item exactly (up to rounding).
        opaque = np.argwhere(v >= threshold + ramp)
        tint = np.array(src["tint"], dtype=np.float64)
        expected = tint[None, :] * (shade_base + (1 - shade_base) * v[opaque[:, 0], opaque[:, 1]][:, None] / 255)
        got = image[y0 + opaque[:, 0], x0 + opaque[:, 1]]
        worst = float(np.abs(got - expected).max()) if len(opaque) else 0.0
        xyxy = [a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
        out.append({"id": a["id"], "box": box, "annotated": xyxy, "area": int(mask.sum()), "annotatedArea": a["area"], "category": int(item_labels[src["index"]]) + 1, "annotatedCategory": a["category_id"], "opaque": len(opaque), "worstPixel": worst})
    return {"objects": out, "categories": coco["categories"], "images": len(coco["images"])}


def main():
    request = json.load(sys.stdin)
    cmd = request["cmd"]
    if cmd == "coco":
        result = write_coco(request["dir"], request["seed"])
    elif cmd == "voc":
        result = write_voc(request["dir"], request["seed"])
    elif cmd == "yolo":
        result = write_yolo(request["dir"], request["seed"], request["namesAsMap"])
    elif cmd == "scenes":
        result = scene_check(request["dir"], request["split"], request["fmnist"], request["threshold"], request["ramp"], request["shadeBase"])
    else:
        raise SystemExit(f"unknown cmd {cmd}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
