// --dataset values: fashion-mnist, mnist:DIR, cifar10:DIR, cifar100:DIR, folder:DIR, list:FILE.
import { FashionMnist, MnistIdx, Cifar10, Cifar100, ImageFolder, ImageList, Subset, randomSplit, type Dataset } from '@iris/vision/data';
import { join } from 'node:path';
import { UsageError } from '../args.js';

export interface DatasetSplits {
  name: string;
  train: Dataset;
  /** Held out from train for model selection, or the test split when there is none. */
  validation: Dataset;
  test: Dataset;
  classes: string[];
  /** [C, H, W] of the images, when fixed (in-memory datasets). */
  imageShape?: number[];
  /** Per-channel mean/std of the training pixels, in 0..1. */
  mean: number[];
  std: number[];
}

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** `limit` keeps the first N training samples (and N/5 of validation and test), for quick runs. */
export function openDataset(spec: string, options: { valSplit?: number; seed?: number; limit?: number } = {}): DatasetSplits {
  const splits = openFullDataset(spec, options);
  const { limit } = options;
  if (!limit) return splits;
  const head = (d: Dataset, n: number) => (n < d.length ? new Subset(d, Array.from({ length: n }, (_, i) => i)) : d);
  const small = Math.max(1, Math.floor(limit / 5));
  return { ...splits, train: head(splits.train, limit), validation: head(splits.validation, small), test: head(splits.test, small) };
}

function openFullDataset(spec: string, options: { valSplit?: number; seed?: number }): DatasetSplits {
  const [kind, path] = spec.includes(':') ? [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)] : [spec, undefined];
  const split = (full: Dataset, test?: Dataset) => {
    if (test && !options.valSplit) return { train: full, validation: test, test };
    const fraction = options.valSplit ?? 0.1;
    const [train, validation] = randomSplit(full, [1 - fraction, fraction], options.seed ?? 0);
    return { train, validation, test: test ?? validation };
  };
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
