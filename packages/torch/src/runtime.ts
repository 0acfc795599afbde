import { native } from './native.js';
import { Tensor } from './tensor.js';
import { scalarTypeCode, type DType } from './dtype.js';

/** Seeds every libtorch generator (CPU and CUDA), as `torch.manual_seed` does. */
export function manualSeed(seed: number | bigint): void {
  native.manualSeed(seed);
}

/** Intra-op CPU threads, as `torch.set_num_threads`. */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

/** The libtorch version the addon was built against, e.g. '1.13.0'. */
export function libtorchVersion(): string {
  return native.version();
}

/** Tensors alive in libtorch and owned by JS (not yet disposed or collected); for leak tests. */
export function liveTensors(): number {
  return native.liveTensors();
}

export const cuda = {
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
  /** Waits for queued GPU work; a no-op without CUDA. */
  synchronize: (): void => native.cudaSynchronize(),
};

/** The default generator's state (a uint8 tensor), as `torch.get_rng_state()`; 'cuda:N' for a GPU's. */
export function getRngState(device = 'cpu'): Tensor {
  return new Tensor(native.getRngState(device));
}

/** Restores a state from `getRngState`, as `torch.set_rng_state()`. */
export function setRngState(state: Tensor, device = 'cpu'): void {
  native.setRngState(state.handle, device);
}

/**
 * Runs `fn` with automatic mixed precision, as `with torch.autocast(deviceType, dtype)`: matmuls
 * and convolutions run in `dtype` (bfloat16 by default; float16 on CUDA is common too).
 */
export function autocast<T>(deviceType: 'cuda' | 'cpu', fn: () => T, options: { dtype?: DType; enabled?: boolean } = {}): T {
  if (options.enabled === false) return fn();
  const dtype = options.dtype ?? (deviceType === 'cuda' ? 'float16' : 'bfloat16');
  const previous = native.setAutocast(deviceType, true, scalarTypeCode[dtype]);
  autocastDepth[deviceType]++;
  try {
    return fn();
  } finally {
    autocastDepth[deviceType]--;
    native.setAutocast(deviceType, previous);
  }
}

// Autocast regions are only entered through autocast(), so counting them here is exact.
const autocastDepth = { cuda: 0, cpu: 0 };

/** Whether code runs inside an autocast region for `deviceType` (either device when omitted). */
export function isAutocastEnabled(deviceType?: 'cuda' | 'cpu'): boolean {
  return deviceType ? autocastDepth[deviceType] > 0 : autocastDepth.cuda + autocastDepth.cpu > 0;
}
