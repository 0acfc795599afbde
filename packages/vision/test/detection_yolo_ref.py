"""PyTorch side of detection-yolo.test.ts: Ultralytics' YOLOv8 / YOLO11 modules and parse_model,
written in Python from Ultralytics' definitions (ultralytics/nn/modules/conv.py, block.py, head.py,
nn/tasks.py; the package itself is not installable here), run on Debian's PyTorch 1.13.

The request is {"cmds": [...]}; the reply maps each command to its answer.
  {"cmd": "structure", "names": [...]} -> per model (80 classes): parameter count and state-dict keys/shapes
  {"cmd": "forward", "dir": d, "cases": [{"id", "name", "nc", "input", "seed"}]}
      -> d/<id>.pt (state dict, random BN statistics) and d/<id>-io.pt ({input, out0, out1, out2}, eval mode)
  {"cmd": "train_step", "dir": d, "name", "nc", "input", "seed"}
      -> d/train-init.pt (weights), d/train-out.pt (input, loss, train-mode outputs, gradients, state after)
  {"cmd": "dfl", "dir": d, "shape": [b, 4 * 16, a]} -> d/dfl-io.pt ({input, output}) of DFL(16)
"""
import math
import os

import torch
import torch.nn as nn

from iris_ref import read_request, reply


def autopad(k):
    return k // 2


class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1, g=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k), groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class DWConv(Conv):
    def __init__(self, c1, c2, k=1, s=1, act=True):
        super().__init__(c1, c2, k, s, g=math.gcd(c1, c2), act=act)


class Bottleneck(nn.Module):
    def __init__(self, c1, c2, shortcut=True, g=1, k=(3, 3), e=0.5):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, k[0], 1)
        self.cv2 = Conv(c_, c2, k[1], 1, g=g)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        return x + self.cv2(self.cv1(x)) if self.add else self.cv2(self.cv1(x))


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=False, g=1, e=0.5):
        super().__init__()
        self.c = int(c2 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, self.c, shortcut, g, k=(3, 3), e=1.0) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class C3(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=True, g=1, e=0.5):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c1, c_, 1, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, k=(1, 3), e=1.0) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class C3k(C3):
    def __init__(self, c1, c2, n=1, shortcut=True, g=1, e=0.5, k=3):
        super().__init__(c1, c2, n, shortcut, g, e)
        c_ = int(c2 * e)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, k=(k, k), e=1.0) for _ in range(n)))


class C3k2(C2f):
    def __init__(self, c1, c2, n=1, c3k=False, e=0.5, g=1, shortcut=True):
        super().__init__(c1, c2, n, shortcut, g, e)
        self.m = nn.ModuleList(
            C3k(self.c, self.c, 2, shortcut, g) if c3k else Bottleneck(self.c, self.c, shortcut, g) for _ in range(n)
        )


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


class Attention(nn.Module):
    def __init__(self, dim, num_heads=8, attn_ratio=0.5):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.key_dim = int(self.head_dim * attn_ratio)
        self.scale = self.key_dim**-0.5
        h = dim + self.key_dim * num_heads * 2
        self.qkv = Conv(dim, h, 1, act=False)
        self.proj = Conv(dim, dim, 1, act=False)
        self.pe = Conv(dim, dim, 3, 1, g=dim, act=False)

    def forward(self, x):
        B, C, H, W = x.shape
        N = H * W
        q, k, v = self.qkv(x).view(B, self.num_heads, self.key_dim * 2 + self.head_dim, N).split(
            [self.key_dim, self.key_dim, self.head_dim], dim=2
        )
        attn = ((q.transpose(-2, -1) @ k) * self.scale).softmax(dim=-1)
        x = (v @ attn.transpose(-2, -1)).view(B, C, H, W) + self.pe(v.reshape(B, C, H, W))
        return self.proj(x)


class PSABlock(nn.Module):
    def __init__(self, c, attn_ratio=0.5, num_heads=4, shortcut=True):
        super().__init__()
        self.attn = Attention(c, attn_ratio=attn_ratio, num_heads=num_heads)
        self.ffn = nn.Sequential(Conv(c, c * 2, 1), Conv(c * 2, c, 1, act=False))
        self.add = shortcut

    def forward(self, x):
        x = x + self.attn(x) if self.add else self.attn(x)
        return x + self.ffn(x) if self.add else self.ffn(x)


