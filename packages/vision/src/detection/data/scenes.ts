// Fashion-MNIST scenes: a detection dataset made on this machine from Debian's Fashion-MNIST files
// (train items from the train split, val items from the test split), written as COCO JSON + PNG.
// The same options give the same bytes.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR } from '../../data/mnist.js';
import { readIdx } from '../../data/idx.js';
import { Rng } from '../../data/rng.js';
import { mapLimit } from './image-info.js';
import { renderScene, type ItemSource, type SceneObject, type SceneOptions } from './scene-render.js';
import { detectionGridFiles } from './preview.js';

/** Bumped when the generator's output changes, so cached folders of older versions are not reused. */
export const SCENES_VERSION = 1;

export interface FashionMnistScenesOptions {
  /** Output folder: images/{train,val}/000000.png, annotations/{train,val}.json, preview.png. */
  out: string;
  /** Training scenes (default 4000). */
  train?: number;
  /** Validation scenes (default 500). */
  val?: number;
  /** Side of the square images in pixels (default 256). */
  size?: number;
  seed?: number;
  /** Smallest and largest item side (default [28, 112], capped at 0.6 × size). */
  itemSize?: [number, number];
  /** Items per scene are 1..maxItems (default 6). */
  maxItems?: number;
  /** Where the Fashion-MNIST IDX files are (default FASHION_MNIST_DIR). */
  root?: string;
  /** Called after each scene is written. */
  onProgress?: (done: number, total: number) => void;
  /** Write preview.png, a grid of training scenes with their boxes (default true). */
  preview?: boolean;
}

export interface ScenesParams {
  train: number;
  val: number;
  size: number;
  seed: number;
  itemSize: [number, number];
  maxItems: number;
}

export const SCENES_DEFAULTS = { train: 4000, val: 500, size: 256, seed: 0, maxItems: 6 } as const;

