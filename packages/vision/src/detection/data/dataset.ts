// A detection dataset: image records from any reader, each image decoded on access (in the
// DataLoader's worker threads too) with its target as torchvision's detection references build it.
import * as torch from '@iris/torch';
import { checkIndex, loadSource, type Dataset, type OnCorrupt, type Sample, type SampleSource } from '../../data/dataset.js';
import type { ImageMode } from '../../data/image.js';
import { targetFromPlain, type PlainTarget } from '../../data/target.js';
import type { Category, DetectionSampleTarget, ImageRecord } from './types.js';
import type { DataIssue } from './validate.js';

export interface DetectionDatasetOptions {
  /**
   * 'contiguous' (default): labels 1..K follow the categories in id order, 0 is the background;
   * 'categoryId': a label is the category id itself (COCO's 91 labels, which torchvision's COCO weights predict).
   */
  labels?: 'contiguous' | 'categoryId';
  /** How images are decoded (default 'rgb'). */
  mode?: ImageMode;
  /** An image that fails to decode: 'error' (default) or 'skip' it in the DataLoader with a warning. */
  onCorrupt?: OnCorrupt;
  maxPixels?: number;
}

export interface DetectionDatasetInit extends DetectionDatasetOptions {
  /** Problems the reader found and left out (onInvalid 'skip' or 'clip'). */
  issues?: DataIssue[];
  /** Targets carry `difficult` (Pascal VOC). */
  hasDifficult?: boolean;
  /** Where it was read from, for messages: 'coco:/data/annotations/train.json'. */
  origin?: string;
}

/** Images with boxes; `get(i)` is `{ image: uint8 [C, H, W], label: -1, target: DetectionSampleTarget }`. */
export class DetectionDataset implements Dataset {
  /** classes[label]: '__background__' at 0, then the category names ('N/A' for unused ids under labels 'categoryId'). */
  readonly classes: string[];
  /** categoryIds[label]: the category id a label stands for (0 for the background). */
  readonly categoryIds: number[];
  /** No image-level class: -1 for every sample (the Dataset contract's labels). */
  readonly targets: Int32Array;
  readonly issues: DataIssue[];
  readonly hasDifficult: boolean;
  readonly origin: string;
  readonly options: DetectionDatasetOptions;
  private readonly labelOfId = new Map<number, number>();

  constructor(
    readonly images: ImageRecord[],
    readonly categories: Category[],
    init: DetectionDatasetInit = {},
  ) {
    const { issues = [], hasDifficult = false, origin = 'detection dataset', ...options } = init;
    this.options = options;
    this.issues = issues;
    this.hasDifficult = hasDifficult;
    this.origin = origin;
    this.targets = new Int32Array(images.length).fill(-1);
    const sorted = [...categories].sort((a, b) => a.id - b.id);
    if ((options.labels ?? 'contiguous') === 'contiguous') {
      this.classes = ['__background__', ...sorted.map((c) => c.name)];
      this.categoryIds = [0, ...sorted.map((c) => c.id)];
    } else {
      if (sorted.some((c) => !Number.isInteger(c.id) || c.id < 1)) {
        throw new RangeError(`${origin}: labels 'categoryId' needs category ids >= 1 (0 is the background), got ${sorted.map((c) => c.id).join(', ')}; use labels 'contiguous'`);
      }
      const max = sorted.length ? sorted[sorted.length - 1].id : 0;
      this.classes = Array.from({ length: max + 1 }, (_, id) => (id === 0 ? '__background__' : 'N/A'));
      for (const c of sorted) this.classes[c.id] = c.name;
      this.categoryIds = Array.from({ length: max + 1 }, (_, id) => id);
    }
    this.categoryIds.forEach((id, label) => label > 0 && this.labelOfId.set(id, label));
  }

  get length(): number {
    return this.images.length;
  }

  /** The label of a category id. */
  labelOf(categoryId: number): number {
    const label = this.labelOfId.get(categoryId);
    if (label === undefined) throw new RangeError(`${this.origin}: no category with id ${categoryId}`);
    return label;
  }

  /** Image `index`'s target as tensors. */
  target(index: number): DetectionSampleTarget {
    return targetFromPlain(this.plainTarget(index)) as DetectionSampleTarget;
  }

  /** The target as typed arrays, as it is posted to worker threads. */
  plainTarget(index: number): PlainTarget {
    checkIndex(this, index, 'DetectionDataset');
    const record = this.images[index];
    const n = record.objects.length;
    const boxes = new Float32Array(n * 4);
    record.objects.forEach((o, i) => boxes.set(o.box, i * 4));
    const plain: PlainTarget = {
      boxes: { data: boxes, shape: [n, 4] },
      labels: { data: BigInt64Array.from(record.objects, (o) => BigInt(this.labelOf(o.categoryId))), shape: [n] },
      area: { data: Float32Array.from(record.objects, (o) => o.area), shape: [n] },
      iscrowd: { data: BigInt64Array.from(record.objects, (o) => (o.iscrowd ? 1n : 0n)), shape: [n] },
      imageId: record.id,
    };
    if (this.hasDifficult) plain.difficult = { data: BigInt64Array.from(record.objects, (o) => (o.difficult ? 1n : 0n)), shape: [n] };
    return plain;
  }

  /** Decodes image `index`; a corrupt file throws an ImageDecodeError naming it. */
  async get(index: number): Promise<Sample> {
    const source = this.source(index);
    const image = await loadSource(source);
    return { image, label: -1, target: targetFromPlain(source.target!) };
  }

  source(index: number): SampleSource {
    const target = this.plainTarget(index);
    const { mode = 'rgb', maxPixels, onCorrupt = 'error' } = this.options;
    return { kind: 'file', path: this.images[index].path, label: -1, mode, maxPixels, onCorrupt, target };
  }

  /** How many boxes of each label the dataset holds (index = label). */
  boxCounts(): number[] {
    const counts = new Array<number>(this.classes.length).fill(0);
    for (const record of this.images) for (const o of record.objects) counts[this.labelOf(o.categoryId)]++;
    return counts;
  }
}

/** Whether a value is a DetectionSampleTarget (boxes [N, 4] and labels [N] tensors). */
export function isDetectionTarget(value: unknown): value is DetectionSampleTarget {
  const t = value as DetectionSampleTarget | undefined;
  return t !== undefined && t !== null && t.boxes instanceof torch.Tensor && t.labels instanceof torch.Tensor;
}
