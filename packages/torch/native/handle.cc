#include "bridge.h"
#include <atomic>

namespace iris {

// Distinguishes our externals from any other napi External.
static const napi_type_tag kTensorTag = {0x6972697374656e73ULL, 0x6f72686e646c6531ULL};
static std::atomic<int64_t> liveTensors{0};

int64_t liveTensorCount() { return liveTensors.load(); }

// A basic finalizer: built with NAPI_EXPERIMENTAL, Node runs it inside GC instead of deferring
// it to a later event-loop turn, so a synchronous training loop does not pile up finalizers.
static void finalizeBox(node_api_basic_env, void* data, void*) {
  auto* box = static_cast<TensorBox*>(data);
  if (box->tensor.defined()) liveTensors--;
  delete box;
}

Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  auto* box = new TensorBox{std::move(tensor)};
  liveTensors++;
  napi_value value;
  napi_status status = napi_create_external(env, box, finalizeBox, nullptr, &value);
  if (status != napi_ok) {
    delete box;
    liveTensors--;
    throw Napi::Error::New(env, "could not create a tensor handle");
  }
  auto external = Napi::External<TensorBox>(env, value);
  external.TypeTag(&kTensorTag);
  return external;
}

bool isTensorHandle(Napi::Env env, const Napi::Value& value) {
  return value.IsExternal() && value.As<Napi::External<TensorBox>>().CheckTypeTag(&kTensorTag);
}

at::Tensor& unwrapTensor(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!isTensorHandle(env, value)) throw TypeErrorException(std::string(what) + ": expected a Tensor");
  auto* box = value.As<Napi::External<TensorBox>>().Data();
  if (!box->tensor.defined()) throw Napi::Error::New(env, std::string(what) + ": tensor was disposed");
  return box->tensor;
}

// Releases a handle's tensor now; later use of it throws "tensor was disposed".
static Napi::Value dispose(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    if (!isTensorHandle(env, info[0])) throw TypeErrorException("dispose: expected a Tensor");
    auto* box = info[0].As<Napi::External<TensorBox>>().Data();
    if (box->tensor.defined()) {
      box->tensor = at::Tensor();
      liveTensors--;
    }
    return env.Undefined();
  });
}

static Napi::Value isDisposed(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    if (!isTensorHandle(env, info[0])) throw TypeErrorException("isDisposed: expected a Tensor");
    return Napi::Boolean::New(env, !info[0].As<Napi::External<TensorBox>>().Data()->tensor.defined());
  });
}

static Napi::Value liveTensorsJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(liveTensorCount()));
}

void registerHandles(Napi::Env env, Napi::Object exports) {
  exports.Set("dispose", Napi::Function::New(env, dispose));
  exports.Set("isDisposed", Napi::Function::New(env, isDisposed));
  exports.Set("liveTensors", Napi::Function::New(env, liveTensorsJs));
}

}  // namespace iris
