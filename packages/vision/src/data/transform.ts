// How the DataLoader names a per-sample transform, and how one sample is loaded and transformed:
// the same code runs in the main thread and in worker threads, so results do not depend on where.
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { Rng } from './rng.js';

/** A per-sample transform on a CHW image tensor; all its randomness must come from `rng`. */
export type Transform = (image: Tensor, rng: Rng) => Tensor;

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
export function resolveTransform(transform: Transform | TransformSpec): Promise<Transform> {
  if (typeof transform === 'function') return Promise.resolve(transform);
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

/** Applies `transform` with the sample's own RNG stream; `image` is consumed (disposed or returned). */
export function applyTransform(image: Tensor, transform: Transform | undefined, seed: number, epoch: number, index: number): Tensor {
  if (!transform) return image;
  const out = torch.tidy(() => transform(image, Rng.forSample(seed, epoch, index)));
  if (out !== image) image.dispose();
  return out;
}
