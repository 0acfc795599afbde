// torch.utils.data.DataLoader: batches in a seeded order, loaded ahead in worker threads, and
// resumable mid-epoch so a restarted training run sees exactly the batches it would have seen.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { labelTensor, loadMix, loadSourceOrSkip, type Dataset, type Sample } from './dataset.js';
import { Rng } from './rng.js';
import { disposeTensors, targetFromPlain, tensorsIn } from './target.js';
import { applyTargetTransform, applyTransform, resolveTransform, type TargetSample, type TargetTransform, type Transform, type TransformSpec } from './transform.js';
import { WorkerPool, type BatchReply } from './worker-pool.js';

export interface Batch {
  /** [B, C, H, W]: uint8 as decoded, or what the transform returns. */
  images: Tensor;
  /** int64 [B]. */
  labels: Tensor;
  /** The dataset indices of the batch's samples. */
  indices: number[];
}

/** What the default collate makes of a batch: stacked images and int64 labels. */
export interface StackedBatch {
  images: Tensor;
  labels: Tensor;
}

export interface DataLoaderOptions<B extends object = StackedBatch> {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** A new seeded permutation every epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Leave out the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Seeds the order and every sample's augmentation stream (default 0). */
  seed?: number;
  /** The epoch to start at (default 0). */
  epoch?: number;
  /** Worker threads that load and transform samples (default 0: the main thread). */
  numWorkers?: number;
  /** Batches loaded ahead of the one being consumed (default 2, or 2 per worker). */
  prefetch?: number;
  /**
   * Applied to every sample with its own RNG, `Rng.forSample(seed, epoch, index)`. Worker threads
   * need a TransformSpec (module + export + JSON options); a function works with numWorkers 0.
   * Samples with a `target` (detection) are passed as `{ image, target }` (see TargetDataLoaderOptions).
   */
  transform?: Transform | TransformSpec;
  /**
   * Makes a batch of samples (default: stack images, int64 labels; samples with targets need one,
   * e.g. collateDetection). Sample tensors are disposed after it returns, except those it returns.
   */
  collate?: (samples: Sample[]) => B;
}

/** Options with a transform of `{ image, target }` samples, for datasets with targets (detection). */
export interface TargetDataLoaderOptions<B extends object = StackedBatch> extends Omit<DataLoaderOptions<B>, 'transform'> {
  transform: TargetTransform;
}

/** Where a DataLoader is: the epoch and how many of its batches were handed out. */
export interface DataLoaderState {
  epoch: number;
  position: number;
}

/**
 * An async iterable over batches of one epoch; each complete pass moves on to the next epoch, and
 * `state()` always names the next batch, so saving it with a checkpoint resumes exactly.
 *
 *     const loader = new DataLoader(data, { batchSize: 64, shuffle: true, numWorkers: 4, transform: spec });
 *     for (let e = 0; e < epochs; e++) for await (const { images, labels } of loader) { ... }
 */
