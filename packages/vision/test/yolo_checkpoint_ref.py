"""Python side of yolo-checkpoint.test.ts: writes Ultralytics-layout .pt files on Debian's PyTorch 1.13.

Ultralytics is not installable here, so a fake `ultralytics` package is put on sys.path whose classes
carry Ultralytics' module paths (ultralytics.nn.modules.conv.Conv, ..., ultralytics.nn.tasks.DetectionModel,
ultralytics.utils.IterableSimpleNamespace) and its attribute layout: the modules of
detection_yolo_ref.py, numbered layers in an nn.Sequential with i/f/type/np, Detect's stride and
anchors, one SiLU shared by every Conv, the yaml dict with scale and yaml_file. Checkpoints are the
dicts of ultralytics/engine/trainer.py save_model (last.pt: model None, EMA in half precision,
optimizer state) and of utils/torch_utils.py strip_optimizer (final: EMA moved to model, the rest None).

The request is {"dir": d, "cases": [...], "evil": bool}; the reply lists what was written.
  case {"id", "name", "nc", "style": "last"|"final"|"both", "half": bool, "seed", "protocol"?, "names"?}
      -> {"id", "names", "train_args", "epoch", "version"} as written, and files:
         d/<id>.pt, d/<id>-sd.pt (the saved tensors as a plain fp32 state dict: of ema, or of model when
         there is no ema), for "both" also d/<id>-model-sd.pt, and for fp32 files d/<id>-io.pt
         ({input, out0, out1, out2} of the eval-mode model)
  evil -> d/evil-*.pt, malicious pickles that would create d/MARKER when loaded by pickle
"""
import datetime
import os
import sys
import tempfile
import types

import torch
import torch.nn as nn

import detection_yolo_ref as ref
from iris_ref import read_request, reply

FAKE_MODULES = {
    "ultralytics.nn.modules.conv": ["Conv", "DWConv", "Concat"],
    "ultralytics.nn.modules.block": ["Bottleneck", "C2f", "C3", "C3k", "C3k2", "SPPF", "Attention", "PSABlock", "C2PSA", "DFL"],
    "ultralytics.nn.modules.head": ["Detect"],
}


class IterableSimpleNamespace(types.SimpleNamespace):
    """ultralytics.utils.IterableSimpleNamespace: the trainer's args, attached to the model as model.args."""


class Segment(ref.Detect):
    """A head outside YOLO detection, for the unknown-architecture case."""


class DetectionModel(nn.Module):
    """ultralytics.nn.tasks.DetectionModel's attributes around detection_yolo_ref's parse_model."""

    def __init__(self, name, nc):
        super().__init__()
        family = "yolov8" if name.startswith("yolov8") else "yolo11"
        spec = ref.YOLOV8 if family == "yolov8" else ref.YOLO11
        built = ref.Model(name, nc)
        layers = list(built.model)
        for i, (m, f) in enumerate(zip(layers, built.froms)):
            m.i, m.f, m.np = i, f, sum(p.numel() for p in m.parameters())
            m.type = f"{type(m).__module__}.{type(m).__name__}"
        self.model = nn.Sequential(*layers)
        self.save = sorted(built.save)
        rows = [[f, n, "nn.Upsample" if m == "Upsample" else m, list(args)] for f, n, m, args in spec["layers"]]
        backbone = 10 if family == "yolov8" else 11
        self.yaml = {"nc": nc, "scales": spec["scales"], "backbone": rows[:backbone], "head": rows[backbone:],
                     "scale": name[-1], "yaml_file": f"{family}{name[-1]}.yaml", "ch": 3}
        self.names = {i: f"{i}" for i in range(nc)}
        self.inplace = True
        self.end2end = False
        self.stride = torch.tensor([8.0, 16.0, 32.0])
        detect = self.model[-1]
        detect.no = nc + detect.reg_max * 4
        detect.stride = self.stride
        detect.legacy, detect.dynamic, detect.export, detect.shape, detect.format = family == "yolov8", False, False, None, None
        detect.anchors, detect.strides = torch.empty(0), torch.empty(0)
        detect.end2end, detect.max_det, detect.xyxy = False, 300, False
        # Conv.default_act is a class attribute, so every Conv holds the same SiLU (pickled once, then by memo).
        shared = nn.SiLU()
        for m in self.modules():
            if isinstance(m, ref.Conv) and isinstance(m.act, nn.SiLU):
                m.act = shared

    def forward(self, x):
        y = []
        for m in self.model:
            if m.f != -1:
                x = y[m.f] if isinstance(m.f, int) else [x if j == -1 else y[j] for j in m.f]
            x = m(x)
            y.append(x)
        return x


