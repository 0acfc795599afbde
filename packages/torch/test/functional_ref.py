"""PyTorch side of functional.test.ts: evaluates each case's torch.nn.functional expression on
the same inputs, and the gradients of sum(output * weight) for the same weights."""
import math

import torch
import torch.nn.functional as F
from iris_ref import read_request, reply

from ops_ref import decode_tensor, encode_output, encode_tensor, flatten


def sdpa_reference(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """PyTorch 2's documented math for F.scaled_dot_product_attention (1.13 has no such function)."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal, scale=scale)
    L, S = query.size(-2), key.size(-2)
    scale_factor = 1 / math.sqrt(query.size(-1)) if scale is None else scale
    attn_bias = torch.zeros(L, S, dtype=query.dtype)
    if is_causal:
        temp_mask = torch.ones(L, S, dtype=torch.bool).tril(diagonal=0)
        attn_bias.masked_fill_(temp_mask.logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            attn_bias = attn_bias.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            attn_bias = attn_bias + attn_mask
    attn_weight = query @ key.transpose(-2, -1) * scale_factor
    attn_weight = attn_weight + attn_bias
    attn_weight = torch.softmax(attn_weight, dim=-1)
    attn_weight = torch.dropout(attn_weight, dropout_p, train=True)
    return attn_weight @ value


def run_case(case):
    tensors = {name: decode_tensor(t) for name, t in case["inputs"].items()}
    grad_inputs = [tensors[name].requires_grad_() for name in case["gradInputs"]]
    scope = {"F": F, "torch": torch, "sdpa": sdpa_reference, **tensors}
    torch.manual_seed(case["seed"])
    outputs = flatten(eval(case["expr"], scope))
    result = {
        "outputs": [encode_output(o) for o in outputs],
        "mutated": [encode_tensor(tensors[name]) for name in case["mutated"]],
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
        except Exception as e:  # reported per case
            results.append({"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"})
    reply({"results": results})


main()
