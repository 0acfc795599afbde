"""PyTorch side of the nn tests (nn-module.test.ts, nn-layers.test.ts).

Layers are built from Python expressions the tests send next to their Iris twins, after the same
torch.manual_seed, so default initialisation can be compared bit for bit.
"""
import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock

from iris_ref import read_request, reply, to_json, from_json


def state_json(module):
    return [[k, to_json(v)] for k, v in module.state_dict().items()]


class TinyResNet(nn.Module):
    """torchvision's ResNet with chosen widths and depths (same names, order and init)."""

    def __init__(self, widths, layers, num_classes):
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for i, (width, blocks) in enumerate(zip(widths, layers)):
            setattr(self, f"layer{i + 1}", self._make_layer(width, blocks, 1 if i == 0 else 2))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[-1], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        self.num_layers = len(widths)

    def _make_layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        for _ in range(1, blocks):
            layers.append(BasicBlock(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.num_layers):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


class Tied(nn.Module):
    """An embedding and an output layer sharing one weight, plus a non-persistent buffer."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(6, 4)
        self.head = nn.Linear(4, 6, bias=False)
        self.head.weight = self.embed.weight
        self.register_buffer("scale", torch.ones(4))
        self.register_buffer("cache", torch.zeros(2), persistent=False)


def run_layer(case):
    torch.manual_seed(case["seed"])
    module = eval(case["py"], {"nn": nn, "torch": torch})
    initial = state_json(module)
    x = from_json(case["x"])
    floating = x.is_floating_point()
    if floating:
        x.requires_grad_()
    module.train()
    torch.manual_seed(case["seed"] + 1)
    module(x * 1 if floating else x)
    y = module(x * 1 if floating else x)
    (y * from_json(case["w"])).sum().backward()
    grads = [[n, to_json(p.grad)] for n, p in module.named_parameters() if p.grad is not None]
    trained = state_json(module)
    module.eval()
    y_eval = module(x * 1 if floating else x)
    return {
        "repr": repr(module),
        "initial": initial,
        "yTrain": to_json(y),
        "grads": grads,
        "xGrad": to_json(x.grad) if floating else None,
        "trained": trained,
        "yEval": to_json(y_eval),
    }


def run_mha(case):
    torch.manual_seed(case["seed"])
    mha = eval(case["py"], {"nn": nn, "torch": torch})
    initial = state_json(mha)
    inference = case.get("inference", False)
    q = from_json(case["query"]).requires_grad_(not inference)
    k = q if case["selfAttention"] else from_json(case["key"]).requires_grad_(not inference)
    v = k if case["selfAttention"] or case["keyIsValue"] else from_json(case["value"]).requires_grad_(not inference)
    kwargs = {k2: from_json(v2) if isinstance(v2, dict) else v2 for k2, v2 in case["kwargs"].items()}
    mha.train(case["training"])
    torch.manual_seed(case["seed"] + 1)
    if inference:
        # no_grad + eval + batch-first self-attention: PyTorch takes its fused fast path.
        with torch.no_grad():
            out, weights = mha(q, k, v, **kwargs)
        return {
            "repr": repr(mha),
            "initial": initial,
            "out": to_json(out),
            "weights": to_json(weights) if weights is not None else None,
        }
    out, weights = mha(q, k, v, **kwargs)
    loss = (out * from_json(case["wOut"])).sum()
    if weights is not None:
        loss = loss + (weights * from_json(case["wWeights"])).sum()
    loss.backward()
    return {
        "repr": repr(mha),
        "initial": initial,
        "out": to_json(out),
        "weights": to_json(weights) if weights is not None else None,
        "qGrad": to_json(q.grad),
        "grads": [[n, to_json(p.grad)] for n, p in mha.named_parameters()],
    }


def run_init(req):
    out = {}
    for case in req["cases"]:
        torch.manual_seed(case["seed"])
        t = torch.empty(case["shape"])
        getattr(nn.init, case["fn"])(t, **case["kwargs"])
        out[case["name"]] = to_json(t)
    gains = {name: nn.init.calculate_gain(name, *args) for name, args in req["gains"]}
    fans = [list(nn.init._calculate_fan_in_and_fan_out(torch.empty(s))) for s in req["fanShapes"]]
    return {"tensors": out, "gains": gains, "fans": fans}


def tiny_resnet(req):
    torch.manual_seed(req["seed"])
    model = TinyResNet(req["widths"], req["layers"], req["numClasses"])
    result = {
        "initial": state_json(model),
        "namedModules": [name for name, _ in model.named_modules()],
        "namedParameters": [name for name, _ in model.named_parameters()],
        "namedBuffers": [name for name, _ in model.named_buffers()],
        "numParameters": sum(p.numel() for p in model.parameters()),
        "repr": repr(model),
    }
    x = from_json(req["x"])
    torch.manual_seed(req["seed"] + 1)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
    model.eval()
    result["trained"] = state_json(model)
    with torch.no_grad():
        result["yEval"] = to_json(model(x))
        result["yEvalDouble"] = to_json(model.double()(x.double()))
    return result


def legacy_batch_norm(req):
    """A trained tiny ResNet's state dict without num_batches_tracked (a pre-0.4.1 file), loaded by PyTorch.

    The dict is a plain one, so it has no _metadata and every BatchNorm sees version None: PyTorch
    fills the buffers with 0. The model it loads into has num_batches_tracked 5, so keeping the old
    value would show. Dropping a running_var too gives the keys PyTorch still reports missing.
    """
    torch.manual_seed(req["seed"])
    source = TinyResNet(req["widths"], req["layers"], req["numClasses"])
    x = from_json(req["x"])
    source.train()
    with torch.no_grad():
        for _ in range(3):
            source(x)
    stripped = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    model = TinyResNet(req["widths"], req["layers"], req["numClasses"])
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.num_batches_tracked.fill_(5)
    result = model.load_state_dict(stripped)
    model.eval()
    with torch.no_grad():
        y = model(x)
    broken = {k: v for k, v in stripped.items() if k != req["drop"]}
    strict_error = ""
    try:
        TinyResNet(req["widths"], req["layers"], req["numClasses"]).load_state_dict(broken)
    except RuntimeError as e:
        strict_error = str(e)
    loose = TinyResNet(req["widths"], req["layers"], req["numClasses"]).load_state_dict(broken, strict=False)
    return {
        "stateDict": [[k, to_json(v)] for k, v in stripped.items()],
        "missingKeys": list(result.missing_keys),
        "unexpectedKeys": list(result.unexpected_keys),
        "numBatchesTracked": {k: int(v) for k, v in model.state_dict().items() if k.endswith("num_batches_tracked")},
        "yEval": to_json(y),
        "brokenStrictError": strict_error,
        "brokenMissingKeys": list(loose.missing_keys),
    }


req = read_request()
op = req["op"]
if op == "layers":
    reply([run_layer(case) for case in req["cases"]])
elif op == "mha":
    reply([run_mha(case) for case in req["cases"]])
elif op == "init":
    reply(run_init(req))
elif op == "tinyResnet":
    reply(tiny_resnet(req))
elif op == "resnet18":
    model = torchvision.models.resnet18()
    reply({"keys": [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in model.state_dict().items()]})
elif op == "tied":
    torch.manual_seed(req["seed"])
    model = Tied()
    reply({
        "stateDict": state_json(model),
        "namedParameters": [n for n, _ in model.named_parameters()],
        "namedBuffers": [n for n, _ in model.named_buffers()],
    })
elif op == "legacyBatchNorm":
    reply(legacy_batch_norm(req))
else:
    raise ValueError(f"unknown op {op}")