/** The options with their defaults, checked. */
export function scenesParams(options: Partial<Omit<FashionMnistScenesOptions, 'out'>> = {}): ScenesParams {
  const p = { ...SCENES_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ScenesParams & Partial<FashionMnistScenesOptions>;
  for (const key of ['train', 'val', 'seed'] as const) if (!(Number.isInteger(p[key]) && p[key] >= 0)) throw new RangeError(`fashion-mnist-scenes: ${key} must be a non-negative integer, got ${p[key]}`);
  if (!(Number.isInteger(p.size) && p.size >= 32)) throw new RangeError(`fashion-mnist-scenes: size must be an integer >= 32 pixels, got ${p.size}`);
  if (!(Number.isInteger(p.maxItems) && p.maxItems >= 1)) throw new RangeError(`fashion-mnist-scenes: maxItems must be a positive integer, got ${p.maxItems}`);
  const cap = Math.floor(0.6 * p.size);
  const [low, high] = options.itemSize ?? [28, 112];
  if (!(Number.isInteger(low) && Number.isInteger(high) && low >= 8 && low <= high)) throw new RangeError(`fashion-mnist-scenes: itemSize must be [min, max] whole pixels with 8 <= min <= max, got [${options.itemSize}]`);
  return { train: p.train, val: p.val, size: p.size, seed: p.seed, maxItems: p.maxItems, itemSize: [Math.min(low, cap), Math.min(high, cap)] };
}

const SPLITS = [
  { name: 'train', idx: 'train', code: 0 },
  { name: 'val', idx: 't10k', code: 1 },
] as const;

/** Generates the dataset into `options.out` and returns the COCO spec that reads it. */
export async function makeFashionMnistScenes(options: FashionMnistScenesOptions): Promise<{ out: string; spec: string; params: ScenesParams }> {
  const params = scenesParams(options);
  const out = resolve(options.out);
  const root = options.root ?? FASHION_MNIST_DIR;
  const total = params.train + params.val;
  let done = 0;
  const scene: SceneOptions = { size: params.size, itemSize: params.itemSize, maxItems: params.maxItems };
  for (const split of SPLITS) {
    const count = params[split.name];
    const items = loadItems(root, split.idx);
    mkdirSync(join(out, 'images', split.name), { recursive: true });
    const scenes = await mapLimit(Array.from({ length: count }, (_, i) => i), 4, async (i) => {
      const { pixels, objects } = renderScene(items, sceneRng(params.seed, split.code, i), scene);
      const fileName = `${String(i).padStart(6, '0')}.png`;
      const png = await sharp(pixels, { raw: { width: params.size, height: params.size, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
      writeFileSync(join(out, 'images', split.name, fileName), png);
      options.onProgress?.(++done, total);
      return { fileName, objects };
    });
    mkdirSync(join(out, 'annotations'), { recursive: true });
    writeFileSync(join(out, 'annotations', `${split.name}.json`), `${JSON.stringify(cocoJson(scenes, split.name, params))}\n`);
  }
  if ((options.preview ?? true) && params.train > 0) await writeScenesPreview(out);
  return { out, spec: `fashion-mnist-scenes:${out}`, params };
}

/** The Rng of scene `index` of a split: scenes do not depend on each other, nor on how many are made. */
export function sceneRng(seed: number, splitCode: number, index: number): Rng {
  return Rng.forSample(seed, splitCode, index);
}

/** Fashion-MNIST's images and labels of one split ('train' or 't10k'). */
export function loadItems(root: string, split: 'train' | 't10k'): ItemSource {
  const find = (name: string) => {
    const path = [join(root, `${name}.gz`), join(root, name)].find((p) => existsSync(p));
    if (!path) throw new Error(`fashion-mnist-scenes: ${name}(.gz) not found in ${root}; install Debian's dataset-fashion-mnist or set FASHION_MNIST_DIR`);
    return path;
  };
  const images = readIdx(find(`${split}-images-idx3-ubyte`));
  const labels = readIdx(find(`${split}-labels-idx1-ubyte`));
  if (images.shape.length !== 3 || images.shape[1] !== 28 || images.shape[2] !== 28 || labels.shape[0] !== images.shape[0]) {
    throw new Error(`fashion-mnist-scenes: ${root}: expected 28x28 images with one label each, got images [${images.shape}] and labels [${labels.shape}]`);
  }
  return { images: images.data, labels: labels.data, count: images.shape[0] };
}

function cocoJson(scenes: Array<{ fileName: string; objects: SceneObject[] }>, split: string, params: ScenesParams) {
  let next = 1;
  return {
    info: { description: `Fashion-MNIST scenes (${split}): items of Fashion-MNIST's ${split === 'train' ? 'train' : 'test'} split on textured backgrounds`, version: String(SCENES_VERSION), params },
    licenses: [],
    images: scenes.map((s, i) => ({ id: i + 1, file_name: s.fileName, width: params.size, height: params.size })),
    annotations: scenes.flatMap((s, i) =>
      s.objects.map((o) => {
        const [x1, y1, x2, y2] = o.box;
        return { id: next++, image_id: i + 1, category_id: o.categoryId, bbox: [x1, y1, x2 - x1, y2 - y1], area: o.area, iscrowd: 0, fashion_mnist: o.source };
      }),
    ),
    categories: FASHION_MNIST_CLASSES.map((name, i) => ({ id: i + 1, name, supercategory: 'fashion' })),
  };
}

/** preview.png: the first 8 training scenes with their boxes and class names. */
export async function writeScenesPreview(out: string, count = 8): Promise<string> {
  const json = JSON.parse(readFileSync(join(out, 'annotations', 'train.json'), 'utf8')) as ReturnType<typeof cocoJson>;
  const images = json.images.slice(0, count).map((image) => ({
    path: join(out, 'images', 'train', image.file_name),
    boxes: json.annotations.filter((a) => a.image_id === image.id).map((a) => [a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]]),
    labels: json.annotations.filter((a) => a.image_id === image.id).map((a) => json.categories.find((c) => c.id === a.category_id)!.name),
  }));
  const path = join(out, 'preview.png');
  await detectionGridFiles(images, path, { columns: 4 });
  return path;
}

/** Where generated datasets are cached: `$IRIS_CACHE`, else `$XDG_CACHE_HOME/iris`, else `~/.cache/iris`. */
export function scenesCacheRoot(): string {
  return process.env.IRIS_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'iris');
}

/** The cache folder of one set of parameters. */
export function scenesCacheDir(params: ScenesParams, cacheRoot = scenesCacheRoot()): string {
  const usual = scenesParams({ size: params.size }).itemSize;
  const items = params.itemSize[0] === usual[0] && params.itemSize[1] === usual[1] ? '' : `-items${params.itemSize[0]}-${params.itemSize[1]}`;
  const max = params.maxItems === SCENES_DEFAULTS.maxItems ? '' : `-max${params.maxItems}`;
  return join(cacheRoot, `fashion-mnist-scenes-v${SCENES_VERSION}-train${params.train}-val${params.val}-size${params.size}-seed${params.seed}${items}${max}`);
}

/**
 * The folder of a generated dataset, made on first use: `dir` if given, else the cache folder of
 * the parameters. Generation goes to a temporary folder renamed at the end, so a run that is
 * stopped, or two that race, never leave a half-written dataset.
 */
export async function ensureFashionMnistScenes(options: Partial<Omit<FashionMnistScenesOptions, 'out'>> & { dir?: string; cacheRoot?: string; log?: (message: string) => void } = {}): Promise<string> {
  const params = scenesParams(options);
  const dir = resolve(options.dir ?? scenesCacheDir(params, options.cacheRoot));
  if (existsSync(join(dir, 'annotations', 'val.json')) && existsSync(join(dir, 'annotations', 'train.json'))) return dir;
  const partial = `${dir}.partial-${process.pid}-${Date.now()}`;
  const started = performance.now();
  (options.log ?? console.warn)(`fashion-mnist-scenes: making ${params.train} train and ${params.val} val scenes of ${params.size} px into ${dir} (once; later runs reuse it)`);
  try {
    await makeFashionMnistScenes({ ...options, ...params, out: partial });
    (options.log ?? console.warn)(`fashion-mnist-scenes: done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    try {
      renameSync(partial, dir);
    } catch (error) {
      // Another process finished first: use its folder.
      if (!existsSync(join(dir, 'annotations', 'val.json'))) throw error;
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return dir;
}
