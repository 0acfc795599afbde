// Which precision a training run can use on its device: bf16 autocast on CPUs with native bf16
// (avx512_bf16 / AMX, per libtorch's oneDNN) and on CUDA, fp16 on CUDA only; fp32 otherwise, with
// the reason in one printable line.
import * as torch from '@iris/torch';

export type Precision = 'fp32' | 'bf16' | 'fp16';

export interface PrecisionPlan {
  /** What was asked for. */
  requested: Precision;
  /** What training runs in. */
  used: Precision;
  /** The autocast region the forward pass runs in, or null for fp32. */
  autocast: { deviceType: 'cpu' | 'cuda'; dtype: 'bfloat16' | 'float16' } | null;
  /** Why `used` is not `requested`, one line ready to print, e.g. "bf16 not supported on this CPU (no avx512_bf16/amx: ...): training in fp32". */
  fallback?: string;
}

const DTYPES = { bf16: 'bfloat16', fp16: 'float16' } as const;

/** The precision `requested` gets on `device` ('cpu' when omitted, 'cuda', 'cuda:N'). */
export function resolvePrecision(requested: Precision, device = 'cpu'): PrecisionPlan {
  if (!(requested === 'fp32' || requested === 'bf16' || requested === 'fp16')) {
    throw new RangeError(`precision must be 'fp32', 'bf16' or 'fp16', got '${requested}'`);
  }
  const fp32 = (fallback: string): PrecisionPlan => ({ requested, used: 'fp32', autocast: null, fallback: `${fallback}: training in fp32` });
  if (requested === 'fp32') return { requested, used: 'fp32', autocast: null };
  if (device.startsWith('cuda')) return { requested, used: requested, autocast: { deviceType: 'cuda', dtype: DTYPES[requested] } };
  if (device !== 'cpu') return fp32(`${requested} autocast runs on 'cpu' and 'cuda' devices, not '${device}'`);
  if (requested === 'fp16') return fp32("fp16 autocast needs CUDA (libtorch 1.13's CPU autocast runs bfloat16 only; use bf16)");
  const support = torch.cpu.bf16Support();
  if (!support.supported) return fp32(`bf16 not supported on this CPU (no avx512_bf16/amx: ${support.reason})`);
  return { requested, used: 'bf16', autocast: { deviceType: 'cpu', dtype: 'bfloat16' } };
}
