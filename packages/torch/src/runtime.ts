import { native, type NativeBf16Facts } from './native.js';
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

/** Whether this CPU trains fast in bfloat16, and why (see `cpu.bf16Support`). */
export interface Bf16Support {
  supported: boolean;
  /** One line: what was found, e.g. "oneDNN ISA avx512_core_amx (CPU: avx512_bf16, amx_bf16)". */
  reason: string;
  /** 'onednn': asked libtorch's oneDNN which ISA it dispatches on; 'cpuid': read the CPU's feature bits (oneDNN not queryable). */
  source: 'onednn' | 'cpuid' | 'none';
  /** oneDNN's effective ISA, e.g. 'avx512_core_amx', or null where it could not be asked. */
  onednnIsa: string | null;
  /** The CPU's own feature bits (CPUID leaf 7), whatever the OS or oneDNN make of them. */
  avx512Bf16: boolean;
  amxBf16: boolean;
}

let bf16Cache: Bf16Support | undefined;

/** Decides from the addon's facts; exported for tests. */
export function decideBf16Support(f: NativeBf16Facts): Bf16Support {
  const base = { onednnIsa: f.onednnIsa?.replace(/^cpu_isa_/, '') ?? null, avx512Bf16: f.avx512Bf16, amxBf16: f.amxBf16 };
  const hardware = [f.avx512Bf16 && 'avx512_bf16', f.amxBf16 && 'amx_bf16'].filter(Boolean).join(', ') || 'neither avx512_bf16 nor amx_bf16';
  if (!f.mkldnn) {
    return { ...base, supported: false, source: 'none', reason: 'libtorch was built without oneDNN (MKLDNN), which has the only fast bf16 CPU convolutions' };
  }
  if (base.onednnIsa !== null) {
    // oneDNN names its ISAs avx512_core_bf16, avx512_core_amx, avx512_core_amx_fp16, avx10_1_512_amx...;
    // without a name (no dnnl_cpu_isa2str), dnnl_cpu_isa_t's bf16 bit (0x80) says the same.
    const isa = base.onednnIsa;
    const supported = /^\d+$/.test(isa) ? ((f.onednnIsaCode ?? 0) & 0x80) !== 0 : /bf16|amx/.test(isa);
    const capped = !supported && (f.avx512Bf16 || f.amxBf16) ? '; the CPU has them, so ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA or the OS must be holding oneDNN back' : '';
    return { ...base, supported, source: 'onednn', reason: `oneDNN ISA ${isa} (CPU: ${hardware}${capped})` };
  }
  const avx512 = f.avx512Bf16 && f.osAvx512;
  const amx = f.amxBf16 && f.amxTile && f.osAmx;
  const os = (f.avx512Bf16 && !f.osAvx512) || (f.amxBf16 && !f.osAmx) ? '; the OS does not enable that register state' : '';
  return { ...base, supported: avx512 || amx, source: 'cpuid', reason: `CPUID: ${hardware}${os}` };
}

/**
 * The CPU side, as `torch.cpu` / `torch.backends.mkldnn`. bfloat16 is "supported" where oneDNN
 * has bf16 dot-product instructions to run on (avx512_bf16 or AMX): only there do bf16 autocast and
 * channels-last make CPU training faster. Elsewhere bf16 still computes (oneDNN emulates it on
 * plain AVX-512, ATen falls back to slow reference kernels on AVX2), usually more slowly than fp32.
 */
export const cpu = {
  /** Whether bf16 autocast runs on native bf16 instructions here (avx512_bf16 or amx_bf16, per oneDNN). */
  isBf16Supported: (): boolean => cpu.bf16Support().supported,
  /** The decision with its evidence; asked once per process (oneDNN fixes its ISA at first use). */
  bf16Support: (): Bf16Support => (bf16Cache ??= decideBf16Support(native.cpuBf16Support())),
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
  // enabled: false turns an enclosing region off for fn (float32 losses and box decoding inside a bf16 forward), as in PyTorch.
  if (options.enabled === false) {
    if (autocastDepth[deviceType] === 0) return fn();
    const previous = native.setAutocast(deviceType, false);
    const depth = autocastDepth[deviceType];
    autocastDepth[deviceType] = 0;
    try {
      return fn();
    } finally {
      autocastDepth[deviceType] = depth;
      native.setAutocast(deviceType, previous);
    }
  }
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
