// Dataset specs as `iris train --dataset` takes them: coco:DIR|FILE, voc:DIR, yolo:data.yaml and
// fashion-mnist-scenes[:DIR] (generated on first use into a cache folder, or into DIR).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readCoco, type CocoReadOptions } from './coco.js';
import type { DetectionDataset } from './dataset.js';
import { ensureFashionMnistScenes, type ScenesParams } from './scenes.js';
import { readVoc, type VocReadOptions } from './voc.js';
import { readYolo, readYoloConfig } from './yolo.js';

export interface DetectionSpecOptions extends CocoReadOptions, VocReadOptions {
  /** fashion-mnist-scenes: the generator's parameters (defaults: SCENES_DEFAULTS). */
  scenes?: Partial<ScenesParams>;
  /** fashion-mnist-scenes: the cache root instead of ~/.cache/iris ($IRIS_CACHE). */
  cacheRoot?: string;
}

export const DETECTION_SPECS = 'coco:DIR|FILE, voc:DIR, yolo:data.yaml or fashion-mnist-scenes[:DIR]';

function parseSpec(spec: string): { kind: string; path?: string } {
  const at = spec.indexOf(':');
  return at < 0 ? { kind: spec } : { kind: spec.slice(0, at), path: spec.slice(at + 1) || undefined };
}

/** Split `split` (train, val, ...) of the dataset `spec` names. */
export async function detectionDataset(spec: string, split = 'train', options: DetectionSpecOptions = {}): Promise<DetectionDataset> {
  const { kind, path } = parseSpec(spec);
  const need = (what: string) => {
    if (!path) throw new RangeError(`dataset '${spec}': give the ${what} after '${kind}:'`);
    return path;
  };
  switch (kind) {
    case 'coco':
      return readCoco(cocoFile(resolve(need('folder or annotation file')), split), options);
    case 'voc':
      return readVoc(need('VOC folder (with Annotations/, JPEGImages/, ImageSets/Main/)'), split, options);
    case 'yolo':
      return readYolo(need('data.yaml file'), split, options);
    case 'fashion-mnist-scenes': {
      const dir = await ensureFashionMnistScenes({ ...options.scenes, dir: path, cacheRoot: options.cacheRoot });
      return readCoco(cocoFile(dir, split), options);
    }
    default:
      throw new RangeError(`dataset '${spec}': use ${DETECTION_SPECS}`);
  }
}

/** The splits a spec has, of train, val and test. */
export async function detectionSplits(spec: string): Promise<string[]> {
  const { kind, path } = parseSpec(spec);
  const wanted = ['train', 'val', 'test'];
  if (kind === 'fashion-mnist-scenes') return ['train', 'val'];
  if (!path) throw new RangeError(`dataset '${spec}': give a path after '${kind}:'`);
  if (kind === 'coco') {
    const p = resolve(path);
    if (existsSync(p) && statSync(p).isFile()) return [splitOfFile(p) ?? 'train'];
    return wanted.filter((s) => cocoCandidates(p, s).some((f) => existsSync(f)));
  }
  if (kind === 'voc') {
    const main = [join(path, 'ImageSets', 'Main'), ...(existsSync(path) ? readdirSync(path).filter((f) => /^VOC\d{4}$/.test(f)).map((f) => join(path, f, 'ImageSets', 'Main')) : [])].find((d) => existsSync(d));
    return main ? wanted.filter((s) => existsSync(join(main, `${s}.txt`))) : [];
  }
  if (kind === 'yolo') return wanted.filter((s) => s in readYoloConfig(path).splits);
  throw new RangeError(`dataset '${spec}': use ${DETECTION_SPECS}`);
}

function cocoCandidates(dir: string, split: string): string[] {
  return [join(dir, 'annotations', `${split}.json`), join(dir, 'annotations', `instances_${split}.json`), join(dir, 'annotations', `instances_${split}2017.json`), join(dir, `${split}.json`), join(dir, `instances_${split}.json`)];
}

function splitOfFile(file: string): string | undefined {
  return /(train|val|test)/.exec(basename(file))?.[1];
}

/**
 * The annotation file of `split`: in a folder, annotations/SPLIT.json (or instances_SPLIT[2017].json);
 * a file is taken as it is for its own split, and its sibling with the split's name for another.
 */
function cocoFile(path: string, split: string): string {
  if (existsSync(path) && statSync(path).isFile()) {
    const own = splitOfFile(path);
    if (!own || own === split) return path;
    const sibling = join(dirname(path), basename(path).replace(own, split));
    if (!existsSync(sibling)) throw new RangeError(`coco:${path} holds the ${own} split; for '${split}' there is no ${sibling} (give the folder, or that file)`);
    return sibling;
  }
  if (!existsSync(path)) throw new RangeError(`coco:${path}: no such folder or file`);
  const found = cocoCandidates(path, split).find((f) => existsSync(f));
  if (found) return found;
  const annotations = join(path, 'annotations');
  const present = existsSync(annotations) ? readdirSync(annotations).filter((f) => f.endsWith('.json')) : [];
  throw new RangeError(`coco:${path}: no annotation file for split '${split}' (looked for annotations/${split}.json and annotations/instances_${split}[2017].json${present.length ? `; annotations/ has ${present.join(', ')}` : ''})`);
}
