// A transform is a function of an input and a seeded Rng, so every random choice replays from the
// sample's seed (Rng.forSample) whichever worker runs it. Per-sample transforms take [..., C, H, W]
// image tensors or detection samples { image, target } (see sample.ts); batch transforms (MixUp,
// CutMix) take { images, labels } batches, as the DataLoader yields them.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import type { DispatchTransform } from './sample.js';

export type Transform<T = Tensor> = (input: T, rng: Rng) => T;

/** A batch: images [N, C, H, W] and labels, [N] class indices or [N, numClasses] soft labels (the DataLoader's batches fit). */
export interface LabeledBatch {
  images: Tensor;
  labels: Tensor;
}

/** Attaches a transform's settings and its getParams to the function, for inspection and tests. */
export function withProps<F extends (...args: never[]) => unknown, P extends object>(fn: F, props: P): F & P {
  return Object.assign(fn, props);
}

/** Runs the transforms in order; tensors made along the way are freed as soon as the result is out. */
export function Compose(transforms: DispatchTransform[]): DispatchTransform & { transforms: DispatchTransform[] };
export function Compose<T = Tensor>(transforms: Transform<T>[]): Transform<T> & { transforms: Transform<T>[] };
export function Compose<T>(transforms: Transform<T>[]) {
  return withProps((input: T, rng: Rng) => torch.tidy(() => transforms.reduce((x, t) => t(x, rng), input)), { transforms });
}

export function checkProbability(fn: string, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${fn}: p must be a probability in [0, 1], got ${p}`);
  return p;
}

export function checkRange(fn: string, name: string, range: number[]): [number, number] {
  if (range.length !== 2 || !(range[0] <= range[1])) throw new RangeError(`${fn}: ${name} must be [min, max] with min <= max, got [${range}]`);
  return [range[0], range[1]];
}

/** Applies all the transforms with probability p (default 0.5), else none. */
export function RandomApply(transforms: DispatchTransform[], options?: { p?: number }): DispatchTransform & { transforms: DispatchTransform[]; p: number; getParams: (input: unknown, rng: Rng) => { apply: boolean } };
export function RandomApply<T = Tensor>(transforms: Transform<T>[], options?: { p?: number }): Transform<T> & { transforms: Transform<T>[]; p: number; getParams: (input: T, rng: Rng) => { apply: boolean } };
export function RandomApply<T>(transforms: Transform<T>[], options: { p?: number } = {}) {
  const p = options.p ?? 0.5;
  checkProbability('RandomApply', p);
  const all = Compose(transforms);
  // torchvision skips when p < U, so U == p still applies.
  const getParams = (_input: T, rng: Rng): { apply: boolean } => ({ apply: !(p < rng.random()) });
  return withProps((input: T, rng: Rng) => (getParams(input, rng).apply ? all(input, rng) : input), { transforms, p, getParams });
}

/** Applies one of the transforms, picked uniformly or with the relative weights `p` (Python's random.choices). */
export function RandomChoice(transforms: DispatchTransform[], options?: { p?: number[] }): DispatchTransform & { transforms: DispatchTransform[]; p: number[] | undefined; getParams: (input: unknown, rng: Rng) => { index: number } };
export function RandomChoice<T = Tensor>(transforms: Transform<T>[], options?: { p?: number[] }): Transform<T> & { transforms: Transform<T>[]; p: number[] | undefined; getParams: (input: T, rng: Rng) => { index: number } };
export function RandomChoice<T>(transforms: Transform<T>[], options: { p?: number[] } = {}) {
  if (transforms.length === 0) throw new RangeError('RandomChoice: give at least one transform');
  const weights = options.p;
  if (weights !== undefined && (weights.length !== transforms.length || weights.some((w) => !(w >= 0)))) {
    throw new RangeError(`RandomChoice: p must give a non-negative weight per transform (${transforms.length}), got [${weights}]`);
  }
  const cumulative: number[] = [];
  if (weights) weights.reduce((sum, w) => (cumulative.push(sum + w), sum + w), 0);
  const getParams = (_input: T, rng: Rng): { index: number } => {
    if (!weights) return { index: Math.floor(rng.random() * transforms.length) };
    const x = rng.random() * cumulative[cumulative.length - 1];
    let index = 0;
    while (index < transforms.length - 1 && cumulative[index] <= x) index++;
    return { index };
  };
  return withProps((input: T, rng: Rng) => transforms[getParams(input, rng).index](input, rng), { transforms, p: weights, getParams });
}
