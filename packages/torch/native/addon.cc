#include "bridge.h"

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  iris::registerRuntime(env, exports);
  iris::registerTensorFunctions(env, exports);
  iris::registerDispatch(env, exports);
  return exports;
}

NODE_API_MODULE(iris_torch, init)
