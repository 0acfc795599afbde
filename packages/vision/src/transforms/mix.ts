// Batch-level MixUp (Zhang et al. 2017) and CutMix (Yun et al. 2019), as torchvision's
// references/classification/transforms.py RandomMixup and RandomCutmix: each image is mixed with
// the previous one in the batch (a roll by one), and the one-hot labels in the same proportion.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { sampleBeta } from './sampling.js';
import { checkProbability, withProps, type LabeledBatch } from './transform.js';

export interface MixOptions {
  /** Probability of mixing a batch (default 0.5); unmixed batches still get one-hot labels. */
  p?: number;
  /** lambda ~ Beta(alpha, alpha) (default 1, uniform). */
  alpha?: number;
}

function checkBatch(fn: string, { images, labels }: LabeledBatch): void {
  if (images.ndim !== 4) throw new RangeError(`${fn}: images must be a batch [N, C, H, W], got shape [${images.shape}]`);
  if (labels.ndim !== 1) throw new RangeError(`${fn}: labels must be class indices [N], got shape [${labels.shape}]`);
  if (!images.isFloatingPoint()) throw new TypeError(`${fn}: images must be float, got ${images.dtype}; convert them with ToDtype('float32') first`);
  if (labels.dtype !== 'int64') throw new TypeError(`${fn}: labels must be int64 class indices, got ${labels.dtype}`);
}

function checkOptions(fn: string, numClasses: number, options: MixOptions): { p: number; alpha: number } {
  if (!(Number.isInteger(numClasses) && numClasses >= 1)) throw new RangeError(`${fn}: numClasses must be a positive integer, got ${numClasses}`);
  const alpha = options.alpha ?? 1.0;
  if (!(alpha > 0)) throw new RangeError(`${fn}: alpha must be positive, got ${alpha}`);
  return { p: checkProbability(fn, options.p ?? 0.5), alpha };
}

function oneHot(labels: Tensor, numClasses: number, like: Tensor): Tensor {
  return nn.functional.oneHot(labels, numClasses).to(like.dtype);
}

/** lam * x + (1 - lam) * x.roll(1, 0), in the order torchvision's in-place ops compute it. */
function mixWithRolled(x: Tensor, lam: number): Tensor {
  return x.mul(lam).add(x.roll(1, { dims: 0 }).mul(1.0 - lam));
}

/** MixUp with a given lambda: images and one-hot labels [N, numClasses] blended with their predecessors (other fields kept). */
export function mixup<B extends LabeledBatch>(batch: B, numClasses: number, lam: number): B {
  const { images, labels } = batch;
  return torch.tidy(() => ({ ...batch, images: mixWithRolled(images, lam), labels: mixWithRolled(oneHot(labels, numClasses, images), lam) }));
}

/** The box [x1, y1, x2, y2) pasted from the previous image, and the label weight of the image's own class. */
export interface CutMixBox {
  box: [number, number, number, number];
  lam: number;
}

/** CutMix's draws: lambda ~ Beta(alpha, alpha) and the box centre [x, y], and the box and label weight they give. */
export interface CutMixParams extends CutMixBox {
  sampledLam: number;
  center: [number, number];
}

/** CutMix with a given box: that region from the previous image; labels weighted by the areas (other fields kept). */
export function cutmix<B extends LabeledBatch>(batch: B, numClasses: number, { box, lam }: CutMixBox): B {
  const { images, labels } = batch;
  const [x1, y1, x2, y2] = box;
  return torch.tidy(() => {
    const out = images.clone();
    const region = (t: Tensor) => t.slice({ dim: 2, start: y1, end: y2 }).slice({ dim: 3, start: x1, end: x2 });
    region(out).copy_(region(images.roll(1, { dims: 0 })));
    return { ...batch, images: out, labels: mixWithRolled(oneHot(labels, numClasses, images), lam) };
  });
}

/** The batch unmixed: cloned images and one-hot labels, as torchvision returns when it skips. */
function unmixed<B extends LabeledBatch>(batch: B, numClasses: number): B {
  return torch.tidy(() => ({ ...batch, images: batch.images.clone(), labels: oneHot(batch.labels, numClasses, batch.images) }));
}

/** MixUp of a batch { images [N, C, H, W] float, labels [N] int64 } into { images, labels: soft labels [N, numClasses] }. */
export function MixUp(numClasses: number, options: MixOptions = {}) {
  const { p, alpha } = checkOptions('MixUp', numClasses, options);
  /** lambda, or null when the batch is left unmixed. */
  const getParams = (_batch: LabeledBatch, rng: Rng): { lam: number } | null => (rng.random() >= p ? null : { lam: sampleBeta(rng, alpha, alpha) });
  return withProps(
    (batch: LabeledBatch, rng: Rng): LabeledBatch => {
      checkBatch('MixUp', batch);
      const params = getParams(batch, rng);
      return params === null ? unmixed(batch, numClasses) : mixup(batch, numClasses, params.lam);
    },
    { numClasses, p, alpha, getParams },
  );
}

/** CutMix of a batch { images [N, C, H, W] float, labels [N] int64 } into { images, labels: soft labels [N, numClasses] }. */
export function CutMix(numClasses: number, options: MixOptions = {}) {
  const { p, alpha } = checkOptions('CutMix', numClasses, options);
  /** The box centred at a uniform pixel with sides sqrt(1 - lambda) of the image's, clipped; null when unmixed. */
  const getParams = ({ images }: LabeledBatch, rng: Rng): CutMixParams | null => {
    if (rng.random() >= p) return null;
    const sampled = sampleBeta(rng, alpha, alpha);
    const [H, W] = images.shape.slice(-2);
    const rx = rng.int(0, W);
    const ry = rng.int(0, H);
    const r = 0.5 * Math.sqrt(1.0 - sampled);
    const rwHalf = Math.trunc(r * W);
    const rhHalf = Math.trunc(r * H);
    const box: [number, number, number, number] = [Math.max(rx - rwHalf, 0), Math.max(ry - rhHalf, 0), Math.min(rx + rwHalf, W), Math.min(ry + rhHalf, H)];
    // The label weight follows the pasted area after clipping, not the sampled lambda.
    const lam = 1.0 - ((box[2] - box[0]) * (box[3] - box[1])) / (W * H);
    return { box, lam, sampledLam: sampled, center: [rx, ry] };
  };
  return withProps(
    (batch: LabeledBatch, rng: Rng): LabeledBatch => {
      checkBatch('CutMix', batch);
      const params = getParams(batch, rng);
      return params === null ? unmixed(batch, numClasses) : cutmix(batch, numClasses, params);
    },
    { numClasses, p, alpha, getParams },
  );
}
