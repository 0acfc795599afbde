// The one exception bridge: every native entry point runs its body through `guarded`, so a
// libtorch error becomes a JS Error carrying libtorch's message and never aborts Node.
#pragma once
#include <napi.h>
#include <torch/torch.h>
#include <string>

namespace iris {

// A tensor owned by JS. `dispose` drops the reference at once; the finalizer is the safety net.
struct TensorBox {
  at::Tensor tensor;
};

// Thrown for wrong JS argument types; surfaces as a JS TypeError.
struct TypeErrorException : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F&& body) {
  Napi::Env env = info.Env();
  try {
    return body(env);
  } catch (const Napi::Error&) {
    throw;
  } catch (const TypeErrorException& e) {
    throw Napi::TypeError::New(env, e.what());
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

// Tensor handles: tagged externals, so a foreign object is refused rather than misread.
Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor);
bool isTensorHandle(Napi::Env env, const Napi::Value& value);
at::Tensor& unwrapTensor(Napi::Env env, const Napi::Value& value, const char* what);
int64_t liveTensorCount();

// JS <-> IValue by the schema's argument types.
c10::IValue toIValue(Napi::Env env, const Napi::Value& value, const c10::Argument& arg, const std::string& opName);
Napi::Value fromIValue(Napi::Env env, const c10::IValue& value);

void registerDispatch(Napi::Env env, Napi::Object exports);
void registerTensorFunctions(Napi::Env env, Napi::Object exports);
void registerRuntime(Napi::Env env, Napi::Object exports);

}  // namespace iris
