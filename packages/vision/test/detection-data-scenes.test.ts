// Fashion-MNIST scenes: boxes tight to the pasted items (redone with torch's interpolate from the
// Fashion-MNIST image each annotation names, and checked against the written pixels), val items
// from the test split, the same bytes for the same seed, and the cached spec.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR } from '../src/data/index.js';
import {
  makeFashionMnistScenes,
  detectionDataset,
  readCoco,
  scenesCacheDir,
  scenesParams,
  SCENE_ALPHA_RAMP,
  SCENE_MASK_THRESHOLD,
  SCENE_SHADE_BASE,
} from '../src/detection/data/index.js';
import { runPython, tempDir } from './helpers/reference.js';

const dir = tempDir();
after(() => dir.cleanup());

/** sha256 of every file under `root`, by relative path. */
function hashes(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(root, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(root);
  return out;
}

interface SceneCheck {
  objects: Array<{ id: number; box: number[]; annotated: number[]; area: number; annotatedArea: number; category: number; annotatedCategory: number; opaque: number; worstPixel: number }>;
  categories: Array<{ id: number; name: string }>;
  images: number;
}

const made = join(dir.path, 'scenes-a');
const options = { train: 16, val: 8, size: 128, seed: 3 };

test('boxes are tight to the items pasted: equal to the mask of the named Fashion-MNIST item scaled by torch, whose opaque pixels the PNG shows', async () => {
  const result = await makeFashionMnistScenes({ out: made, ...options });
  assert.equal(result.spec, `fashion-mnist-scenes:${made}`);
  for (const split of ['train', 'val']) {
    const ref = runPython<SceneCheck>('detection_data_ref.py', {
      cmd: 'scenes', dir: made, split, fmnist: FASHION_MNIST_DIR, threshold: SCENE_MASK_THRESHOLD, ramp: SCENE_ALPHA_RAMP, shadeBase: SCENE_SHADE_BASE,
    });
    assert.equal(ref.images, options[split as 'train' | 'val']);
    assert.deepEqual(ref.categories.map((c) => [c.id, c.name]), FASHION_MNIST_CLASSES.map((n, i) => [i + 1, n]));
    let inexact = 0;
    for (const o of ref.objects) {
      // Python reads the items of Fashion-MNIST's train split for train and its test split for val.
      assert.equal(o.annotatedCategory, o.category, `${split} annotation ${o.id}: category of the item`);
      const off = Math.max(...o.box.map((v, k) => Math.abs(v - o.annotated[k])));
      assert.ok(off <= 1, `${split} annotation ${o.id}: box [${o.annotated}] but torch's mask gives [${o.box}]`);
      if (off > 0) inexact++;
      assert.ok(Math.abs(o.area - o.annotatedArea) <= 0.01 * o.area + 2, `${split} annotation ${o.id}: area ${o.annotatedArea}, mask ${o.area}`);
      assert.ok(o.opaque > 0 && o.worstPixel <= 1.01, `${split} annotation ${o.id}: an opaque item pixel is off by ${o.worstPixel} levels in the PNG`);
    }
    // Float rounding can flip a pixel at the threshold now and then; nearly all boxes are exact.
    assert.ok(inexact <= Math.max(1, ref.objects.length * 0.02), `${inexact} of ${ref.objects.length} boxes differ from torch's by a pixel`);
    console.log(`${split}: ${ref.objects.length} boxes checked against torch, ${inexact} off by one pixel`);
  }
  const train = await readCoco(join(made, 'annotations', 'train.json'));
  const counts = train.images.map((r) => r.objects.length);
  assert.ok(counts.every((n) => n >= 1 && n <= 6), `items per scene ${counts}`);
  assert.ok(new Set(counts).size >= 3, 'the number of items varies');
  const sides = train.images.flatMap((r) => r.objects.map((o) => Math.max(o.box[2] - o.box[0], o.box[3] - o.box[1])));
  assert.ok(Math.min(...sides) < 40 && Math.max(...sides) > 60, `item sizes vary: ${Math.min(...sides)}..${Math.max(...sides)} px`);
  const preview = await sharp(join(made, 'preview.png')).metadata();
  assert.ok(preview.width! >= 4 * 256 && preview.height! >= 2 * 256, 'preview.png: a 4 x 2 grid');
});

test('the same seed gives the same bytes; scene i does not depend on how many are made; another seed differs', async () => {
  if (!existsSync(join(made, 'annotations', 'val.json'))) await makeFashionMnistScenes({ out: made, ...options });
  const again = join(dir.path, 'scenes-b');
  await makeFashionMnistScenes({ out: again, ...options });
  assert.deepEqual(hashes(again), hashes(made));
  const fewer = join(dir.path, 'scenes-fewer');
  await makeFashionMnistScenes({ out: fewer, ...options, train: 5, val: 2, preview: false });
  for (const f of ['images/train/000004.png', 'images/val/000001.png']) assert.equal(hashes(fewer)[f], hashes(made)[f], f);
  const other = join(dir.path, 'scenes-c');
  await makeFashionMnistScenes({ out: other, ...options, seed: 4, train: 4, val: 1 });
  assert.notEqual(hashes(other)['images/train/000000.png'], hashes(made)['images/train/000000.png']);
});

test("spec 'fashion-mnist-scenes' makes its cache folder on first use and reuses it; ':DIR' generates into DIR", async () => {
  const cacheRoot = join(dir.path, 'cache');
  const scenes = { train: 6, val: 3, size: 96 };
  const first = await detectionDataset('fashion-mnist-scenes', 'val', { scenes, cacheRoot });
  assert.equal(first.length, 3);
  assert.deepEqual(first.classes, ['__background__', ...FASHION_MNIST_CLASSES]);
  const folder = scenesCacheDir(scenesParams(scenes), cacheRoot);
  assert.match(folder, /fashion-mnist-scenes-v1-train6-val3-size96-seed0$/);
  const stamp = statSync(join(folder, 'annotations', 'train.json')).mtimeMs;
  const train = await detectionDataset('fashion-mnist-scenes', 'train', { scenes, cacheRoot });
  assert.equal(train.length, 6);
  assert.equal(statSync(join(folder, 'annotations', 'train.json')).mtimeMs, stamp, 'the cached folder is reused');
  assert.deepEqual(readdirSync(cacheRoot), [relative(cacheRoot, folder)], 'no partial folders are left');
  const into = join(dir.path, 'scenes-into');
  const named = await detectionDataset(`fashion-mnist-scenes:${into}`, 'train', { scenes });
  assert.equal(named.length, 6);
  assert.ok(existsSync(join(into, 'images', 'train', '000005.png')));
});
