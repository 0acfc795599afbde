// How the DataLoader names a per-sample transform, and how one sample is loaded and transformed:
// the same code runs in the main thread and in worker threads, so results do not depend on where.
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { Rng } from './rng.js';
import { tensorsIn, type SampleTarget } from './target.js';

/** A per-sample transform on a CHW image tensor; all its randomness must come from `rng`. */
export type Transform = (image: Tensor, rng: Rng) => Tensor;

/** An image with the annotations that move with it, as a transform receives it for a dataset with targets. */
export interface TargetSample {
  image: Tensor;
  target: SampleTarget;
  /** Other samples loaded with this one (a source's `mix`), for a transform that combines them (Mosaic); it must not return them. */
  mix?: TargetSample[];
}

/**
 * A transform for samples with targets (detection): it gets `{ image, target }` and returns the
 * same form. Its parameter is typed loosely so box-aware transforms with their own target types fit.
 */
export type TargetTransform = (sample: never, rng: Rng) => TargetSample;

/**
 * A transform that worker threads can re-create: `(await import(module))[export](options)` must
 * return a Transform. `module` is a URL (`new URL('./transforms.js', import.meta.url).href`), an
 * absolute path, or a package specifier; `options` must survive JSON.
 */
export interface TransformSpec {
  module: string;
  export: string;
  options?: unknown;
}

const made = new Map<string, Promise<Transform>>();

/** The Transform a spec names (made once per thread and spec), or the function itself. */
export function resolveTransform(transform: Transform | TargetTransform | TransformSpec): Promise<Transform> {
  if (typeof transform === 'function') return Promise.resolve(transform as Transform);
  const key = JSON.stringify([transform.module, transform.export, transform.options]);
  let result = made.get(key);
  if (!result) {
    result = makeTransform(transform);
    made.set(key, result);
  }
  return result;
}

async function makeTransform(spec: TransformSpec): Promise<Transform> {
  const { module, export: name } = spec;
  if (module.startsWith('.')) throw new Error(`transform module '${module}' is relative; pass new URL('${module}', import.meta.url).href`);
  const exports = (await import(isAbsolute(module) ? pathToFileURL(module).href : module)) as Record<string, unknown>;
  const factory = exports[name];
  if (typeof factory !== 'function') throw new Error(`transform module ${module} has no exported function '${name}'`);
  const transform: unknown = factory(spec.options);
  if (typeof transform !== 'function') throw new Error(`${module}: ${name}(options) must return a transform (image, rng) => Tensor`);
  return transform as Transform;
}

/**
 * `applyTransform` for a sample with a target: the transform gets `{ image, target }` and must
 * return the same form; the input's tensors that it does not return are disposed.
 */
export function applyTargetTransform(sample: TargetSample, transform: Transform | TargetTransform | undefined, seed: number, epoch: number, index: number): TargetSample {
  if (!transform) {
    if (sample.mix) throw new TypeError(`sample ${index} comes with ${sample.mix.length} more images to combine (a MosaicDataset) but the DataLoader has no transform; pass one that consumes them, e.g. YoloPresetTrain`);
    return sample;
  }
  const out = torch.tidy(() => (transform as unknown as (s: TargetSample, rng: Rng) => TargetSample)(sample, Rng.forSample(seed, epoch, index)));
  if (!(out?.image instanceof torch.Tensor) || out.target === null || typeof out.target !== 'object') {
    throw new TypeError(`transform of sample ${index}: a dataset with targets passes { image, target } and needs the same back; use a box-aware transform`);
  }
  if (out.mix) throw new TypeError(`transform of sample ${index} returned the images it was to combine (mix); use a transform that consumes them, e.g. YoloPresetTrain`);
  const kept = tensorsIn(out);
  for (const t of tensorsIn(sample)) if (!kept.has(t)) t.dispose();
  return out;
}

/** Applies `transform` with the sample's own RNG stream; `image` is consumed (disposed or returned). */
export function applyTransform(image: Tensor, transform: Transform | undefined, seed: number, epoch: number, index: number): Tensor {
  if (!transform) return image;
  const out = torch.tidy(() => transform(image, Rng.forSample(seed, epoch, index)));
  if (out !== image) image.dispose();
  return out;
}
