"""Saves a small state dict with torch.save and as safetensors-equivalent JSON values."""
from iris_ref import read_request, reply, to_json
import torch

req = read_request()
torch.manual_seed(3)
sd = {
    "conv.weight": torch.randn(4, 3, 3, 3),
    "bn.num_batches_tracked": torch.tensor(7),
    "half": torch.randn(5).half(),
    "bf16": torch.randn(5).bfloat16(),
    "view": torch.arange(12.0).reshape(3, 4).t(),
}
torch.save({"model": sd, "epoch": 2}, req["path"])
reply({k: to_json(v) for k, v in sd.items()})
