// Ultralytics' Mosaic needs three more images per sample. MosaicDataset picks them (from the
// DataLoader's seed and epoch, so a sample replays in any worker) and lists them in the sample's
// source as its `mix`; the loader loads them with it and the transform (YoloPresetTrain) combines
// the four. From epoch `epochs - closeMosaic` on, samples come alone: Ultralytics' close_mosaic,
// without rebuilding the loader.
import { checkIndex, type Dataset, type Sample, type SampleSource, type SourceContext } from '../../data/dataset.js';
import { Rng } from '../../data/rng.js';

export interface MosaicDatasetOptions {
  /** The probability of a mosaic per sample (Ultralytics' `mosaic`, default 1.0). */
  mosaic?: number;
  /** Images per mosaic: 4 (a 2x2 grid; the only layout supported). */
  n?: number;
  /** Epochs of the run, needed with closeMosaic. */
  epochs?: number;
  /** The last closeMosaic epochs run without mosaic (Ultralytics' close_mosaic; default 0: never closed). */
  closeMosaic?: number;
}

// A stream apart from the transform's Rng.forSample(seed, epoch, index), so the partners picked
// are independent of the augmentation's draws.
const MOSAIC_STREAM = 0x6d6f73616963n;

/** A detection dataset whose samples carry three more images to combine, as Ultralytics' Mosaic does. */
export class MosaicDataset implements Dataset {
  readonly mosaic: number;
  readonly n: number;
  readonly epochs?: number;
  readonly closeMosaic: number;

  constructor(
    readonly dataset: Dataset,
    options: MosaicDatasetOptions = {},
  ) {
    this.mosaic = options.mosaic ?? 1.0;
    if (!(this.mosaic >= 0 && this.mosaic <= 1)) throw new RangeError(`MosaicDataset: mosaic is a probability in [0, 1], got ${options.mosaic}`);
    this.n = options.n ?? 4;
    if (this.n !== 4) throw new RangeError(`MosaicDataset: n must be 4 (a 2x2 mosaic), got ${options.n}`);
    this.closeMosaic = options.closeMosaic ?? 0;
    if (!(Number.isInteger(this.closeMosaic) && this.closeMosaic >= 0)) throw new RangeError(`MosaicDataset: closeMosaic must be a whole number of epochs >= 0, got ${options.closeMosaic}`);
    if (this.closeMosaic > 0 && !(Number.isInteger(options.epochs) && options.epochs! > 0)) {
      throw new RangeError(`MosaicDataset: closeMosaic ${this.closeMosaic} counts back from the last epoch; pass epochs (the run's epoch count)`);
    }
    this.epochs = options.epochs;
    if (typeof dataset.source !== 'function') throw new TypeError(`MosaicDataset: ${dataset.constructor.name} has no source(), so the images of a mosaic cannot be listed for the DataLoader`);
  }

  get length(): number {
    return this.dataset.length;
  }

  get classes(): string[] {
    return this.dataset.classes;
  }

  get targets(): ArrayLike<number> {
    return this.dataset.targets;
  }

  /** Whether samples of `epoch` (0-based) may be mosaics: false in the last closeMosaic epochs. */
  mosaicAt(epoch: number): boolean {
    return this.closeMosaic === 0 || epoch < this.epochs! - this.closeMosaic;
  }

  /** The dataset indices of the other images of sample `index`'s mosaic, or [] when it comes alone. */
  partners(index: number, context: SourceContext = { seed: 0, epoch: 0 }): number[] {
    checkIndex(this, index, 'MosaicDataset');
    if (!this.mosaicAt(context.epoch)) return [];
    const rng = new Rng((BigInt(context.seed) << 40n) ^ (BigInt(context.epoch) << 32n) ^ BigInt(index) ^ MOSAIC_STREAM);
    // Ultralytics skips when U > p, so U == p still mixes.
    if (rng.random() > this.mosaic) return [];
    // Any image of the dataset (Ultralytics' get_indexes(buffer=False)): its buffer of recently loaded images depends on timing.
    return Array.from({ length: this.n - 1 }, () => rng.int(0, this.length));
  }

  /** The sample alone, without mosaic partners (they depend on the DataLoader's seed and epoch; see source). */
  get(index: number): Sample | Promise<Sample> {
    return this.dataset.get(index);
  }

  source(index: number, context?: SourceContext): SampleSource {
    const own = this.dataset.source!(index, context);
    const others = this.partners(index, context);
    return others.length ? { ...own, mix: others.map((i) => this.dataset.source!(i, context)) } : own;
  }
}
