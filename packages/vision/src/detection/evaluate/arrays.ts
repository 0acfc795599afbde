// Reads per-image boxes, scores and labels from plain arrays, typed arrays or Iris tensors, so the
// evaluators stay pure TypeScript: a tensor is recognised by shape and data access (duck typing),
// which keeps this module loadable without the native addon.
import type { Tensor } from '@iris/torch';

/** Numbers as a flat array, a typed array, or an Iris tensor. */
export type NumbersLike = ArrayLike<number> | ArrayLike<boolean> | Tensor;
/** Boxes as [N][4], a flat array of 4N numbers, or an Iris tensor [N, 4]. */
export type BoxesLike = ArrayLike<ArrayLike<number>> | ArrayLike<number> | Tensor;

/**
 * One image's ground truth, in torchvision's detection shape (a dataset's target fits as it is).
 * COCO reads iscrowd and area, VOC reads difficult.
 */
export interface EvalTarget {
  /** [N, 4] boxes x1, y1, x2, y2 in pixels. */
  boxes: BoxesLike;
  /** [N] category ids. */
  labels: NumbersLike;
  /** The image's id (default: its index in the list). */
  imageId?: number;
  /** [N] COCO crowd flags (default 0). */
  iscrowd?: NumbersLike;
  /** [N] COCO areas for the small/medium/large ranges (default: box width * height). */
  area?: NumbersLike;
  /** [N] Pascal VOC difficult flags (default 0). */
  difficult?: NumbersLike;
}

/** One image's detections, as a torchvision detector returns them in eval mode. */
export interface EvalPrediction {
  /** [D, 4] boxes x1, y1, x2, y2 in pixels. */
  boxes: BoxesLike;
  /** [D] */
  scores: NumbersLike;
  /** [D] category ids. */
  labels: NumbersLike;
}

interface TensorLike {
  shape: number[];
  dtype: string;
  toFlatArray(): number[];
}

function isTensorLike(value: unknown): value is TensorLike {
  return typeof value === 'object' && value !== null && typeof (value as TensorLike).toFlatArray === 'function' && Array.isArray((value as TensorLike).shape);
}

/** Values of `value` as float64, and whether they came from float32 storage (torchvision's box arithmetic is then float32). */
export function readNumbers(value: unknown, what: string): { data: Float64Array; float32: boolean } {
  if (isTensorLike(value)) {
    if (value.shape.length > 1) throw new TypeError(`${what}: expected a 1-d tensor, got shape [${value.shape.join(', ')}]`);
    return { data: Float64Array.from(value.toFlatArray()), float32: value.dtype === 'float32' };
  }
  if (value === null || typeof value !== 'object' || typeof (value as ArrayLike<unknown>).length !== 'number') {
    throw new TypeError(`${what}: expected an array, a typed array or a tensor, got ${describe(value)}`);
  }
  const array = value as ArrayLike<unknown>;
  const data = new Float64Array(array.length);
  for (let i = 0; i < array.length; i++) {
    const v = array[i];
    const n = typeof v === 'boolean' ? Number(v) : typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new TypeError(`${what}[${i}]: expected a finite number, got ${describe(v)}`);
    data[i] = n;
  }
  return { data, float32: value instanceof Float32Array };
}

/** Boxes of `value` flattened row-major to 4N float64 values (x1, y1, x2, y2 per box). */
export function readBoxes(value: unknown, what: string): { data: Float64Array; count: number; float32: boolean } {
  let data: Float64Array;
  let float32 = false;
  if (isTensorLike(value)) {
    const shape = value.shape;
    const empty = shape.length === 1 && shape[0] === 0;
    if (!empty && (shape.length !== 2 || shape[1] !== 4)) throw new TypeError(`${what}: expected a tensor [N, 4], got shape [${shape.join(', ')}]`);
    data = Float64Array.from(value.toFlatArray());
    float32 = value.dtype === 'float32';
  } else if (value !== null && typeof value === 'object' && typeof (value as ArrayLike<unknown>).length === 'number') {
    const array = value as ArrayLike<unknown>;
    if (array.length > 0 && typeof array[0] === 'object' && array[0] !== null) {
      data = new Float64Array(array.length * 4);
      for (let i = 0; i < array.length; i++) {
        const row = array[i] as ArrayLike<number>;
        if (row === null || typeof row !== 'object' || row.length !== 4) throw new TypeError(`${what}[${i}]: expected 4 numbers [x1, y1, x2, y2], got ${describe(row)}`);
        for (let j = 0; j < 4; j++) data[i * 4 + j] = row[j];
      }
      float32 = array[0] instanceof Float32Array;
    } else {
      if (array.length % 4 !== 0) throw new TypeError(`${what}: a flat box array needs 4 numbers per box, got ${array.length} numbers`);
      data = Float64Array.from(array as ArrayLike<number>);
      float32 = value instanceof Float32Array;
    }
  } else {
    throw new TypeError(`${what}: expected boxes as [N][4], a flat array or a tensor [N, 4], got ${describe(value)}`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new TypeError(`${what}[${Math.floor(i / 4)}]: box coordinates must be finite numbers, got ${data[i]}`);
  }
  return { data, count: data.length / 4, float32 };
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `[${value.slice(0, 6).map(describe).join(', ')}${value.length > 6 ? ', …' : ''}]`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  return typeof value;
}
