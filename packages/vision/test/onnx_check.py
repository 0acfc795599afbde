"""ONNX's own checker (full check) and strict shape inference on exported files: reads
{"paths": [...]} on stdin, prints one verdict per file with the inferred output shapes."""
import json
import sys

import onnx


def check(path):
    try:
        onnx.checker.check_model(path, full_check=True)
        model = onnx.shape_inference.infer_shapes(onnx.load(path), check_type=True, strict_mode=True)
        outputs = [[d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output]
        return {"path": path, "ok": True, "outputs": outputs, "opset": model.opset_import[0].version}
    except Exception as e:  # the verdict names the problem; the test fails on it
        return {"path": path, "ok": False, "error": str(e)[:2000]}


request = json.load(sys.stdin)
print(json.dumps([check(p) for p in request["paths"]]))