class C2PSA(nn.Module):
    def __init__(self, c1, c2, n=1, e=0.5):
        super().__init__()
        assert c1 == c2
        self.c = int(c1 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv(2 * self.c, c1, 1)
        self.m = nn.Sequential(*(PSABlock(self.c, attn_ratio=0.5, num_heads=self.c // 64) for _ in range(n)))

    def forward(self, x):
        a, b = self.cv1(x).split((self.c, self.c), dim=1)
        return self.cv2(torch.cat((a, self.m(b)), 1))


class Concat(nn.Module):
    def __init__(self, d=1):
        super().__init__()
        self.d = d

    def forward(self, x):
        return torch.cat(x, self.d)


class DFL(nn.Module):
    def __init__(self, c1=16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)
        self.c1 = c1

    def forward(self, x):
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


class Detect(nn.Module):
    def __init__(self, nc, ch, legacy):
        super().__init__()
        self.nc, self.nl, self.reg_max = nc, len(ch), 16
        c2, c3 = max((16, ch[0] // 4, self.reg_max * 4)), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * self.reg_max, 1)) for x in ch)
        if legacy:
            self.cv3 = nn.ModuleList(nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for x in ch)
        else:
            self.cv3 = nn.ModuleList(
                nn.Sequential(
                    nn.Sequential(DWConv(x, x, 3), Conv(x, c3, 1)),
                    nn.Sequential(DWConv(c3, c3, 3), Conv(c3, c3, 1)),
                    nn.Conv2d(c3, nc, 1),
                )
                for x in ch
            )
        self.dfl = DFL(self.reg_max)

    def forward(self, x):
        return [torch.cat((self.cv2[i](x[i]), self.cv3[i](x[i])), 1) for i in range(self.nl)]


YOLOV8 = {
    "scales": {"n": [0.33, 0.25, 1024], "s": [0.33, 0.50, 1024], "m": [0.67, 0.75, 768], "l": [1.00, 1.00, 512], "x": [1.00, 1.25, 512]},
    "layers": [
        [-1, 1, "Conv", [64, 3, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 3, "C2f", [128, True]],
        [-1, 1, "Conv", [256, 3, 2]], [-1, 6, "C2f", [256, True]], [-1, 1, "Conv", [512, 3, 2]],
        [-1, 6, "C2f", [512, True]], [-1, 1, "Conv", [1024, 3, 2]], [-1, 3, "C2f", [1024, True]],
        [-1, 1, "SPPF", [1024, 5]],
        [-1, 1, "Upsample", [None, 2, "nearest"]], [[-1, 6], 1, "Concat", [1]], [-1, 3, "C2f", [512]],
        [-1, 1, "Upsample", [None, 2, "nearest"]], [[-1, 4], 1, "Concat", [1]], [-1, 3, "C2f", [256]],
        [-1, 1, "Conv", [256, 3, 2]], [[-1, 12], 1, "Concat", [1]], [-1, 3, "C2f", [512]],
        [-1, 1, "Conv", [512, 3, 2]], [[-1, 9], 1, "Concat", [1]], [-1, 3, "C2f", [1024]],
        [[15, 18, 21], 1, "Detect", ["nc"]],
    ],
}

YOLO11 = {
    "scales": {"n": [0.50, 0.25, 1024], "s": [0.50, 0.50, 1024], "m": [0.50, 1.00, 512], "l": [1.00, 1.00, 512], "x": [1.00, 1.50, 512]},
    "layers": [
        [-1, 1, "Conv", [64, 3, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 2, "C3k2", [256, False, 0.25]],
        [-1, 1, "Conv", [256, 3, 2]], [-1, 2, "C3k2", [512, False, 0.25]], [-1, 1, "Conv", [512, 3, 2]],
        [-1, 2, "C3k2", [512, True]], [-1, 1, "Conv", [1024, 3, 2]], [-1, 2, "C3k2", [1024, True]],
        [-1, 1, "SPPF", [1024, 5]], [-1, 2, "C2PSA", [1024]],
        [-1, 1, "Upsample", [None, 2, "nearest"]], [[-1, 6], 1, "Concat", [1]], [-1, 2, "C3k2", [512, False]],
        [-1, 1, "Upsample", [None, 2, "nearest"]], [[-1, 4], 1, "Concat", [1]], [-1, 2, "C3k2", [256, False]],
        [-1, 1, "Conv", [256, 3, 2]], [[-1, 13], 1, "Concat", [1]], [-1, 2, "C3k2", [512, False]],
        [-1, 1, "Conv", [512, 3, 2]], [[-1, 10], 1, "Concat", [1]], [-1, 2, "C3k2", [1024, True]],
        [[16, 19, 22], 1, "Detect", ["nc"]],
    ],
}

MODULES = {"Conv": Conv, "C2f": C2f, "C3k2": C3k2, "SPPF": SPPF, "C2PSA": C2PSA}


def make_divisible(x, divisor=8):
    return math.ceil(x / divisor) * divisor


class Model(nn.Module):
    """Ultralytics' parse_model and DetectionModel._predict_once, reduced to these layer lists."""

    def __init__(self, name, nc):
        super().__init__()
        family, scale = (YOLOV8, name[-1]) if name.startswith("yolov8") else (YOLO11, name[-1])
        depth, width, max_channels = family["scales"][scale]
        ch, layers, self.froms, self.save, legacy = [3], [], [], set(), True
        for i, (f, n, m, args) in enumerate(family["layers"]):
            n = max(round(n * depth), 1) if n > 1 else n
            if m in MODULES:
                c1, c2 = ch[f], make_divisible(min(args[0], max_channels) * width, 8)
                args = [c1, c2, *args[1:]]
                if m in ("C2f", "C3k2", "C2PSA"):
                    args.insert(2, n)
                    n = 1
                if m == "C3k2":
                    legacy = False
                    if scale in "mlx":
                        args[3] = True
                module = MODULES[m](*args)
            elif m == "Upsample":
                c2, module = ch[f], nn.Upsample(None, 2, "nearest")
            elif m == "Concat":
                c2, module = sum(ch[x] for x in f), Concat(1)
            else:
                c2, module = 0, Detect(nc, [ch[x] for x in f], legacy)
            self.save.update(x % (i or 1) for x in ([f] if isinstance(f, int) else f) if x != -1)
            layers.append(module)
            self.froms.append(f)
            if i == 0:
                ch = []
            ch.append(c2)
        self.model = nn.ModuleList(layers)

    def forward(self, x):
        y = []
        for m, f in zip(self.model, self.froms):
            if f != -1:
                x = y[f] if isinstance(f, int) else [x if j == -1 else y[j] for j in f]
            x = m(x)
            y.append(x)
        return x


def seeded_model(case):
    torch.manual_seed(case.get("seed", 0))
    model = Model(case["name"], case["nc"])
    # Random BatchNorm statistics and affine parameters, so eval mode exercises them.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    return model


def structure(request):
    out = {}
    for name in request["names"]:
        model = Model(name, 80)
        out[name] = {
            "params": sum(p.numel() for p in model.parameters()),
            "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
        }
    return out


def forward(request):
    for case in request["cases"]:
        model = seeded_model(case).eval()
        x = torch.rand(case["input"], generator=torch.Generator().manual_seed(case.get("seed", 0) + 1))
        with torch.no_grad():
            outs = model(x)
        torch.save(model.state_dict(), os.path.join(request["dir"], case["id"] + ".pt"))
        torch.save({"input": x, **{f"out{i}": o for i, o in enumerate(outs)}}, os.path.join(request["dir"], case["id"] + "-io.pt"))
    return True


def train_step(request):
    model = seeded_model(request).train()
    torch.save(model.state_dict(), os.path.join(request["dir"], "train-init.pt"))
    x = torch.rand(request["input"], generator=torch.Generator().manual_seed(9))
    outs = model(x)
    # A loss touching every output: mean of squares per level.
    loss = sum(o.square().mean() for o in outs)
    loss.backward()
    grads = {"grad." + k: p.grad for k, p in model.named_parameters() if p.grad is not None}
    after = {"after." + k: v for k, v in model.state_dict().items()}
    torch.save({"input": x, "loss": loss.detach(), **{f"out{i}": o.detach() for i, o in enumerate(outs)}, **grads, **after},
               os.path.join(request["dir"], "train-out.pt"))
    return True


def dfl(request):
    x = torch.randn(request["shape"], generator=torch.Generator().manual_seed(5)) * 3
    with torch.no_grad():
        y = DFL(16)(x)
    torch.save({"input": x, "output": y}, os.path.join(request["dir"], "dfl-io.pt"))
    return True


if __name__ == "__main__":
    torch.set_num_threads(1)
    request = read_request()
    handlers = {"structure": structure, "forward": forward, "train_step": train_step, "dfl": dfl}
    reply({cmd["cmd"]: handlers[cmd["cmd"]](cmd) for cmd in request["cmds"]})
