// Process-wide settings: seeds, threads, grad mode, devices, versions.
#include "bridge.h"
#include <torch/cuda.h>
#include <cstdlib>
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace iris {

void registerHandles(Napi::Env env, Napi::Object exports);

static Napi::Value manualSeed(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    if (!info[0].IsNumber() && !info[0].IsBigInt()) throw TypeErrorException("manualSeed: seed must be an integer");
    uint64_t seed = info[0].IsBigInt() ? info[0].As<Napi::BigInt>().Uint64Value(nullptr)
                                       : static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    torch::manual_seed(seed);
    return env.Undefined();
  });
}

static Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    if (!info[0].IsNumber() || info[0].As<Napi::Number>().Int32Value() < 1) {
      throw TypeErrorException("setNumThreads: expected a positive integer");
    }
    at::set_num_threads(info[0].As<Napi::Number>().Int32Value());
    return env.Undefined();
  });
}

static Napi::Value getNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

static Napi::Value isGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

// Returns the previous mode so JS can restore it in a finally block.
static Napi::Value setGradEnabled(const Napi::CallbackInfo& info) {
  bool previous = at::GradMode::is_enabled();
  at::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), previous);
}

static Napi::Value cudaIsAvailable(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value { return Napi::Boolean::New(env, torch::cuda::is_available()); });
}

static Napi::Value cudaDeviceCount(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    return Napi::Number::New(env, static_cast<double>(torch::cuda::device_count()));
  });
}

static Napi::Value cudaSynchronize(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    if (torch::cuda::is_available()) {
      // A tiny device-to-host copy waits for the current stream on every libtorch version.
      at::zeros({1}, at::TensorOptions().device(at::kCUDA)).cpu();
    }
    return env.Undefined();
  });
}

static Napi::Value version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TORCH_VERSION);
}

// JS frees a step's tensors when its scope ends rather than one by one during backward, so each
// step re-allocates its activations. With glibc's default thresholds those large blocks come from
// fresh mmaps and page faults every step (measured: ResNet-18 step 96 -> 78 ms on a 2-core VM).
// Keeping blocks up to 32 MiB in the heap avoids that. IRIS_MALLOC_DEFAULTS=1 opts out.
static void tuneMalloc() {
#ifdef __GLIBC__
  if (std::getenv("IRIS_MALLOC_DEFAULTS")) return;
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_")) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

void registerRuntime(Napi::Env env, Napi::Object exports) {
  tuneMalloc();
  registerHandles(env, exports);
  exports.Set("manualSeed", Napi::Function::New(env, manualSeed));
  exports.Set("setNumThreads", Napi::Function::New(env, setNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, getNumThreads));
  exports.Set("isGradEnabled", Napi::Function::New(env, isGradEnabled));
  exports.Set("setGradEnabled", Napi::Function::New(env, setGradEnabled));
  exports.Set("cudaIsAvailable", Napi::Function::New(env, cudaIsAvailable));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, cudaDeviceCount));
  exports.Set("cudaSynchronize", Napi::Function::New(env, cudaSynchronize));
  exports.Set("version", Napi::Function::New(env, version));
}

}  // namespace iris
