"""torchvision 0.14's VisionTransformer as the reference for test/vit.test.ts.

Modes (request["mode"]):
  structure: param counts and state-dict key/shape lists of torchvision's ViT variants, and
    param counts of VisionTransformer(**config) for other configs.
  parity: builds VisionTransformer(**config) after torch.manual_seed(seed), saves its initial
    state dict, perturbs the zero/one-initialised tensors (head, norms, class token) so every
    parameter matters, saves the weights, a fixed input, the eval output, the head's input
    (pre-logits) and the outputs of the encoder layers in stageIndices.
  interpolate: interpolate_embeddings of a saved state dict to other image sizes, and the eval
    output of a model built for each size with the interpolated weights.
  timm: the parity weights renamed to timm's ViT layout (checked here by a timm-style forward
    that must reproduce torchvision's output) and to pre-0.13 torchvision MLP names.
"""
import re

import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.vision_transformer import VisionTransformer, interpolate_embeddings

from iris_ref import read_request, reply


def structure(names, configs):
    out = {"configParams": [sum(p.numel() for p in build(c).parameters()) for c in configs]}
    for name in names:
        model = getattr(torchvision.models, name)()
        out[name] = {
            "params": sum(p.numel() for p in model.parameters()),
            "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
        }
    return out


def build(config):
    return VisionTransformer(
        image_size=config["imageSize"],
        patch_size=config["patchSize"],
        num_layers=config["numLayers"],
        num_heads=config["numHeads"],
        hidden_dim=config["hiddenDim"],
        mlp_dim=config["mlpDim"],
        num_classes=config["numClasses"],
        representation_size=config.get("representationSize"),
    )


def perturb(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("heads") or name == "class_token":
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
            elif re.search(r"(ln_\d|\.ln)\.weight$", name):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif re.search(r"(ln_\d|\.ln)\.bias$|mlp\.\d\.bias$|in_proj_bias$|out_proj\.bias$", name):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def parity(req):
    config = req["config"]
    torch.manual_seed(req["seed"])
    model = build(config)
    torch.save(model.state_dict(), req["initPath"])
    perturb(model, torch.Generator().manual_seed(req["seed"] + 1))
    model.eval()
    x = torch.randn(2, 3, config["imageSize"], config["imageSize"], generator=torch.Generator().manual_seed(req["seed"] + 2))
    saved = {"input": x}
    layers = list(model.encoder.layers)
    for i in req.get("stageIndices", []):
        layers[i].register_forward_hook(lambda m, args, out, i=i: saved.__setitem__(f"stage_{i}", out))
    model.heads.head.register_forward_pre_hook(lambda m, args: saved.__setitem__("pre_logits", args[0]))
    with torch.no_grad():
        saved["output"] = model(x)
    torch.save(model.state_dict(), req["weightsPath"])
    torch.save(saved, req["ioPath"])
    return {"keys": list(model.state_dict().keys())}


def interpolate(req):
    config = req["config"]
    state = torch.load(req["weightsPath"])
    x_gen = torch.Generator().manual_seed(req["seed"])
    out = {}
    for size in req["imageSizes"]:
        resized = interpolate_embeddings(size, config["patchSize"], dict(state))
        model = build({**config, "imageSize": size})
        model.load_state_dict(resized)
        model.eval()
        x = torch.randn(2, 3, size, size, generator=x_gen)
        with torch.no_grad():
            out[f"output_{size}"] = model(x)
        out[f"input_{size}"] = x
        out[f"pos_embedding_{size}"] = resized["encoder.pos_embedding"]
    torch.save(out, req["outPath"])
    return {}


def torchvision_to_timm(key):
    block = re.match(r"encoder\.layers\.encoder_layer_(\d+)\.(.+)$", key)
    if block:
        i, rest = block.groups()
        rest = (rest.replace("ln_1.", "norm1.").replace("ln_2.", "norm2.")
                .replace("self_attention.in_proj_weight", "attn.qkv.weight")
                .replace("self_attention.in_proj_bias", "attn.qkv.bias")
                .replace("self_attention.out_proj.", "attn.proj.")
                .replace("mlp.0.", "mlp.fc1.").replace("mlp.3.", "mlp.fc2."))
        return f"blocks.{i}.{rest}"
    top = {"class_token": "cls_token", "encoder.pos_embedding": "pos_embed", "conv_proj.weight": "patch_embed.proj.weight",
           "conv_proj.bias": "patch_embed.proj.bias", "encoder.ln.weight": "norm.weight", "encoder.ln.bias": "norm.bias",
           "heads.head.weight": "head.weight", "heads.head.bias": "head.bias"}
    return top[key]


def timm_forward(sd, x, num_heads, patch_size):
    """timm's VisionTransformer.forward (class-token pooling), written against timm's key names."""
    x = F.conv2d(x, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=patch_size).flatten(2).transpose(1, 2)
    x = torch.cat([sd["cls_token"].expand(x.shape[0], -1, -1), x], dim=1) + sd["pos_embed"]
    depth = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
    for i in range(depth):
        p = lambda n: sd[f"blocks.{i}.{n}"]
        dim = x.shape[-1]
        y = F.layer_norm(x, (dim,), p("norm1.weight"), p("norm1.bias"), eps=1e-6)
        B, N, C = y.shape
        qkv = F.linear(y, p("attn.qkv.weight"), p("attn.qkv.bias")).reshape(B, N, 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = ((q * (C // num_heads) ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
        y = (attn @ v).transpose(1, 2).reshape(B, N, C)
        x = x + F.linear(y, p("attn.proj.weight"), p("attn.proj.bias"))
        y = F.layer_norm(x, (dim,), p("norm2.weight"), p("norm2.bias"), eps=1e-6)
        y = F.linear(F.gelu(F.linear(y, p("mlp.fc1.weight"), p("mlp.fc1.bias"))), p("mlp.fc2.weight"), p("mlp.fc2.bias"))
        x = x + y
    x = F.layer_norm(x, (x.shape[-1],), sd["norm.weight"], sd["norm.bias"], eps=1e-6)
    return F.linear(x[:, 0], sd["head.weight"], sd["head.bias"])


def timm(req):
    config = req["config"]
    state = torch.load(req["weightsPath"])
    io = torch.load(req["ioPath"])
    timm_state = {torchvision_to_timm(k): v for k, v in state.items()}
    with torch.no_grad():
        y = timm_forward(timm_state, io["input"], config["numHeads"], config["patchSize"])
    torch.save(timm_state, req["timmPath"])
    legacy = {re.sub(r"mlp\.0\.", "mlp.linear_1.", re.sub(r"mlp\.3\.", "mlp.linear_2.", k)): v for k, v in state.items()}
    # torchvision itself still reads these names (MLPBlock._load_from_state_dict, version < 2).
    model = build(config)
    model.load_state_dict(legacy)
    model.eval()
    with torch.no_grad():
        legacy_diff = (model(io["input"]) - io["output"]).abs().max().item()
    torch.save(legacy, req["legacyPath"])
    return {"timmMaxDiff": (y - io["output"]).abs().max().item(), "legacyMaxDiff": legacy_diff, "timmKeys": list(timm_state.keys())}


def main():
    req = read_request()
    torch.set_num_threads(2)
    mode = req["mode"]
    if mode == "structure":
        reply(structure(req["names"], req.get("configs", [])))
    elif mode == "parity":
        reply(parity(req))
    elif mode == "interpolate":
        reply(interpolate(req))
    elif mode == "timm":
        reply(timm(req))
    else:
        raise ValueError(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
