// One boxed entry point into libtorch's dispatcher: an op is resolved once by name to an id,
// then called with JS arguments converted by its schema. Autograd, autocast and device
// dispatch all happen inside the dispatcher, exactly as for Python.
#include "bridge.h"
#include <ATen/core/dispatch/Dispatcher.h>
#include <deque>

namespace iris {

struct ResolvedOp {
  c10::OperatorHandle handle;
  std::string name;
};

// A deque keeps element addresses stable as ops are resolved.
static std::deque<ResolvedOp> resolvedOps;

static const ResolvedOp& opById(const Napi::Value& id) {
  if (!id.IsNumber()) throw TypeErrorException("op id must be a number");
  uint32_t index = id.As<Napi::Number>().Uint32Value();
  if (index >= resolvedOps.size()) throw TypeErrorException("unknown op id " + std::to_string(index));
  return resolvedOps[index];
}

static Napi::Value resolveOp(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    if (!info[0].IsString()) throw TypeErrorException("resolveOp: name must be a string such as 'aten::add'");
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::string overload = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
    if (!handle) {
      throw Napi::Error::New(env, "libtorch has no operator " + name + (overload.empty() ? "" : "." + overload));
    }
    resolvedOps.push_back({*handle, name + (overload.empty() ? "" : "." + overload)});
    return Napi::Number::New(env, static_cast<double>(resolvedOps.size() - 1));
  });
}

static Napi::Value opSchema(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    std::ostringstream out;
    out << opById(info[0]).handle.schema();
    return Napi::String::New(env, out.str());
  });
}

// Fills the stack from info[first...]; missing trailing arguments take the schema's defaults.
static torch::jit::Stack buildStack(Napi::Env env, const ResolvedOp& op, const Napi::CallbackInfo& info, size_t first) {
  const auto& arguments = op.handle.schema().arguments();
  size_t given = info.Length() - first;
  if (given > arguments.size()) {
    throw TypeErrorException(op.name + ": takes " + std::to_string(arguments.size()) + " arguments, got " +
                             std::to_string(given));
  }
  torch::jit::Stack stack;
  stack.reserve(arguments.size());
  for (size_t i = 0; i < arguments.size(); i++) {
    const auto& arg = arguments[i];
    Napi::Value value = i < given ? info[first + i] : env.Undefined();
    if (value.IsUndefined() && arg.default_value()) {
      stack.push_back(*arg.default_value());
    } else if (value.IsUndefined() && arg.type()->kind() != c10::TypeKind::OptionalType) {
      throw TypeErrorException(op.name + ": missing argument '" + arg.name() + "' (" + arg.type()->str() + ")");
    } else {
      stack.push_back(toIValue(env, value, arg, op.name));
    }
  }
  return stack;
}

static Napi::Value stackResult(Napi::Env env, const torch::jit::Stack& stack) {
  if (stack.empty()) return env.Undefined();
  if (stack.size() == 1) return fromIValue(env, stack[0]);
  auto out = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, stack[i]));
  return out;
}

static Napi::Value callOp(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    const ResolvedOp& op = opById(info[0]);
    torch::jit::Stack stack = buildStack(env, op, info, 1);
    op.handle.callBoxed(&stack);
    return stackResult(env, stack);
  });
}

// Runs the op on libuv's thread pool; grad mode is thread-local, so the caller's is carried over.
class OpWorker : public Napi::AsyncWorker {
 public:
  OpWorker(Napi::Env env, const ResolvedOp& op, torch::jit::Stack stack)
      : Napi::AsyncWorker(env), op_(op), stack_(std::move(stack)), deferred_(Napi::Promise::Deferred::New(env)),
        gradEnabled_(at::GradMode::is_enabled()) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      at::AutoGradMode mode(gradEnabled_);
      op_.handle.callBoxed(&stack_);
    } catch (const c10::Error& e) {
      SetError(e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(stackResult(env, stack_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
    stack_.clear();
  }
  void OnError(const Napi::Error& e) override {
    stack_.clear();
    deferred_.Reject(e.Value());
  }

 private:
  const ResolvedOp& op_;
  torch::jit::Stack stack_;
  Napi::Promise::Deferred deferred_;
  bool gradEnabled_;
};

static Napi::Value callOpAsync(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    const ResolvedOp& op = opById(info[0]);
    auto* worker = new OpWorker(env, op, buildStack(env, op, info, 1));
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  });
}

void registerDispatch(Napi::Env env, Napi::Object exports) {
  exports.Set("resolveOp", Napi::Function::New(env, resolveOp));
  exports.Set("opSchema", Napi::Function::New(env, opSchema));
  exports.Set("callOp", Napi::Function::New(env, callOp));
  exports.Set("callOpAsync", Napi::Function::New(env, callOpAsync));
}

}  // namespace iris
