// --dataset values: fashion-mnist, mnist:DIR, cifar10:DIR, cifar100:DIR, folder:DIR, list:FILE.
import { FashionMnist, MnistIdx, Cifar10, Cifar100, ImageFolder, ImageList, Subset, randomSplit, type Dataset } from '@iris/vision/data';
import { join } from 'node:path';
import { UsageError } from '../options.js';

export interface DatasetSplits {
  name: string;
  train: Dataset;
  /** Held out from train (seeded) for model selection; never the test split. */
  validation: Dataset;
  /** The dataset's test split; for datasets without one, the validation split (`testIsValidation`). */
  test: Dataset;
  /** True when the dataset has no test split of its own, so test results are validation results. */
  testIsValidation: boolean;
  /** Indices into the dataset's training file of the training and validation samples. */
  trainIndices: Int32Array;
  validationIndices: Int32Array;
  classes: string[];
  /** [C, H, W] of the images, when fixed (in-memory datasets). */
  imageShape?: number[];
  /** Per-channel mean/std of the training pixels, in 0..1. */
  mean: number[];
  std: number[];
}

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

export interface OpenOptions {
  /** Fraction of the training split held out for validation (default 0.1). */
  valSplit?: number;
  seed?: number;
  /** Keep the first N training samples (and N/5 of validation and test), for quick runs. */
  limit?: number;
}

export function openDataset(spec: string, options: OpenOptions = {}): DatasetSplits {
  const splits = openFullDataset(spec, options);
  const { limit } = options;
  if (!limit) return splits;
  const small = Math.max(1, Math.floor(limit / 5));
  const head = (d: Subset, n: number) => (n < d.length ? new Subset(d.dataset, d.indices.subarray(0, n)) : d);
  const train = head(splits.train as Subset, limit);
  const validation = head(splits.validation as Subset, small);
  const test = splits.testIsValidation ? validation : splits.test.length > small ? new Subset(splits.test, Array.from({ length: small }, (_, i) => i)) : splits.test;
  return { ...splits, train, validation, test, trainIndices: train.indices, validationIndices: validation.indices };
}

/** The held-out validation split: a seeded random `fraction` of `full`, the rest for training. */
function holdOut(full: Dataset, test: Dataset | undefined, options: OpenOptions) {
  const fraction = options.valSplit ?? 0.1;
  const [train, validation] = randomSplit(full, [1 - fraction, fraction], options.seed ?? 0) as [Subset, Subset];
  return { train, validation, test: test ?? validation, testIsValidation: !test, trainIndices: train.indices, validationIndices: validation.indices };
}

function openFullDataset(spec: string, options: OpenOptions): DatasetSplits {
  const [kind, path] = spec.includes(':') ? [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)] : [spec, undefined];
  const split = (full: Dataset, test?: Dataset) => holdOut(full, test, options);
  switch (kind) {
    case 'fashion-mnist': {
      const train = new FashionMnist(path, { train: true });
      return { name: 'fashion-mnist', ...split(train, new FashionMnist(path, { train: false })), classes: train.classes, imageShape: [1, 28, 28], mean: [0.286], std: [0.353] };
    }
    case 'mnist': {
      if (!path) throw new UsageError('--dataset mnist:DIR: give the folder with the IDX files');
      const file = (n: string) => join(path, n);
      const train = new MnistIdx(file('train-images-idx3-ubyte.gz'), file('train-labels-idx1-ubyte.gz'));
      const test = new MnistIdx(file('t10k-images-idx3-ubyte.gz'), file('t10k-labels-idx1-ubyte.gz'));
      return { name: 'mnist', ...split(train, test), classes: train.classes, imageShape: [1, 28, 28], mean: [0.1307], std: [0.3081] };
    }
    case 'cifar10':
    case 'cifar100': {
      if (!path) throw new UsageError(`--dataset ${kind}:DIR: give the folder with the binary batches`);
      const make = (train: boolean) => (kind === 'cifar10' ? new Cifar10(path, { train }) : new Cifar100(path, { train }));
      const train = make(true);
      return { name: kind, ...split(train, make(false)), classes: train.classes, imageShape: [3, 32, 32], mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
    }
    case 'folder':
    case 'list': {
      if (!path) throw new UsageError(`--dataset ${kind}:PATH: give the ${kind === 'folder' ? 'folder (a subfolder per class)' : 'CSV or JSON list'}`);
      const full = kind === 'folder' ? new ImageFolder(path, { onCorrupt: 'skip' }) : new ImageList(path, { onCorrupt: 'skip' });
      return { name: `${kind}:${path}`, ...split(full), classes: full.classes, ...IMAGENET };
    }
    default:
      throw new UsageError(`--dataset '${spec}': use fashion-mnist, mnist:DIR, cifar10:DIR, cifar100:DIR, folder:DIR or list:FILE`);
  }
}
