// A box-aware transform for the detection DataLoader tests, loaded by worker threads through a TransformSpec.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import type { Rng } from '../src/data/rng.js';

interface Sample {
  image: Tensor;
  target: { boxes: Tensor; [key: string]: unknown };
}

/** A random horizontal flip of image and boxes (p = 0.5), then a float conversion: what any detection pipeline starts with. */
export function makeFlipBoxes(): (sample: Sample, rng: Rng) => Sample {
  return ({ image, target }, rng) => {
    const width = image.shape[2];
    let boxes = target.boxes;
    if (rng.bernoulli(0.5)) {
      image = image.flip([2]);
      const [x1, y1, x2, y2] = [0, 1, 2, 3].map((k) => boxes.select(1, k));
      boxes = torch.stack([x2.neg().add(width), y1, x1.neg().add(width), y2], 1);
    }
    return { image: image.float().div(255), target: { ...target, boxes } };
  };
}
