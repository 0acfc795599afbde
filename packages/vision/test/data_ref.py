"""References for the data tests: PIL decoding, torchvision's dataset readers and folder scans,
CIFAR binary files written from known arrays, torch's random_split lengths."""
import base64
import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile

import numpy as np
from PIL import Image, ImageOps


def b64(array):
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def decode(files, mode):
    out = []
    for path in files:
        with Image.open(path) as image:
            pixels = np.asarray(ImageOps.exif_transpose(image).convert(mode))
        channels = 1 if pixels.ndim == 2 else pixels.shape[2]
        out.append({"width": pixels.shape[1], "height": pixels.shape[0], "channels": channels, "data": b64(pixels)})
    return out


def fashion(root):
    """torchvision.datasets.FashionMNIST over the Debian files, gunzipped into its raw/ layout."""
    from torchvision.datasets import FashionMNIST
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "FashionMNIST", "raw")
        os.makedirs(raw)
        for name in os.listdir(root):
            if name.endswith(".gz"):
                with gzip.open(os.path.join(root, name)) as src, open(os.path.join(raw, name[:-3]), "wb") as dst:
                    shutil.copyfileobj(src, dst)
        result = {}
        for split, train in (("train", True), ("test", False)):
            ds = FashionMNIST(tmp, train=train)
            data = ds.data.numpy()
            result[split] = {
                "length": len(ds),
                "shape": list(data.shape),
                "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
                "first": b64(data[0]),
                "firstLabel": int(ds.targets[0]),
                "labels": b64(ds.targets.numpy().astype(np.uint8)),
                "counts": np.bincount(ds.targets.numpy(), minlength=10).tolist(),
                "classes": ds.classes,
            }
        return result


def cifar(folder, kind, seed):
    """Writes CIFAR binary batches of random records; returns what a reader must find in them."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    if kind == 10:
        splits = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
        per_file, label_columns = 7, [("label", 10)]
    else:
        splits = {"train": ["train.bin"], "test": ["test.bin"]}
        per_file, label_columns = 23, [("coarse", 20), ("fine", 100)]
    result = {}
    for split, names in splits.items():
        labels = {name: [] for name, _ in label_columns}
        images = []
        for name in names:
            lab = [rng.integers(0, n, per_file, dtype=np.uint8) for _, n in label_columns]
            img = rng.integers(0, 256, (per_file, 3, 32, 32), dtype=np.uint8)
            records = np.concatenate([np.stack(lab, 1), img.reshape(per_file, -1)], 1)
            records.tofile(os.path.join(folder, name))
            for (col, _), values in zip(label_columns, lab):
                labels[col].append(values)
            images.append(img)
        images = np.concatenate(images)
        result[split] = {
            "length": len(images),
            "images": b64(images),
            "labels": {col: np.concatenate(v).tolist() for col, v in labels.items()},
        }
    return result


def folder_samples(root, extensions):
    from torchvision.datasets import DatasetFolder
    ds = DatasetFolder(root, loader=lambda p: p, extensions=tuple(extensions))
    return {"classes": ds.classes, "classToIdx": ds.class_to_idx, "samples": [[p, t] for p, t in ds.samples]}


def high_bytes_16(path):
    """A 16-bit gray PNG's samples >> 8 (PIL reads them as mode I;16 or I)."""
    with Image.open(path) as image:
        assert image.mode in ("I;16", "I"), image.mode
        samples = np.asarray(image).astype(np.int64)
        assert samples.max() < 65536 and samples.max() > 255
        return b64((samples >> 8).astype(np.uint8))


def split_lengths(n, fractions):
    import torch
    subsets = torch.utils.data.random_split(range(n), fractions, generator=torch.Generator().manual_seed(0))
    return [len(s) for s in subsets]


def reply(obj):
    json.dump(obj, sys.stdout)


def main():
    request = json.load(sys.stdin)
    command = request["command"]
    if command == "decode":
        reply(decode(request["files"], request["mode"]))
    elif command == "maxPixels":
        reply(Image.MAX_IMAGE_PIXELS)
    elif command == "highBytes16":
        reply(high_bytes_16(request["file"]))
    elif command == "fashion":
        reply(fashion(request["root"]))
    elif command == "cifar":
        reply(cifar(request["folder"], request["kind"], request["seed"]))
    elif command == "folder":
        reply(folder_samples(request["root"], request["extensions"]))
    elif command == "splitLengths":
        reply([split_lengths(n, f) for n, f in request["cases"]])
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
