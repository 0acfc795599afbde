"""PyTorch side of ops-parity.test.ts: runs every case's op (aten's, or torchvision's for the
torch.ops.torchvision rows) through torch.ops with the same arguments Iris passed, and the
gradients of sum(output * weight) for the same weights.

Arguments arrive keyed by the schema's argument names; tensors as {"$t": index} into the
case's tensor list, dtypes and memory formats tagged, non-finite numbers as strings.
"""
import math

import torch
from iris_ref import DTYPES, from_json, read_request, reply, to_json

MEMORY_FORMATS = {
    "contiguous": torch.contiguous_format, "preserve": torch.preserve_format,
    "channelsLast": torch.channels_last, "channelsLast3d": torch.channels_last_3d,
}


def decode_number(v):
    return float(v) if isinstance(v, str) else v


def encode_number(v):
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def decode_tensor(obj):
    return from_json({**obj, "data": [decode_number(v) for v in obj["data"]]})


def encode_tensor(t):
    obj = to_json(t)
    obj["data"] = [encode_number(v) for v in obj["data"]]
    return obj


def decode_arg(value, tensors):
    if isinstance(value, list):
        return [decode_arg(v, tensors) for v in value]
    if isinstance(value, dict):
        if "$t" in value:
            return tensors[value["$t"]]
        if "$dtype" in value:
            return DTYPES[value["$dtype"]]
        if "$memoryFormat" in value:
            return MEMORY_FORMATS[value["$memoryFormat"]]
        if "$device" in value:
            return torch.device(value["$device"])
        if "$num" in value:
            return float(value["$num"])
        raise ValueError(f"unknown argument tag {value}")
    return value


def flatten(result):
    if result is None:  # an op that returns nothing (set_data): only its mutated inputs are compared
        return []
    if isinstance(result, (tuple, list)):
        return list(result)
    return [result]


def encode_output(value):
    if isinstance(value, torch.Tensor):
        return {"tensor": encode_tensor(value)}
    return {"scalar": encode_number(value)}


def run_case(case):
    tensors = [decode_tensor(t) for t in case["tensors"]]
    grad_inputs = [tensors[i].requires_grad_() for i in case["gradInputs"]]
    if case["namespace"] == "torchvision":
        import torchvision  # noqa: F401  (registers torch.ops.torchvision)
    packet = getattr(getattr(torch.ops, case["namespace"]), case["name"])
    op = getattr(packet, case["overload"] or "default")
    kwargs = {}
    for arg in op._schema.arguments:
        if arg.name in case["args"]:
            kwargs[arg.name] = decode_arg(case["args"][arg.name], tensors)
        elif isinstance(arg.type, torch.OptionalType):
            kwargs[arg.name] = None
    torch.manual_seed(case["seed"])
    outputs = flatten(op._op(**kwargs))
    result = {
        "outputs": [encode_output(o) for o in outputs],
        "requiresGrad": [isinstance(o, torch.Tensor) and o.requires_grad for o in outputs],
        "mutated": [encode_tensor(kwargs[name]) for name in case["mutated"]],
    }
    weighted = [(o, decode_tensor(w)) for o, w in zip(outputs, case["weights"]) if w is not None]
    if grad_inputs and weighted:
        loss = sum((o * w).sum() for o, w in weighted)
        grads = torch.autograd.grad(loss, grad_inputs, allow_unused=True)
        result["grads"] = [None if g is None else encode_tensor(g) for g in grads]
    return result


def main():
    torch.set_num_threads(1)
    results = []
    for case in read_request()["cases"]:
        try:
            results.append(run_case(case))
        except Exception as e:  # reported per case, so one failing op does not hide the rest
            results.append({"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"})
    reply({"results": results})


if __name__ == "__main__":
    main()
