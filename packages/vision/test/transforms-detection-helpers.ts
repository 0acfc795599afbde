// Shared by the box-aware transforms tests: synthetic detection samples, an Rng that records its
// draws for transforms_detection_ref.py to replay, and the tensor crossing to and from Python.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor, DType } from '@iris/torch';
import { Rng } from '../src/data/rng.js';
import type { DetectionSample } from '../src/transforms/index.js';
import { fromJson, runPython, tempDir, toJson, type JsonTensor } from './helpers/reference.js';

/** One draw of the Rng, in the order made; nested draws (int's own random()) are not listed. */
export type Draw =
  | { k: 'rand'; v: number }
  | { k: 'int'; v: number; low: number; high: number }
  | { k: 'uniform'; v: number; low: number; high: number }
  | { k: 'perm'; v: number[] };

/** An Rng that records what the transforms drew, for the reference to draw the same. */
export class TapeRng extends Rng {
  readonly draws: Draw[] = [];
  private depth = 0;

  private nested<T>(f: () => T, record: (v: T) => Draw): T {
    this.depth++;
    let v: T;
    try {
      v = f();
    } finally {
      this.depth--;
    }
    if (this.depth === 0) this.draws.push(record(v));
    return v;
  }

  override random(): number {
    const v = super.random();
    if (this.depth === 0) this.draws.push({ k: 'rand', v });
    return v;
  }

  override int(low: number, high: number): number {
    return this.nested(() => super.int(low, high), (v) => ({ k: 'int', v, low, high }));
  }

  override uniform(low: number, high: number): number {
    return this.nested(() => super.uniform(low, high), (v) => ({ k: 'uniform', v, low, high }));
  }

  override permutation(n: number): Int32Array {
    return this.nested(() => super.permutation(n), (v) => ({ k: 'perm', v: Array.from(v) }));
  }
}

export interface SceneOptions {
  height?: number;
  width?: number;
  boxes?: number;
  /** Box corners on whole pixels (default false: quarter pixels). */
  integer?: boolean;
  channels?: number;
}

/**
 * A seeded uint8 scene: noise, and solid rectangles whose xyxy boxes (float32) are the target,
 * with labels, area and iscrowd per box and an imageId.
 */
export function scene(seed: number, options: SceneOptions = {}): DetectionSample {
  const rng = new Rng(seed);
  const h = options.height ?? 48;
  const w = options.width ?? 64;
  const c = options.channels ?? 3;
  const n = options.boxes ?? 4;
  const pixels = new Uint8Array(c * h * w).map(() => rng.int(0, 256));
  const boxes: number[] = [];
  const snap = (x: number) => (options.integer ? Math.round(x) : Math.round(x * 4) / 4);
  for (let i = 0; i < n; i++) {
    const bw = rng.uniform(0.15, 0.5) * w;
    const bh = rng.uniform(0.15, 0.5) * h;
    const x1 = snap(rng.uniform(0, w - bw));
    const y1 = snap(rng.uniform(0, h - bh));
    const x2 = snap(x1 + bw);
    const y2 = snap(y1 + bh);
    boxes.push(x1, y1, x2, y2);
    const colour = Array.from({ length: c }, () => rng.int(0, 256));
    for (let y = Math.floor(y1); y < Math.ceil(y2); y++) for (let x = Math.floor(x1); x < Math.ceil(x2); x++) for (let k = 0; k < c; k++) pixels[(k * h + y) * w + x] = colour[k];
  }
  const area = Array.from({ length: n }, (_, i) => (boxes[4 * i + 2] - boxes[4 * i]) * (boxes[4 * i + 3] - boxes[4 * i + 1]));
  return {
    image: torch.tensor(pixels, { shape: [c, h, w] }),
    target: {
      boxes: torch.tensor(boxes, { dtype: 'float32', shape: [n, 4] }),
      labels: torch.tensor(Array.from({ length: n }, (_, i) => 1 + ((seed + i) % 5)), { dtype: 'int64' }),
      area: torch.tensor(area, { dtype: 'float32' }),
      iscrowd: torch.tensor(Array.from({ length: n }, (_, i) => (i === 1 ? 1 : 0)), { dtype: 'int64' }),
      imageId: seed,
    },
  };
}

export interface RawTensor {
  file: string;
  shape: number[];
  dtype: DType;
}

const RAW_ABOVE = 20000;

/** A tensor for the reference: JSON when small, a raw file in `dir` when large. */
export function encode(t: Tensor, dir: string, name: string): JsonTensor | RawTensor {
  if (t.numel() <= RAW_ABOVE) return toJson(t);
  const file = join(dir, `${name}.bin`);
  const c = t.contiguous();
  const data = c.dataSync();
  writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return { file, shape: t.shape, dtype: t.dtype };
}

/** A tensor from the reference's reply. */
export function decode(x: JsonTensor | RawTensor): Tensor {
  if ('file' in x) {
    const bytes = readFileSync(x.file);
    return torch.fromBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), x.shape, x.dtype);
  }
  return fromJson(x);
}

export interface RefCase {
  inputs?: Record<string, Tensor | number | number[] | string | null>;
  expr: string;
  tape?: Draw[];
}

/** Runs cases through transforms_detection_ref.py; tensors in the replies stay encoded (see decode). */
export function runRef<T = any>(cases: RefCase[]): T[] {
  const dir = tempDir();
  try {
    const request = {
      outDir: dir.path,
      cases: cases.map((c, i) => ({
        expr: c.expr,
        tape: c.tape ?? [],
        inputs: Object.fromEntries(Object.entries(c.inputs ?? {}).map(([k, v]) => [k, v instanceof torch.Tensor ? encode(v, dir.path, `in${i}-${k}`) : v])),
      })),
    };
    const replies = runPython<any[]>('transforms_detection_ref.py', request);
    // Raw replies are read now, before the folder goes.
    const materialise = (v: any): any => {
      if (v && typeof v === 'object' && 'file' in v && 'shape' in v) return toJson(decode(v));
      if (Array.isArray(v)) return v.map(materialise);
      if (v && typeof v === 'object' && !('data' in v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, materialise(x)]));
      return v;
    };
    return replies.map(materialise);
  } finally {
    dir.cleanup();
  }
}

/** The reference's sample dict for a target: boxes and labels (the references touch no other field). */
export function refInputs(sample: DetectionSample): { img: Tensor; boxes: Tensor; labels: Tensor } {
  return { img: sample.image, boxes: sample.target.boxes, labels: sample.target.labels };
}

/** Equal to the reference element for element (or within `atol` for floats), with the same dtype and shape. */
export function assertSameTensor(actual: Tensor, expected: JsonTensor, what: string, atol = 0): void {
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.toFlatArray();
  const e = expected.data;
  let worst = -1;
  let worstDiff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(Number(a[i]) - Number(e[i]));
    if (!(d <= atol) && !(d <= worstDiff)) {
      worst = i;
      worstDiff = Number.isNaN(d) ? Infinity : d;
    }
  }
  if (worst >= 0) assert.fail(`${what}: element ${worst} is ${a[worst]}, the reference has ${e[worst]} (|Δ| ${worstDiff}, tolerance ${atol})`);
}

/** Max |Δ| between a tensor and the reference's. */
export function maxDiff(actual: Tensor, expected: JsonTensor): number {
  const a = actual.toFlatArray();
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - expected.data[i])), 0);
}
