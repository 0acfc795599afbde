"""Shared side of the parity tests: reads a JSON request on stdin, writes JSON on stdout.

Tensors cross as {"shape": [...], "dtype": "float32", "data": [flat values]}; float64 repr
round-trips exactly, so the only differences the tests see are the engines' own.
"""
import json
import sys

import torch

DTYPES = {
    "float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
    "bfloat16": torch.bfloat16, "int64": torch.int64, "int32": torch.int32,
    "int16": torch.int16, "int8": torch.int8, "uint8": torch.uint8, "bool": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}


def from_json(obj):
    dtype = DTYPES[obj["dtype"]]
    data = obj["data"]
    if dtype in (torch.float16, torch.bfloat16):
        t = torch.tensor(data, dtype=torch.float32).to(dtype)
    else:
        t = torch.tensor(data, dtype=dtype)
    return t.reshape(obj["shape"])


def to_json(t):
    t = t.detach().cpu()
    dtype = NAMES[t.dtype]
    flat = t.reshape(-1)
    if t.dtype in (torch.float16, torch.bfloat16):
        flat = flat.float()
    return {"shape": list(t.shape), "dtype": dtype, "data": flat.tolist()}


def read_request():
    return json.load(sys.stdin)


def reply(obj):
    json.dump(obj, sys.stdout)
