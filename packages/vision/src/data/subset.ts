// Views of a dataset: a subset of indices, random splits, chosen classes, n samples per class.
import { checkIndex, labelTensor, type Dataset, type Sample, type SampleSource, type SourceContext } from './dataset.js';
import { Rng } from './rng.js';
import type { Tensor } from '@iris/torch';

export interface SubsetOptions {
  /** Class names of the subset when it relabels; the parent's by default. */
  classes?: string[];
  /** New label for each parent label (`labelMap[parentLabel]`), when the subset relabels. */
  labelMap?: ArrayLike<number>;
}

/** torch.utils.data.Subset: sample i is `dataset`'s sample `indices[i]`. */
export class Subset implements Dataset {
  readonly indices: Int32Array;
  readonly classes: string[];
  readonly targets: Int32Array;
  readonly source?: (index: number, context?: SourceContext) => SampleSource;
  readonly getBatch?: (indices: ArrayLike<number>) => { images: Tensor; labels: Tensor };
  private readonly labelMap?: ArrayLike<number>;

  constructor(
    readonly dataset: Dataset,
    indices: ArrayLike<number>,
    options: SubsetOptions = {},
  ) {
    this.indices = Int32Array.from(indices);
    for (const i of this.indices) checkIndex(dataset, i, 'Subset');
    this.classes = options.classes ?? dataset.classes;
    this.labelMap = options.labelMap;
    this.targets = this.indices.map((i) => this.relabel(dataset.targets[i]));
    const parentSource = dataset.source?.bind(dataset);
    if (parentSource) this.source = (index, context) => ({ ...parentSource(this.parentIndex(index), context), label: this.targets[index] });
    const parentBatch = dataset.getBatch?.bind(dataset);
    if (parentBatch) {
      this.getBatch = (batch) => {
        const { images, labels } = parentBatch(Array.from(batch, (i) => this.parentIndex(i)));
        labels.dispose();
        return { images, labels: labelTensor(Array.from(batch, (i) => this.targets[i])) };
      };
    }
  }

  get length(): number {
    return this.indices.length;
  }

  get(index: number): Sample | Promise<Sample> {
    const sample = this.dataset.get(this.parentIndex(index));
    const label = this.targets[index];
    return sample instanceof Promise ? sample.then((s) => ({ ...s, label })) : { ...sample, label };
  }

  private parentIndex(index: number): number {
    checkIndex(this, index, 'Subset');
    return this.indices[index];
  }

  private relabel(label: number): number {
    if (this.labelMap === undefined) return label;
    const mapped = this.labelMap[label];
    if (mapped === undefined || mapped < 0) throw new Error(`Subset: labelMap has no entry for label ${label}`);
    return mapped;
  }
}

/**
 * torch.utils.data.random_split: `lengths` are counts summing to the dataset's length, or
 * fractions summing to 1 (floored, the remainder handed out one by one from the first split).
 */
export function randomSplit(dataset: Dataset, lengths: number[], seed = 0): Subset[] {
  const n = dataset.length;
  let counts = lengths;
  const total = lengths.reduce((a, b) => a + b, 0);
  if (lengths.every((l) => l >= 0 && l <= 1) && Math.abs(total - 1) < 1e-9 && total !== n) {
    counts = lengths.map((f) => Math.floor(n * f));
    const remainder = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) counts[i % counts.length] += 1;
  } else if (!lengths.every((l) => Number.isInteger(l) && l >= 0) || total !== n) {
    throw new RangeError(`randomSplit: lengths [${lengths}] must be counts summing to ${n} or fractions summing to 1`);
  }
  const order = new Rng(seed).permutation(n);
  let start = 0;
  return counts.map((count) => new Subset(dataset, order.subarray(start, (start += count))));
}

/**
 * The samples of the given classes (names or indices), relabelled 0..k-1 in the order given:
 * e.g. pretraining on five Fashion-MNIST classes and fine-tuning on the other five.
 */
export function classSubset(dataset: Dataset, classes: Array<string | number>): Subset {
  const chosen = classes.map((c) => {
    const index = typeof c === 'number' ? c : dataset.classes.indexOf(c);
    if (!Number.isInteger(index) || index < 0 || index >= dataset.classes.length) {
      throw new RangeError(`classSubset: '${c}' is not one of the classes ${dataset.classes.join(', ')}`);
    }
    return index;
  });
  if (new Set(chosen).size !== chosen.length) throw new RangeError(`classSubset: classes [${classes}] name a class twice`);
  const labelMap = new Int32Array(dataset.classes.length).fill(-1);
  chosen.forEach((parent, i) => (labelMap[parent] = i));
  const indices: number[] = [];
  for (let i = 0; i < dataset.length; i++) if (labelMap[dataset.targets[i]] >= 0) indices.push(i);
  return new Subset(dataset, indices, { classes: chosen.map((c) => dataset.classes[c]), labelMap });
}

/** `n` random samples of every class (fewer samples in a class is an error), in dataset order. */
export function takePerClass(dataset: Dataset, n: number, seed = 0): Subset {
  const byClass: number[][] = dataset.classes.map(() => []);
  for (let i = 0; i < dataset.length; i++) byClass[dataset.targets[i]].push(i);
  const rng = new Rng(seed);
  const indices = byClass.flatMap((members, label) => {
    if (members.length < n) throw new RangeError(`takePerClass: class '${dataset.classes[label]}' has ${members.length} samples, fewer than ${n}`);
    return Array.from(rng.permutation(members.length).subarray(0, n), (k) => members[k]);
  });
  return new Subset(dataset, indices.sort((a, b) => a - b));
}