export class DataLoader<B extends object = StackedBatch> implements AsyncIterable<B & { indices: number[] }> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly seed: number;
  readonly numWorkers: number;
  readonly prefetch: number;
  private readonly transform?: Transform | TargetTransform | TransformSpec;
  private readonly collate?: DataLoaderOptions<B>['collate'];
  private readonly pool?: WorkerPool;
  private currentEpoch: number;
  private position = 0;
  private iterating = false;
  private readonly warned = new Set<string>();

  constructor(dataset: Dataset, options?: DataLoaderOptions<B>);
  constructor(dataset: Dataset, options: TargetDataLoaderOptions<B>);
  constructor(
    readonly dataset: Dataset,
    options: DataLoaderOptions<B> | TargetDataLoaderOptions<B> = {},
  ) {
    this.batchSize = positiveInteger(options.batchSize ?? 1, 'batchSize');
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.seed = nonNegativeInteger(options.seed ?? 0, 'seed');
    this.currentEpoch = nonNegativeInteger(options.epoch ?? 0, 'epoch');
    this.numWorkers = nonNegativeInteger(options.numWorkers ?? 0, 'numWorkers');
    this.prefetch = positiveInteger(options.prefetch ?? 2 * Math.max(1, this.numWorkers), 'prefetch');
    this.transform = options.transform;
    this.collate = options.collate;
    if (this.numWorkers > 0 && !this.gathers) {
      if (typeof this.transform === 'function') {
        throw new TypeError('DataLoader: a transform function cannot be sent to worker threads; pass { module, export, options } or use numWorkers: 0');
      }
      if (typeof dataset.source !== 'function') {
        throw new TypeError(`DataLoader: ${dataset.constructor.name} has no source(), so its samples cannot be loaded in worker threads; use numWorkers: 0`);
      }
      this.pool = new WorkerPool(this.numWorkers);
    }
  }

  /** Batches per epoch: torch's len(DataLoader). */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  /**
   * Makes `epoch` the current epoch, from its first batch (PyTorch's DistributedSampler.set_epoch).
   * Naming the current epoch changes nothing, so a loop calling it keeps a resumed position.
   */
  setEpoch(epoch: number): void {
    if (epoch !== this.currentEpoch) this.loadState({ epoch, position: 0 });
  }

  state(): DataLoaderState {
    return { epoch: this.currentEpoch, position: this.position };
  }

  /** Continues from a saved state: the next batch is batch `position` of epoch `epoch`. */
  loadState(state: DataLoaderState): void {
    if (this.iterating) throw new Error('DataLoader: cannot change the epoch or position while a loop over the loader is running');
    this.currentEpoch = nonNegativeInteger(state.epoch, 'state.epoch');
    this.position = nonNegativeInteger(state.position, 'state.position');
    if (this.position > this.length) throw new RangeError(`DataLoader: state.position ${state.position} is past the ${this.length} batches of an epoch`);
  }

  /** The dataset indices of every sample of `epoch`, in the order they are loaded. */
  order(epoch = this.currentEpoch): Int32Array {
    const n = this.dataset.length;
    if (this.shuffle) return new Rng((BigInt(this.seed) << 32n) + BigInt(epoch)).permutation(n);
    return Int32Array.from({ length: n }, (_, i) => i);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<B & { indices: number[] }, void, undefined> {
    if (this.iterating) throw new Error('DataLoader: already being iterated; finish or break the other loop first');
    this.iterating = true;
    const pending: Array<Promise<(B & { indices: number[] }) | null>> = [];
    try {
      if (this.position >= this.length) this.advance();
      const epoch = this.currentEpoch;
      const order = this.order(epoch);
      const transform = this.transform && !this.pool ? await resolveTransform(this.transform) : undefined;
      let next = this.position;
      while (this.currentEpoch === epoch && this.position < this.length) {
        for (; next < this.length && pending.length < this.prefetch; next++) {
          const indices = Array.from(order.subarray(next * this.batchSize, (next + 1) * this.batchSize));
          const batch = this.loadBatch(indices, epoch, transform);
          batch.catch(() => {}); // awaited in turn below; this only stops an early rejection counting as unhandled
          pending.push(batch);
        }
        const batch = await pending.shift()!;
        if (++this.position === this.length) this.advance();
        if (batch) yield batch;
      }
    } finally {
      this.iterating = false;
      for (const batch of pending) batch.then((b) => b && disposeTensors(b), () => {});
    }
  }

  /** Stops the worker threads; a later loop starts new ones. */
  async close(): Promise<void> {
    await this.pool?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private advance(): void {
    this.currentEpoch += 1;
    this.position = 0;
  }

  /** Whole batches come from one `getBatch` call: no per-sample work to do. */
  private get gathers(): boolean {
    return !this.transform && !this.collate && typeof this.dataset.getBatch === 'function';
  }

  private async loadBatch(indices: number[], epoch: number, transform: Transform | undefined): Promise<(B & { indices: number[] }) | null> {
    if (this.gathers) return { ...this.dataset.getBatch!(indices), indices } as unknown as B & { indices: number[] };
    if (this.pool) {
      const spec = this.transform as TransformSpec | undefined;
      const items = indices.map((index) => ({ index, source: this.dataset.source!(index, { seed: this.seed, epoch }) }));
      return this.fromReply(await this.pool.run({ seed: this.seed, epoch, transform: spec, items }));
    }
    const samples: Sample[] = [];
    const kept: number[] = [];
    const loaded = await Promise.allSettled(indices.map((index) => this.loadSample(index, epoch)));
    let k = 0;
    try {
      for (; k < loaded.length; k++) {
        const result = loaded[k];
        if (result.status === 'rejected') throw result.reason;
        if (!result.value) continue;
        const { image, label, target, mix } = result.value;
        if (target) samples.push({ ...applyTargetTransform({ image, target, ...(mix && { mix }) }, transform, this.seed, epoch, indices[k]), label });
        else samples.push({ image: applyTransform(image, transform, this.seed, epoch, indices[k]), label });
        kept.push(indices[k]);
      }
    } catch (error) {
      for (const result of loaded.slice(k)) if (result.status === 'fulfilled') disposeTensors(result.value);
      disposeTensors(samples);
      throw error;
    }
    return this.collateSamples(samples, kept);
  }

  /** One sample as loaded, before the transform (with the images of its source's mix); null when it is a corrupt file to skip. */
  private async loadSample(index: number, epoch: number): Promise<(Sample & { mix?: TargetSample[] }) | null> {
    if (typeof this.dataset.source !== 'function') return this.dataset.get(index);
    const source = this.dataset.source(index, { seed: this.seed, epoch });
    const [result, { mix, skipped }] = await Promise.all([loadSourceOrSkip(source), loadMix(source)]);
    this.warnSkipped(skipped);
    if ('skipped' in result) {
      this.warnSkipped([result.skipped]);
      disposeTensors(mix);
      return null;
    }
    if (!source.target) return { image: result.image, label: source.label };
    return { image: result.image, label: source.label, target: targetFromPlain(source.target), ...(mix && { mix }) };
  }

  private fromReply(reply: BatchReply): (B & { indices: number[] }) | null {
    this.warnSkipped(reply.skipped);
    const count = reply.indices.length;
    if (count === 0) return null;
    const bytes = new Uint8Array(reply.buffer);
    const first = reply.shapes[0];
    if (!this.collate && !reply.targets && reply.shapes.every((s) => sameShape(s, first))) {
      return { images: fromBytes(bytes, [count, ...first], reply), labels: labelTensor(reply.labels), indices: reply.indices } as unknown as B & { indices: number[] };
    }
    const samples: Sample[] = [];
    let offset = 0;
    reply.shapes.forEach((shape, k) => {
      const size = shape.reduce((a, b) => a * b, 1) * bytesPerElement(reply.bytesDtype);
      const target = reply.targets?.[k];
      samples.push({ image: fromBytes(bytes.subarray(offset, (offset += size)), shape, reply), label: reply.labels[k], ...(target && { target: targetFromPlain(target) }) });
    });
    return this.collateSamples(samples, reply.indices);
  }

  private collateSamples(samples: Sample[], indices: number[]): (B & { indices: number[] }) | null {
    if (samples.length === 0) return null;
    let batch: object | undefined;
    try {
      if (this.collate) return (batch = { ...this.collate(samples), indices }) as B & { indices: number[] };
      const withTarget = samples.findIndex((s) => s.target);
      if (withTarget >= 0) {
        throw new Error(`DataLoader: sample ${indices[withTarget]} has a target (detection annotations), which stacking would drop; pass a collate such as collateDetection`);
      }
      const shape = samples[0].image.shape;
      const other = samples.findIndex((s) => !sameShape(s.image.shape, shape));
      if (other >= 0) {
        throw new Error(
          `DataLoader: sample ${indices[0]} has shape [${shape}] but sample ${indices[other]} has [${samples[other].image.shape}]; ` +
            'a batch needs equal shapes: add a resize/crop transform or pass collate',
        );
      }
      return { images: torch.stack(samples.map((s) => s.image)), labels: labelTensor(samples.map((s) => s.label)), indices } as unknown as B & { indices: number[] };
    } finally {
      disposeTensors(samples, tensorsIn(batch));
    }
  }

  private warnSkipped(skipped: Array<{ path: string; message: string }>): void {
    for (const { path, message } of skipped) {
      if (this.warned.has(path)) continue;
      this.warned.add(path);
      console.warn(`warning: skipping ${message}`);
    }
  }
}

function fromBytes(bytes: Uint8Array, shape: number[], reply: BatchReply): Tensor {
  const t = torch.fromBytes(bytes, shape, reply.bytesDtype);
  if (reply.bytesDtype === reply.dtype) return t;
  const converted = t.to({ dtype: reply.dtype });
  t.dispose();
  return converted;
}

function bytesPerElement(dtype: torch.DType): number {
  return dtype === 'float64' || dtype === 'int64' ? 8 : dtype === 'float32' || dtype === 'int32' ? 4 : dtype === 'int16' ? 2 : 1;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`DataLoader: ${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegativeInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`DataLoader: ${name} must be a non-negative integer, got ${value}`);
  return value;
}
