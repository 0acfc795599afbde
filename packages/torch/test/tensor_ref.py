from iris_ref import read_request, reply, to_json, from_json
import torch

req = read_request()
op = req["op"]
if op == "seeded":
    torch.manual_seed(42)
    a = torch.randn(3, 4)
    b = torch.rand(5)
    c = torch.randint(0, 10, (6,))
    reply({"randn": to_json(a), "rand": to_json(b), "randint": to_json(c)})
elif op == "promote":
    x = from_json(req["x"])
    reply({"div": to_json(x / 4)})
elif op == "grad":
    a = from_json(req["a"]).requires_grad_()
    b = from_json(req["b"]).requires_grad_()
    loss = (a @ b).tanh().mul(a).sum()
    loss.backward()
    reply({"loss": to_json(loss), "gradA": to_json(a.grad), "gradB": to_json(b.grad)})
elif op == "rngState":
    torch.manual_seed(123)
    reply({"state": to_json(torch.get_rng_state())})
elif op == "autocast":
    a = from_json(req["a"])
    b = from_json(req["b"])
    with torch.autocast("cpu"):
        out = a @ b
    reply({"out": to_json(out)})
