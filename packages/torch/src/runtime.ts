import { native } from './native.js';

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
