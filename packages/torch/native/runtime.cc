// Process-wide settings: seeds, threads, grad mode, devices, versions.
#include "bridge.h"
#include <torch/cuda.h>
#include <ATen/autocast_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <mutex>
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

// The default generator's state (CPU, or CUDA device N) as a uint8 tensor, as torch.get_rng_state;
// a training checkpoint saves it so a resumed run draws the same dropout masks.
static at::Generator generatorFor(const Napi::Value& device) {
  if (device.IsString()) {
    c10::Device d(device.As<Napi::String>().Utf8Value());
    if (d.is_cuda()) return at::globalContext().defaultGenerator(d);
  }
  return at::detail::getDefaultCPUGenerator();
}

static Napi::Value getRngState(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Generator gen = generatorFor(info[0]);
    std::lock_guard<std::mutex> lock(gen.mutex());
    return wrapTensor(env, gen.get_state());
  });
}

static Napi::Value setRngState(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Tensor& state = unwrapTensor(env, info[0], "setRngState");
    at::Generator gen = generatorFor(info[1]);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
    return env.Undefined();
  });
}

// setAutocast(deviceType 'cuda'|'cpu', enabled, dtypeCode) -> previous enabled state. Leaving the
// outermost autocast region clears its cast cache, as torch.autocast's __exit__ does.
static Napi::Value setAutocast(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    std::string device = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "cuda";
    bool enabled = info[1].ToBoolean().Value();
    bool cuda = device.rfind("cuda", 0) == 0;
    bool previous = cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
    if (enabled && info[2].IsNumber()) {
      auto dtype = static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value());
      if (cuda) at::autocast::set_autocast_gpu_dtype(dtype);
      else at::autocast::set_autocast_cpu_dtype(dtype);
    }
    if (cuda) at::autocast::set_enabled(enabled);
    else at::autocast::set_cpu_enabled(enabled);
    if (enabled && !previous) at::autocast::increment_nesting();
    if (!enabled && previous && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    return Napi::Boolean::New(env, previous);
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
  exports.Set("getRngState", Napi::Function::New(env, getRngState));
  exports.Set("setRngState", Napi::Function::New(env, setRngState));
  exports.Set("setAutocast", Napi::Function::New(env, setAutocast));
}

}  // namespace iris
