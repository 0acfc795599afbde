// What the dispatcher cannot do for us: bytes in and out, metadata, and autograd entry points.
#include "bridge.h"
#include <cstring>

namespace iris {

// Each function keeps its JS name in `fnName`, so errors name it (a lambda's __func__ would not).
#define IRIS_FN(name)                                                                  \
  static Napi::Value name##Body(const Napi::CallbackInfo& info, const char* fnName);   \
  static Napi::Value name(const Napi::CallbackInfo& info) { return name##Body(info, #name); } \
  static Napi::Value name##Body(const Napi::CallbackInfo& info, const char* fnName)
#define TENSOR(i) unwrapTensor(env, info[i], fnName)

static std::vector<int64_t> shapeArg(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw TypeErrorException(std::string(what) + ": shape must be an array of integers");
  auto array = v.As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value d = array.Get(i);
    if (!d.IsNumber()) throw TypeErrorException(std::string(what) + ": shape must be an array of integers");
    double x = d.As<Napi::Number>().DoubleValue();
    if (x < 0 || x != static_cast<double>(static_cast<int64_t>(x))) {
      throw TypeErrorException(std::string(what) + ": shape entries must be non-negative integers");
    }
    shape.push_back(static_cast<int64_t>(x));
  }
  return shape;
}

static at::ScalarType dtypeArg(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw TypeErrorException(std::string(what) + ": dtype code must be a number");
  return static_cast<at::ScalarType>(v.As<Napi::Number>().Int32Value());
}

static Napi::Array intArray(Napi::Env env, c10::IntArrayRef values) {
  auto out = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); i++) out.Set(static_cast<uint32_t>(i), static_cast<double>(values[i]));
  return out;
}

// fromBuffer(bytes: ArrayBufferView | ArrayBuffer, shape, dtypeCode) copies into a new CPU tensor.
IRIS_FN(fromBuffer) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    const uint8_t* data = nullptr;
    size_t length = 0;
    if (info[0].IsTypedArray()) {
      auto view = info[0].As<Napi::TypedArray>();
      data = static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
      length = view.ByteLength();
    } else if (info[0].IsDataView()) {
      auto view = info[0].As<Napi::DataView>();
      data = static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
      length = view.ByteLength();
    } else if (info[0].IsArrayBuffer()) {
      auto buffer = info[0].As<Napi::ArrayBuffer>();
      data = static_cast<const uint8_t*>(buffer.Data());
      length = buffer.ByteLength();
    } else {
      throw TypeErrorException("fromBuffer: expected a TypedArray, DataView or ArrayBuffer");
    }
    auto shape = shapeArg(info[1], "fromBuffer");
    auto dtype = dtypeArg(info[2], "fromBuffer");
    at::Tensor out = at::empty(shape, at::TensorOptions().dtype(dtype));
    size_t expected = out.numel() * out.element_size();
    if (expected != length) {
      throw Napi::RangeError::New(env, "fromBuffer: shape " + c10::str(out.sizes()) + " of " +
                                           std::string(c10::toString(dtype)) + " needs " + std::to_string(expected) +
                                           " bytes, got " + std::to_string(length));
    }
    if (length) std::memcpy(out.data_ptr(), data, length);
    return wrapTensor(env, out);
  });
}

// toBuffer(t) copies the tensor's values, in row-major order, into a new ArrayBuffer.
IRIS_FN(toBuffer) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Tensor t = TENSOR(0).detach().to(at::kCPU).contiguous();
    size_t bytes = t.numel() * t.element_size();
    auto buffer = Napi::ArrayBuffer::New(env, bytes);
    if (bytes) std::memcpy(buffer.Data(), t.data_ptr(), bytes);
    return buffer;
  });
}

IRIS_FN(shape) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value { return intArray(env, TENSOR(0).sizes()); });
}
IRIS_FN(strides) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value { return intArray(env, TENSOR(0).strides()); });
}
IRIS_FN(dtype) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    return Napi::Number::New(env, static_cast<int>(TENSOR(0).scalar_type()));
  });
}
IRIS_FN(device) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value { return Napi::String::New(env, TENSOR(0).device().str()); });
}
IRIS_FN(isContiguous) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    auto format = info[1].IsNumber() ? static_cast<at::MemoryFormat>(info[1].As<Napi::Number>().Int32Value())
                                     : at::MemoryFormat::Contiguous;
    return Napi::Boolean::New(env, TENSOR(0).is_contiguous(format));
  });
}
IRIS_FN(item) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Tensor& t = TENSOR(0);
    if (t.numel() != 1) {
      throw Napi::RangeError::New(env, "item: a tensor with " + std::to_string(t.numel()) +
                                           " elements cannot be converted to a number");
    }
    c10::Scalar s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
    return Napi::Number::New(env, s.toDouble());
  });
}

