// Process-wide settings: seeds, threads, grad mode, devices, versions.
#include "bridge.h"
#include <torch/cuda.h>
#include <ATen/autocast_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <mutex>
#include <cstdlib>
#include <dlfcn.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
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

// cpuBf16Support() -> the facts torch.cpu.bf16Support() decides on (src/runtime.ts):
//   mkldnn      libtorch has oneDNN, whose kernels are the only fast CPU bf16 convolutions
//   onednnIsa   the ISA oneDNN dispatches on (dnnl_get_effective_cpu_isa, which already honours
//               ONEDNN_MAX_CPU_ISA and the OS's AVX-512/AMX state), or null where libtorch's
//               oneDNN is not a shared library this process can query (e.g. linked statically)
//   onednnIsaCode  its dnnl_cpu_isa_t value
//   avx512Bf16, amxBf16, amxTile  CPUID leaf 7 feature bits; osAvx512, osAmx  XCR0 state enabled
static Napi::Value cpuBf16Support(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    Napi::Object out = Napi::Object::New(env);
    out.Set("mkldnn", Napi::Boolean::New(env, at::hasMKLDNN()));
    Napi::Value isa = env.Null();
    Napi::Value isaCode = env.Null();
    for (const char* name : {"libdnnl.so.3", "libdnnl.so.2", "libdnnl.so", "libmkldnn.so.1", "libmkldnn.so.0"}) {
      // RTLD_NOLOAD: only the oneDNN libtorch already loaded, never another copy.
      void* lib = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
      if (!lib) continue;
      using IsaFn = int (*)();
      using IsaStrFn = const char* (*)(int);
      auto effective = reinterpret_cast<IsaFn>(dlsym(lib, "dnnl_get_effective_cpu_isa"));
      auto toString = reinterpret_cast<IsaStrFn>(dlsym(lib, "dnnl_cpu_isa2str"));
      if (effective) {
        int code = effective();
        isaCode = Napi::Number::New(env, code);
        const char* text = toString ? toString(code) : nullptr;
        isa = text ? Napi::String::New(env, text) : Napi::String::New(env, std::to_string(code));
      }
      dlclose(lib);
      if (effective) break;
    }
    out.Set("onednnIsa", isa);
    out.Set("onednnIsaCode", isaCode);
    bool avx512Bf16 = false, amxBf16 = false, amxTile = false, osAvx512 = false, osAmx = false;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid_max(0, nullptr) >= 7) {
      __cpuid_count(7, 0, a, b, c, d);
      amxBf16 = (d >> 22) & 1;
      amxTile = (d >> 24) & 1;
      unsigned maxSub = a;
      if (maxSub >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        avx512Bf16 = (a >> 5) & 1;
      }
    }
    __cpuid(1, a, b, c, d);
    if ((c >> 27) & 1) {  // OSXSAVE: XGETBV reads which register state the OS saves
      unsigned lo = 0, hi = 0;
      __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
      osAvx512 = (lo & 0xe6) == 0xe6;          // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
      osAmx = (lo & 0x60000) == 0x60000;       // XTILECFG, XTILEDATA
    }
#endif
    out.Set("avx512Bf16", Napi::Boolean::New(env, avx512Bf16));
    out.Set("amxBf16", Napi::Boolean::New(env, amxBf16));
    out.Set("amxTile", Napi::Boolean::New(env, amxTile));
    out.Set("osAvx512", Napi::Boolean::New(env, osAvx512));
    out.Set("osAmx", Napi::Boolean::New(env, osAmx));
    return out;
  });
}

// loadLibrary(path): dlopen a shared library into the process, as torch.ops.load_library does;
// its static initializers register operators (torchvision::roi_align, ...) into the dispatcher.
// RTLD_GLOBAL so libraries loaded later can bind to its symbols. dlopen of a loaded path is a no-op.
static Napi::Value loadLibrary(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    if (!info[0].IsString()) throw TypeErrorException("loadLibrary: path must be a string");
    std::string path = info[0].As<Napi::String>().Utf8Value();
    dlerror();
    if (!dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
      const char* why = dlerror();
      throw Napi::Error::New(env, "loadLibrary(" + path + "): " + (why ? why : "dlopen failed"));
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
  exports.Set("loadLibrary", Napi::Function::New(env, loadLibrary));
  exports.Set("getRngState", Napi::Function::New(env, getRngState));
  exports.Set("setRngState", Napi::Function::New(env, setRngState));
  exports.Set("setAutocast", Napi::Function::New(env, setAutocast));
  exports.Set("cpuBf16Support", Napi::Function::New(env, cpuBf16Support));
}

}  // namespace iris
