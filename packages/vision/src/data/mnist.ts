// MNIST-format datasets (IDX files, gzipped or not), held in memory as uint8 [N, 1, 28, 28].
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InMemoryImageDataset } from './dataset.js';
import { readIdx } from './idx.js';

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Where Debian's dataset-fashion-mnist installs the files; FASHION_MNIST_DIR overrides it. */
export const FASHION_MNIST_DIR = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

/** An images IDX file [N, H, W] and a labels IDX file [N]. */
export class MnistIdx extends InMemoryImageDataset {
  constructor(imagesPath: string, labelsPath: string, options: { classes?: string[] } = {}) {
    const images = readIdx(imagesPath);
    const labels = readIdx(labelsPath);
    if (images.shape.length !== 3) throw new Error(`${imagesPath}: expected images of shape [N, H, W], got [${images.shape}]`);
    if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
      throw new Error(`${labelsPath}: expected ${images.shape[0]} labels to match ${imagesPath}, got shape [${labels.shape}]`);
    }
    const classes = options.classes ?? MNIST_CLASSES;
    const bad = labels.data.findIndex((l) => l >= classes.length);
    if (bad >= 0) throw new Error(`${labelsPath}: label ${bad} is ${labels.data[bad]}, but there are ${classes.length} classes`);
    const [n, h, w] = images.shape;
    super(images.data, [n, 1, h, w], labels.data, classes);
  }
}

/** Fashion-MNIST's 60000 training or 10000 test images from `root` (files named as distributed, .gz optional). */
export class FashionMnist extends MnistIdx {
  constructor(root = FASHION_MNIST_DIR, options: { train?: boolean } = {}) {
    const split = options.train === false ? 't10k' : 'train';
    const find = (name: string): string => {
      const path = [join(root, `${name}.gz`), join(root, name)].find((p) => existsSync(p));
      if (!path) throw new Error(`FashionMnist: ${name}(.gz) not found in ${root}; install Debian's dataset-fashion-mnist or pass the folder holding the files`);
      return path;
    };
    super(find(`${split}-images-idx3-ubyte`), find(`${split}-labels-idx1-ubyte`), { classes: FASHION_MNIST_CLASSES });
  }
}
