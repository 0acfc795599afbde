"""Reference for test/xception.test.ts: timm's legacy_xception re-stated compactly in PyTorch
(timm is not installed here), with timm's module names so state dicts are interchangeable.

Modes (request["mode"]):
  structure: parameter count and state-dict keys/shapes for 1000 classes.
  parity: builds the model after torch.manual_seed(seed) and saves its initial state dict;
    randomises the BatchNorm affine parameters and sets their running statistics from a
    training-mode batch (fresh ones are an identity in eval, and the signal would fade with
    depth); saves the weights, a fixed input, the eval output and timm's feature_info stage
    outputs (forward hooks).
"""
import torch
import torch.nn as nn

from iris_ref import read_request, reply


class SeparableConv2d(nn.Module):
    def __init__(self, cin, cout, k=1, stride=1, padding=0):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cin, k, stride, padding, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.conv1(x))


class Block(nn.Module):
    def __init__(self, cin, cout, reps, stride=1, start_with_relu=True, grow_first=True):
        super().__init__()
        self.skip = None
        if cout != cin or stride != 1:
            self.skip = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
            self.skipbn = nn.BatchNorm2d(cout)
        widths = [(cin if i == 0 else cout, cout) for i in range(reps)] if grow_first else \
            [(cin, cin if i < reps - 1 else cout) for i in range(reps)]
        layers = []
        for i, (a, b) in enumerate(widths):
            if i > 0 or start_with_relu:
                layers.append(nn.ReLU(inplace=i > 0))
            layers += [SeparableConv2d(a, b, 3, 1, 1), nn.BatchNorm2d(b)]
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride, 1))
        self.rep = nn.Sequential(*layers)

    def forward(self, x):
        skip = self.skipbn(self.skip(x)) if self.skip is not None else x
        return self.rep(x) + skip


class Xception(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, 2, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(32, 64, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.act2 = nn.ReLU(inplace=True)
        self.block1 = Block(64, 128, 2, 2, start_with_relu=False)
        self.block2 = Block(128, 256, 2, 2)
        self.block3 = Block(256, 728, 2, 2)
        for i in range(4, 12):
            setattr(self, f"block{i}", Block(728, 728, 3, 1))
        self.block12 = Block(728, 1024, 2, 2, grow_first=False)
        self.conv3 = SeparableConv2d(1024, 1536, 3, 1, 1)
        self.bn3 = nn.BatchNorm2d(1536)
        self.act3 = nn.ReLU(inplace=True)
        self.conv4 = SeparableConv2d(1536, 2048, 3, 1, 1)
        self.bn4 = nn.BatchNorm2d(2048)
        self.act4 = nn.ReLU(inplace=True)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()

    def forward(self, x):
        x = self.act2(self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x))))))
        for i in range(1, 13):
            x = getattr(self, f"block{i}")(x)
        x = self.act3(self.bn3(self.conv3(x)))
        x = self.act4(self.bn4(self.conv4(x)))
        return self.fc(self.global_pool(x).flatten(1))


FEATURE_MODULES = ["act2", "block2.rep.0", "block3.rep.0", "block12.rep.0", "act4"]


def parity(req):
    torch.manual_seed(req["seed"])
    model = Xception(req["numClasses"])
    torch.save(model.state_dict(), req["initPath"])
    gen = torch.Generator().manual_seed(req["seed"] + 1)
    size = req["imageSize"]
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.2 * torch.randn(m.num_features, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.num_features, generator=gen))
                m.momentum = None
        # Running statistics from one batch: the features stay input-dependent through the depth.
        model.train()
        model(torch.randn(8, 3, size, size, generator=gen))
    model.eval()
    x = torch.randn(2, 3, size, size, generator=gen)
    saved = {"input": x}
    modules = dict(model.named_modules())
    for name in FEATURE_MODULES:
        # The stem and last ReLUs work in place: record a copy before later layers touch it.
        modules[name].register_forward_hook(lambda m, args, out, name=name: saved.__setitem__(f"stage:{name}", out.clone()))
    with torch.no_grad():
        saved["output"] = model(x)
    torch.save(model.state_dict(), req["weightsPath"])
    torch.save(saved, req["ioPath"])
    return {}


def main():
    req = read_request()
    torch.set_num_threads(2)
    if req["mode"] == "structure":
        model = Xception(1000)
        reply({"params": sum(p.numel() for p in model.parameters()), "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()]})
    elif req["mode"] == "parity":
        reply(parity(req))
    else:
        raise ValueError(f"unknown mode {req['mode']}")


if __name__ == "__main__":
    main()
