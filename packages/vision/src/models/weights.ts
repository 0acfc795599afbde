// Pretrained weights: resolve a spec, fetch it into the cache when online, verify, load.
import { nn } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import type { ImageModel, ModelEntry } from './registry.js';

/**
 * Loads `tag` (a weights tag of the entry, or a file path) into `model`. When the model's head
 * has a different number of classes than the file, the head's keys are skipped (fine-tuning).
 */
export function loadPretrained(model: ImageModel, entry: ModelEntry, tagOrPath?: string): void {
  const spec = tagOrPath === undefined ? entry.weights[0] : entry.weights.find((w) => w.tag === tagOrPath);
  const path = spec ? resolveWeightsFile(spec.url, spec.sha256) : tagOrPath!;
  let stateDict = loadStateDictFile(path);
  if (spec?.keyMap) {
    const mapped = new Map<string, import('@iris/torch').Tensor>();
    for (const [k, v] of stateDict) {
      const key = spec.keyMap(k);
      if (key !== null) mapped.set(key, v);
    }
    stateDict = mapped;
  }
  const own = model.stateDict();
  const mismatched = [...stateDict.keys()].filter((k) => own.has(k) && own.get(k)!.shape.join() !== stateDict.get(k)!.shape.join());
  for (const k of mismatched) stateDict.delete(k);
  const result = model.loadStateDict(stateDict, { strict: mismatched.length === 0 });
  if (mismatched.length && result.missingKeys.some((k) => !mismatched.includes(k))) {
    throw new Error(`${path}: keys missing for ${entry.name}: ${result.missingKeys.filter((k) => !mismatched.includes(k)).join(', ')}`);
  }
  void nn;
}

/** The local path of a weights file: the cache, else a download (see resolveWeightsFile's doc). */
export function resolveWeightsFile(url: string, sha256?: string): string {
  throw new Error(`weights download is not implemented yet: fetch ${url}${sha256 ? ` (sha256 ${sha256})` : ''} and pass its path as pretrained`);
}
