// The dataset contract the DataLoader consumes, and the in-memory dataset MNIST and CIFAR build on.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { decodeImage, imageToTensor, ImageDecodeError, type ImageMode } from './image.js';
import { targetFromPlain, type PlainTarget, type SampleTarget } from './target.js';
import type { TargetSample } from './transform.js';

/** One sample: a uint8 image tensor [C, H, W] and its class index. */
export interface Sample {
  image: Tensor;
  /** The class index; -1 when the annotations are in `target` instead (detection). */
  label: number;
  /** Annotations that move with the image (detection: boxes, labels, ...); transforms then get `{ image, target }`. */
  target?: SampleTarget;
}

export type OnCorrupt = 'skip' | 'error';

/**
 * Where a sample's pixels come from, in a form that can be posted to a worker thread: a file to
 * decode, or raw uint8 pixels [C, H, W]. `mix` lists other samples loaded with it, for transforms
 * that combine images (Mosaic): the transform receives them as `mix: [{ image, target }, ...]`.
 */
export type SampleSource =
  | { kind: 'file'; path: string; label: number; mode: ImageMode; maxPixels?: number; onCorrupt: OnCorrupt; target?: PlainTarget; mix?: SampleSource[] }
  | { kind: 'pixels'; data: Uint8Array; shape: number[]; label: number; target?: PlainTarget; mix?: SampleSource[] };

/** What the DataLoader tells `source()`: its seed and the epoch being loaded, for datasets whose samples vary by epoch (MosaicDataset). */
export interface SourceContext {
  seed: number;
  epoch: number;
}

export interface Dataset {
  readonly length: number;
  /** Class names; a label is an index into this list. */
  readonly classes: string[];
  /** Every sample's label, known without loading images. */
  readonly targets: ArrayLike<number>;
  get(index: number): Sample | Promise<Sample>;
  /** Present when samples can be loaded in worker threads (DataLoader `numWorkers > 0`); the DataLoader passes its seed and epoch. */
  source?(index: number, context?: SourceContext): SampleSource;
  /** Present when a whole batch can be gathered at once: uint8 images [B, C, H, W], int64 labels [B]. */
  getBatch?(indices: ArrayLike<number>): { images: Tensor; labels: Tensor };
}

export function checkIndex(dataset: { length: number }, index: number, what: string): void {
  if (!Number.isInteger(index) || index < 0 || index >= dataset.length) {
    throw new RangeError(`${what}: index ${index} is out of range for ${dataset.length} samples`);
  }
}

/** The source's pixels as a uint8 tensor [C, H, W]. */
export async function loadSource(source: SampleSource): Promise<Tensor> {
  if (source.kind === 'pixels') return torch.tensor(source.data, { shape: source.shape });
  return imageToTensor(await decodeImage(source.path, { mode: source.mode, maxPixels: source.maxPixels }));
}

/** Like loadSource, but a file that cannot be decoded under `onCorrupt: 'skip'` is reported instead of thrown. */
export async function loadSourceOrSkip(source: SampleSource): Promise<{ image: Tensor } | { skipped: { path: string; message: string } }> {
  try {
    return { image: await loadSource(source) };
  } catch (error) {
    if (source.kind === 'file' && source.onCorrupt === 'skip' && error instanceof ImageDecodeError) {
      return { skipped: { path: source.path, message: error.message } };
    }
    throw error;
  }
}

/**
 * The `mix` samples of a source, loaded: each with its target as tensors. A file of the mix that
 * cannot be decoded under `onCorrupt: 'skip'` drops the whole mix (the sample is then used alone).
 */
export async function loadMix(source: SampleSource): Promise<{ mix?: TargetSample[]; skipped: Array<{ path: string; message: string }> }> {
  if (!source.mix?.length) return { skipped: [] };
  if (!source.target || source.mix.some((m) => !m.target)) throw new TypeError('a source with a mix, and each source of the mix, must have a target: combining images (Mosaic) is for detection samples');
  const loaded = await Promise.all(source.mix.map((m) => loadSourceOrSkip(m)));
  const skipped = loaded.flatMap((r) => ('skipped' in r ? [r.skipped] : []));
  const images = loaded.flatMap((r) => ('image' in r ? [r.image] : []));
  if (skipped.length) {
    for (const image of images) image.dispose();
    return { skipped };
  }
  return { mix: source.mix.map((m, k) => ({ image: images[k], target: targetFromPlain(m.target!) })), skipped };
}