def install_fake_ultralytics(root):
    """Writes an empty ultralytics package under root, imports it, and moves the classes into it."""
    modules = {**FAKE_MODULES, "ultralytics.nn.tasks": [], "ultralytics.utils": []}
    for dotted in modules:
        parts = dotted.split(".")
        for depth in range(1, len(parts) + 1):
            path = os.path.join(root, *parts[:depth])
            os.makedirs(path, exist_ok=True)
            open(os.path.join(path, "__init__.py"), "a").close()
    sys.path.insert(0, root)
    import importlib

    for dotted, names in FAKE_MODULES.items():
        module = importlib.import_module(dotted)
        for name in names:
            cls = getattr(ref, name)
            cls.__module__ = dotted
            setattr(module, name, cls)
    extra = {"ultralytics.nn.tasks": [DetectionModel], "ultralytics.utils": [IterableSimpleNamespace], "ultralytics.nn.modules.head": [Segment]}
    for dotted, classes in extra.items():
        module = importlib.import_module(dotted)
        for cls in classes:
            cls.__module__ = dotted
            cls.__qualname__ = cls.__name__
            setattr(module, cls.__name__, cls)


def seeded(name, nc, seed):
    torch.manual_seed(seed)
    model = DetectionModel(name, nc)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.num_batches_tracked.fill_(seed * 100 + 7)
    return model


TRAIN_ARGS = {"task": "detect", "mode": "train", "model": "yolo11n.yaml", "data": "coco8.yaml", "epochs": 5, "imgsz": 640,
              "batch": 16, "lr0": 0.01, "optimizer": "auto", "mosaic": 1.0, "close_mosaic": 10, "save_dir": "runs/detect/train",
              "augmentations": None, "classes": None, "device": "cpu"}


def optimizer_state(model):
    """An SGD state with momentum buffers, fp16 as convert_optimizer_state_dict_to_fp16 leaves it."""
    params = [p for p in model.parameters() if p.requires_grad][:4]
    optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.937, nesterov=True)
    for p in params:
        p.grad = torch.ones_like(p)
    optimizer.step()
    for p in params:
        p.grad = None
    state = optimizer.state_dict()
    for s in state["state"].values():
        for k, v in s.items():
            if isinstance(v, torch.Tensor) and v.dtype == torch.float32:
                s[k] = v.half()
    return state