IRIS_FN(requiresGrad) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value { return Napi::Boolean::New(env, TENSOR(0).requires_grad()); });
}
IRIS_FN(setRequiresGrad) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    TENSOR(0).set_requires_grad(info[1].ToBoolean().Value());
    return env.Undefined();
  });
}
IRIS_FN(isLeaf) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value { return Napi::Boolean::New(env, TENSOR(0).is_leaf()); });
}
IRIS_FN(gradFn) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    const auto& fn = TENSOR(0).grad_fn();
    if (!fn) return env.Null();
    return Napi::String::New(env, fn->name());
  });
}
IRIS_FN(grad) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value { return wrapTensor(env, TENSOR(0).grad()); });
}
IRIS_FN(setGrad) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Tensor& t = TENSOR(0);
    if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad() = at::Tensor();
    else t.mutable_grad() = unwrapTensor(env, info[1], "setGrad");
    return env.Undefined();
  });
}
IRIS_FN(retainGrad) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    TENSOR(0).retain_grad();
    return env.Undefined();
  });
}

// backward(tensors[], grads[] (null entries allowed), retainGraph, createGraph)
IRIS_FN(backward) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    if (!info[0].IsArray() || !info[1].IsArray()) throw TypeErrorException("backward: expected arrays of tensors");
    auto outputsJs = info[0].As<Napi::Array>();
    auto gradsJs = info[1].As<Napi::Array>();
    std::vector<at::Tensor> outputs, grads;
    for (uint32_t i = 0; i < outputsJs.Length(); i++) {
      outputs.push_back(unwrapTensor(env, outputsJs.Get(i), "backward"));
      Napi::Value g = i < gradsJs.Length() ? gradsJs.Get(i) : env.Undefined();
      if (g.IsNull() || g.IsUndefined()) {
        if (outputs.back().numel() != 1) {
          throw Napi::Error::New(env, "backward: grad can be implicitly created only for scalar outputs; output " +
                                          std::to_string(i) + " has shape " + c10::str(outputs.back().sizes()) +
                                          ", pass a gradient of that shape");
        }
        grads.push_back(at::ones_like(outputs.back()));
      } else {
        grads.push_back(unwrapTensor(env, g, "backward"));
      }
    }
    c10::optional<bool> retain;
    if (info[2].IsBoolean()) retain = info[2].As<Napi::Boolean>().Value();
    bool create = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
    torch::autograd::backward(outputs, grads, retain, create);
    return env.Undefined();
  });
}

// grad(outputs[], inputs[], gradOutputs[], retainGraph, createGraph, allowUnused) -> grads
IRIS_FN(autogradGrad) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    auto list = [&](uint32_t i) {
      std::vector<at::Tensor> out;
      if (!info[i].IsArray()) return out;
      auto array = info[i].As<Napi::Array>();
      for (uint32_t k = 0; k < array.Length(); k++) {
        Napi::Value v = array.Get(k);
        out.push_back(v.IsNull() || v.IsUndefined() ? at::Tensor() : unwrapTensor(env, v, "grad"));
      }
      return out;
    };
    auto outputs = list(0), inputs = list(1), gradOutputs = list(2);
    c10::optional<bool> retain;
    if (info[3].IsBoolean()) retain = info[3].As<Napi::Boolean>().Value();
    bool create = info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
    bool allowUnused = info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
    auto grads = torch::autograd::grad(outputs, inputs, gradOutputs, retain, create, allowUnused);
    auto out = Napi::Array::New(env, grads.size());
    for (size_t i = 0; i < grads.size(); i++) out.Set(static_cast<uint32_t>(i), wrapTensor(env, grads[i]));
    return out;
  });
}

// Same storage and view: lets JS tell whether an in-place op returned its input.
IRIS_FN(isSame) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    return Napi::Boolean::New(env, TENSOR(0).is_same(unwrapTensor(env, info[1], "isSame")));
  });
}
IRIS_FN(nbytes) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Tensor& t = TENSOR(0);
    return Napi::Number::New(env, static_cast<double>(t.numel() * t.element_size()));
  });
}

void registerTensorFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("fromBuffer", Napi::Function::New(env, fromBuffer));
  exports.Set("toBuffer", Napi::Function::New(env, toBuffer));
  exports.Set("shape", Napi::Function::New(env, shape));
  exports.Set("strides", Napi::Function::New(env, strides));
  exports.Set("dtype", Napi::Function::New(env, dtype));
  exports.Set("device", Napi::Function::New(env, device));
  exports.Set("isContiguous", Napi::Function::New(env, isContiguous));
  exports.Set("item", Napi::Function::New(env, item));
  exports.Set("requiresGrad", Napi::Function::New(env, requiresGrad));
  exports.Set("setRequiresGrad", Napi::Function::New(env, setRequiresGrad));
  exports.Set("isLeaf", Napi::Function::New(env, isLeaf));
  exports.Set("gradFn", Napi::Function::New(env, gradFn));
  exports.Set("grad", Napi::Function::New(env, grad));
  exports.Set("setGrad", Napi::Function::New(env, setGrad));
  exports.Set("retainGrad", Napi::Function::New(env, retainGrad));
  exports.Set("backward", Napi::Function::New(env, backward));
  exports.Set("autogradGrad", Napi::Function::New(env, autogradGrad));
  exports.Set("isSame", Napi::Function::New(env, isSame));
  exports.Set("nbytes", Napi::Function::New(env, nbytes));
}

}  // namespace iris