/** Labels as the int64 tensor [B] that loss functions take. */
export function labelTensor(labels: ArrayLike<number>): Tensor {
  return torch.tensor(BigInt64Array.from(Array.from(labels), (v) => BigInt(v)), { shape: [labels.length] });
}

/**
 * Images held in memory as uint8 [N, C, H, W] bytes (MNIST, CIFAR, or your own arrays). Batches
 * without a per-sample transform are gathered with one `indexSelect`.
 */
export class InMemoryImageDataset implements Dataset {
  readonly length: number;
  /** [C, H, W] of every image. */
  readonly imageShape: number[];
  private imagesTensor?: Tensor;

  constructor(
    /** The pixels, uint8 [N, C, H, W] row-major. */
    readonly data: Uint8Array,
    shape: number[],
    readonly targets: ArrayLike<number>,
    readonly classes: string[],
  ) {
    if (shape.length !== 4) throw new RangeError(`InMemoryImageDataset: shape must be [N, C, H, W], got [${shape}]`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new RangeError(`InMemoryImageDataset: shape [${shape}] needs ${count} bytes, got ${data.length}`);
    if (targets.length !== shape[0]) throw new RangeError(`InMemoryImageDataset: ${shape[0]} images but ${targets.length} labels`);
    this.length = shape[0];
    this.imageShape = shape.slice(1);
  }

  /** All images as one uint8 tensor [N, C, H, W], created on first use and kept. */
  get images(): Tensor {
    return (this.imagesTensor ??= torch.keep(torch.tensor(this.data, { shape: [this.length, ...this.imageShape] })));
  }

  get(index: number): Sample {
    return { image: torch.tensor(this.pixels(index), { shape: this.imageShape }), label: this.targets[index] };
  }

  source(index: number): SampleSource {
    return { kind: 'pixels', data: this.pixels(index).slice(), shape: this.imageShape, label: this.targets[index] };
  }

  getBatch(indices: ArrayLike<number>): { images: Tensor; labels: Tensor } {
    for (const i of Array.from(indices)) checkIndex(this, i, this.constructor.name);
    const images = torch.tidy(() => this.images.indexSelect(0, torch.tensor(Int32Array.from(indices))));
    return { images, labels: labelTensor(Array.from(indices, (i) => this.targets[i])) };
  }

  private pixels(index: number): Uint8Array {
    checkIndex(this, index, this.constructor.name);
    const size = this.data.length / this.length;
    return this.data.subarray(index * size, (index + 1) * size);
  }
}

/** Images stored as files, decoded on access: the base of ImageFolder and ImageList. */
export class ImageFileDataset implements Dataset {
  readonly targets: number[];

  constructor(
    /** [path, class index] of every sample, in order. */
    readonly samples: Array<[string, number]>,
    readonly classes: string[],
    readonly options: { mode?: ImageMode; maxPixels?: number; onCorrupt?: OnCorrupt } = {},
  ) {
    this.targets = samples.map((s) => s[1]);
  }

  get length(): number {
    return this.samples.length;
  }

  /** Decodes the image; a corrupt file throws an ImageDecodeError naming it (`onCorrupt: 'skip'` applies in the DataLoader). */
  async get(index: number): Promise<Sample> {
    const source = this.source(index);
    return { image: await loadSource(source), label: source.label };
  }

  source(index: number): SampleSource {
    checkIndex(this, index, this.constructor.name);
    const [path, label] = this.samples[index];
    const { mode = 'rgb', maxPixels, onCorrupt = 'error' } = this.options;
    return { kind: 'file', path, label, mode, maxPixels, onCorrupt };
  }
}
