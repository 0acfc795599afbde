// JS values to IValues, steered by the operator schema's declared argument type, so one generic
// entry point serves every ATen op.
#include "bridge.h"

namespace iris {

using c10::TypeKind;

static std::string where(const c10::Argument& arg, const std::string& opName) {
  return opName + ": argument '" + arg.name() + "'";
}

static int64_t toInt(const Napi::Value& v, const c10::Argument& arg, const std::string& opName) {
  if (v.IsBigInt()) {
    bool lossless = true;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  if (!v.IsNumber()) throw TypeErrorException(where(arg, opName) + " must be an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) {
    throw TypeErrorException(where(arg, opName) + " must be an integer, got " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

static double toDouble(const Napi::Value& v, const c10::Argument& arg, const std::string& opName) {
  if (v.IsBigInt()) {
    bool lossless = true;
    return static_cast<double>(v.As<Napi::BigInt>().Int64Value(&lossless));
  }
  if (!v.IsNumber()) throw TypeErrorException(where(arg, opName) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// A JS number is an integral Scalar when it has no fraction, as `2` is in Python: an int tensor
// plus 2 stays int, plus 2.5 promotes to float.
static c10::IValue toScalar(const Napi::Value& v, const c10::Argument& arg, const std::string& opName) {
  if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) return c10::IValue(toInt(v, arg, opName));
  if (!v.IsNumber()) throw TypeErrorException(where(arg, opName) + " must be a number or boolean");
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::isfinite(d) && d == std::trunc(d) && std::abs(d) < 9.0e15) return c10::IValue(static_cast<int64_t>(d));
  return c10::IValue(d);
}

static std::vector<int64_t> toIntList(const Napi::Value& v, const c10::Argument& arg, const std::string& opName) {
  std::vector<int64_t> out;
  if (v.IsNumber() || v.IsBigInt()) {
    // `int[2] stride=1` takes one number for every position, as in Python.
    size_t n = arg.N() ? *arg.N() : 1;
    out.assign(n, toInt(v, arg, opName));
    return out;
  }
  if (!v.IsArray()) throw TypeErrorException(where(arg, opName) + " must be an integer or an array of integers");
  auto array = v.As<Napi::Array>();
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) out.push_back(toInt(array.Get(i), arg, opName));
  return out;
}

static c10::IValue toList(Napi::Env env, const Napi::Value& v, const c10::Argument& arg, const c10::TypePtr& elem,
                          const std::string& opName) {
  switch (elem->kind()) {
    case TypeKind::IntType:
    case TypeKind::SymIntType:
      return c10::IValue(toIntList(v, arg, opName));
    case TypeKind::FloatType: {
      std::vector<double> out;
      if (v.IsNumber()) {
        out.assign(arg.N() ? *arg.N() : 1, toDouble(v, arg, opName));
      } else {
        if (!v.IsArray()) throw TypeErrorException(where(arg, opName) + " must be an array of numbers");
        auto array = v.As<Napi::Array>();
        for (uint32_t i = 0; i < array.Length(); i++) out.push_back(toDouble(array.Get(i), arg, opName));
      }
      return c10::IValue(out);
    }
    case TypeKind::BoolType: {
      if (!v.IsArray()) throw TypeErrorException(where(arg, opName) + " must be an array of booleans");
      auto array = v.As<Napi::Array>();
      c10::List<bool> out;
      for (uint32_t i = 0; i < array.Length(); i++) out.push_back(array.Get(i).ToBoolean().Value());
      return c10::IValue(out);
    }
    case TypeKind::TensorType: {
      if (!v.IsArray()) throw TypeErrorException(where(arg, opName) + " must be an array of Tensors");
      auto array = v.As<Napi::Array>();
      c10::List<at::Tensor> out;
      for (uint32_t i = 0; i < array.Length(); i++) {
        out.push_back(unwrapTensor(env, array.Get(i), where(arg, opName).c_str()));
      }
      return c10::IValue(out);
    }
    case TypeKind::OptionalType: {
      if (elem->expectRef<c10::OptionalType>().getElementType()->kind() != TypeKind::TensorType) break;
      if (!v.IsArray()) throw TypeErrorException(where(arg, opName) + " must be an array of Tensors or nulls");
      auto array = v.As<Napi::Array>();
      c10::List<c10::optional<at::Tensor>> out;
      for (uint32_t i = 0; i < array.Length(); i++) {
        Napi::Value item = array.Get(i);
        if (item.IsNull() || item.IsUndefined()) out.push_back(c10::nullopt);
        else out.push_back(unwrapTensor(env, item, where(arg, opName).c_str()));
      }
      return c10::IValue(out);
    }
    default:
      break;
  }
  throw TypeErrorException(where(arg, opName) + " has list type " + arg.type()->str() + ", which Iris cannot pass yet");
}

static c10::IValue toIValueOfType(Napi::Env env, const Napi::Value& v, const c10::Argument& arg,
                                  const c10::TypePtr& type, const std::string& opName) {
  switch (type->kind()) {
    case TypeKind::OptionalType:
      if (v.IsUndefined() || v.IsNull()) return c10::IValue();
      return toIValueOfType(env, v, arg, type->expectRef<c10::OptionalType>().getElementType(), opName);
    case TypeKind::TensorType:
      return c10::IValue(unwrapTensor(env, v, where(arg, opName).c_str()));
    case TypeKind::IntType:
    case TypeKind::SymIntType:
    case TypeKind::ScalarTypeType:
    case TypeKind::LayoutType:
    case TypeKind::MemoryFormatType:
      return c10::IValue(toInt(v, arg, opName));
    case TypeKind::FloatType:
      return c10::IValue(toDouble(v, arg, opName));
    case TypeKind::BoolType:
      if (!v.IsBoolean()) throw TypeErrorException(where(arg, opName) + " must be a boolean");
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case TypeKind::NumberType:
      return toScalar(v, arg, opName);
    case TypeKind::StringType:
      if (!v.IsString()) throw TypeErrorException(where(arg, opName) + " must be a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case TypeKind::DeviceObjType:
      if (!v.IsString()) throw TypeErrorException(where(arg, opName) + " must be a device string such as 'cpu' or 'cuda:0'");
      return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value()));
    case TypeKind::ListType:
      return toList(env, v, arg, type->expectRef<c10::ListType>().getElementType(), opName);
    case TypeKind::GeneratorType:
      if (v.IsUndefined() || v.IsNull()) return c10::IValue();
      throw TypeErrorException(where(arg, opName) + ": generators are not supported; use manualSeed");
    default:
      break;
  }
  throw TypeErrorException(where(arg, opName) + " has type " + type->str() + ", which Iris cannot pass yet");
}

c10::IValue toIValue(Napi::Env env, const Napi::Value& value, const c10::Argument& arg, const std::string& opName) {
  return toIValueOfType(env, value, arg, arg.type(), opName);
}

Napi::Value fromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return wrapTensor(env, v.toTensor());
  if (v.isNone()) return env.Undefined();
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    auto out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), wrapTensor(env, list.get(i)));
    return out;
  }
  if (v.isIntList()) {
    auto list = v.toIntVector();
    auto out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(list[i])));
    return out;
  }
  if (v.isDoubleList()) {
    auto list = v.toDoubleVector();
    auto out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, list[i]));
    return out;
  }
  if (v.isTuple()) {
    const auto& elements = v.toTupleRef().elements();
    auto out = Napi::Array::New(env, elements.size());
    for (size_t i = 0; i < elements.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, elements[i]));
    return out;
  }
  if (v.isList()) {
    auto list = v.toListRef();
    auto out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, list[i]));
    return out;
  }
  if (v.isScalar()) {
    auto s = v.toScalar();
    return Napi::Number::New(env, s.isIntegral(false) ? static_cast<double>(s.toLong()) : s.toDouble());
  }
  throw Napi::Error::New(env, "Iris cannot return a value of type " + v.tagKind());
}

}  // namespace iris