def checkpoint(case, request_dir):
    names = case.get("names") or [f"class{i}" for i in range(case["nc"])]
    train_args = {**TRAIN_ARGS, "model": f"{case['name']}.yaml"}
    ema = seeded(case["name"], case["nc"], case["seed"])
    ema.names = dict(enumerate(names))
    ema.nc = case["nc"]
    cast = (lambda m: m.half()) if case["half"] else (lambda m: m)
    meta = {"date": datetime.datetime(2024, 10, 1, 12, 0).isoformat(), "version": "8.3.0",
            "license": "AGPL-3.0 (https://ultralytics.com/license)", "docs": "https://docs.ultralytics.com"}
    if case["style"] == "last":
        ema.args = IterableSimpleNamespace(**train_args)
        ckpt = {"epoch": 4, "best_fitness": 0.4321, "model": None, "ema": cast(ema), "updates": 120,
                "optimizer": optimizer_state(ema), "scaler": {"scale": 65536.0, "growth_factor": 2.0},
                "train_args": train_args, "train_metrics": {"metrics/mAP50(B)": 0.5, "fitness": 0.4321},
                "train_results": {"epoch": [1, 2, 3, 4, 5], "train/box_loss": [1.5, 1.4, 1.3, 1.2, 1.1]},
                "git": {"root": None, "branch": None, "commit": None}, **meta}
        saved, model_saved = ema, None
    else:
        # strip_optimizer: the EMA becomes the model, args a plain dict, nothing trainable.
        ema.args = dict(train_args)
        for p in ema.parameters():
            p.requires_grad = False
        ckpt = {"epoch": -1, "best_fitness": None, "model": cast(ema), "ema": None, "updates": None,
                "optimizer": None, "train_args": train_args, **meta}
        saved, model_saved = ema, ema
        if case["style"] == "both":
            # Ultralytics 8.0's last.pt: the raw model and its EMA, each whole.
            raw = seeded(case["name"], case["nc"], case["seed"] + 50)
            raw.names, raw.args = ema.names, dict(train_args)
            ckpt.update({"epoch": 2, "model": cast(raw), "ema": cast(ema)})
            model_saved = raw
    path = os.path.join(request_dir, case["id"])
    torch.save(ckpt, path + ".pt", pickle_protocol=case.get("protocol", 2))
    torch.save({k: v.float() if v.is_floating_point() else v for k, v in saved.state_dict().items()}, path + "-sd.pt")
    if case["style"] == "both":
        torch.save({k: v.float() if v.is_floating_point() else v for k, v in model_saved.state_dict().items()}, path + "-model-sd.pt")
    if not case["half"]:
        x = torch.rand([1, 3, 64, 96], generator=torch.Generator().manual_seed(case["seed"] + 1))
        with torch.no_grad():
            outs = saved.eval()(x)
        torch.save({"input": x, **{f"out{i}": o for i, o in enumerate(outs)}}, path + "-io.pt")
    return {"id": case["id"], "names": names, "train_args": train_args, "epoch": ckpt["epoch"], "version": ckpt["version"]}


class System:
    """Unpickling this runs os.system (GLOBAL posix.system)."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class Eval:
    """Unpickling this runs eval (GLOBAL builtins.eval)."""

    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


def write_evil(request_dir):
    marker = os.path.join(request_dir, "MARKER")
    shell = f"touch {marker}"
    torch.save({"model": System(shell), "epoch": -1}, os.path.join(request_dir, "evil-system.pt"))
    torch.save({"model": Eval(f"open({marker!r}, 'w').close()")}, os.path.join(request_dir, "evil-eval.pt"))
    # A well-formed model with the payload deep inside one layer's attributes.
    model = seeded("yolov8n", 2, 0).half()
    model.model[3].conv.hook = System(shell)
    torch.save({"model": model, "ema": None, "train_args": {}}, os.path.join(request_dir, "evil-nested.pt"))


def write_bad(request_dir):
    """Files that are safe but wrong: an unknown head, a missing BatchNorm, an extra buffer, a plain state dict."""
    seg = seeded("yolo11n", 3, 0)
    detect = seg.model[-1]
    detect.__class__ = Segment
    torch.save({"model": seg.half(), "ema": None}, os.path.join(request_dir, "bad-segment.pt"))
    missing = seeded("yolo11n", 3, 0)
    missing.model[0].bn = nn.Identity()
    torch.save({"model": missing.half(), "ema": None}, os.path.join(request_dir, "bad-missing.pt"))
    extra = seeded("yolov8n", 3, 0)
    extra.model[22].register_buffer("extra", torch.zeros(3))
    torch.save({"model": extra.half(), "ema": None}, os.path.join(request_dir, "bad-extra.pt"))
    torch.save(seeded("yolov8n", 3, 0).state_dict(), os.path.join(request_dir, "bad-plain.pt"))


if __name__ == "__main__":
    torch.set_num_threads(1)
    request = read_request()
    with tempfile.TemporaryDirectory() as root:
        install_fake_ultralytics(root)
        written = [checkpoint(case, request["dir"]) for case in request["cases"]]
        if request.get("evil"):
            write_evil(request["dir"])
            write_bad(request["dir"])
    reply({"written": written})
