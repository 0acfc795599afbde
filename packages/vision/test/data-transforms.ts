// Transforms for the DataLoader tests, loaded by worker threads through a TransformSpec.
import type { Tensor } from '@iris/torch';
import type { Rng } from '../src/data/rng.js';

/** A random crop of `size`, a random horizontal flip and a random brightness: float32 output. */
export function makeRandomCropFlip(options: { size: number }): (image: Tensor, rng: Rng) => Tensor {
  const { size } = options;
  return (image, rng) => {
    const [, h, w] = image.shape;
    let out = image.narrow(1, rng.int(0, h - size + 1), size).narrow(2, rng.int(0, w - size + 1), size);
    if (rng.bernoulli(0.5)) out = out.flip([2]);
    return out.float().mul(rng.uniform(0.5, 1.5) / 255);
  };
}

/** Fails on images whose first value is `value`, to check that transform errors reach the loop. */
export function makeFailOn(options: { value: number }): (image: Tensor) => Tensor {
  return (image) => {
    if (image.flatten().narrow(0, 0, 1).item() === options.value) throw new Error(`transform refused an image starting with ${options.value}`);
    return image;
  };
}
