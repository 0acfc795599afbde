// DataLoader: order, batching, per-sample randomness independent of worker count, exact resume,
// worker threads over image files, corrupt files, errors, and the in-memory fast path.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as torch from '@iris/torch';
import { DataLoader, FashionMnist, ImageFolder, InMemoryImageDataset, Rng, classSubset, type Batch, type Dataset, type TransformSpec } from '../src/data/index.js';
import { makeRandomCropFlip } from './data-transforms.js';
import { tempDir } from './helpers/reference.js';

const dir = tempDir();
after(() => dir.cleanup());

const transformModule = new URL('./data-transforms.js', import.meta.url).href;
const cropFlip = (size: number): TransformSpec => ({ module: transformModule, export: 'makeRandomCropFlip', options: { size } });

/** n distinct images [1, 6, 5] with labels i % classes. */
function toy(n: number, classes = 3): InMemoryImageDataset {
  const data = Uint8Array.from({ length: n * 30 }, (_, i) => (i * 31 + (i >> 5)) % 256);
  return new InMemoryImageDataset(data, [n, 1, 6, 5], Int32Array.from({ length: n }, (_, i) => i % classes), Array.from({ length: classes }, (_, i) => `c${i}`));
}

interface Seen {
  indices: number[][];
  labels: number[][];
  images: number[][];
  shapes: number[][];
}

/** Runs `loader` for `epochs` epochs (or `batches` batches), keeping everything as plain arrays. */
async function collect(loader: DataLoader, options: { epochs?: number; batches?: number } = {}): Promise<Seen> {
  const seen: Seen = { indices: [], labels: [], images: [], shapes: [] };
  let left = options.batches ?? Infinity;
  for (let e = 0; e < (options.epochs ?? 1) && left > 0; e++) {
    for await (const batch of loader) {
      record(seen, batch);
      if (--left === 0) break;
    }
  }
  return seen;
}

function record(seen: Seen, batch: Batch): void {
  seen.indices.push(batch.indices);
  seen.labels.push(batch.labels.toFlatArray());
  seen.images.push(batch.images.toFlatArray());
  seen.shapes.push(batch.images.shape);
  assert.equal(batch.labels.dtype, 'int64');
  batch.images.dispose();
  batch.labels.dispose();
}

const ROOT = join(dir.path, 'images');
before(async () => {
  // 3 classes x 14 PNGs of 12x10 noise, for worker tests; different content per file.
  for (let c = 0; c < 3; c++) {
    mkdirSync(join(ROOT, `class${c}`), { recursive: true });
    for (let i = 0; i < 14; i++) {
      const noise = { type: 'gaussian' as const, mean: 40 + 60 * c + i, sigma: 40 };
      const png = await sharp({ create: { width: 12, height: 10, channels: 3, background: 'black', noise } }).png().toBuffer();
      writeFileSync(join(ROOT, `class${c}`, `${String(i).padStart(2, '0')}.png`), png);
    }
  }
});

test('batches: sizes, dropLast, the last partial batch, sequential order, len(loader)', async () => {
  const ds = toy(50);
  const plain = await collect(new DataLoader(ds, { batchSize: 16 }));
  assert.deepEqual(plain.shapes, [[16, 1, 6, 5], [16, 1, 6, 5], [16, 1, 6, 5], [2, 1, 6, 5]]);
  assert.deepEqual(plain.indices.flat(), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(plain.labels.flat(), Array.from({ length: 50 }, (_, i) => i % 3));
  assert.deepEqual(plain.images.flat(), Array.from(ds.data), 'batches hold the dataset bytes in order');
  const dropped = await collect(new DataLoader(ds, { batchSize: 16, dropLast: true }));
  assert.deepEqual(dropped.shapes.map((s) => s[0]), [16, 16, 16]);
  assert.equal(new DataLoader(ds, { batchSize: 16 }).length, 4);
  assert.equal(new DataLoader(ds, { batchSize: 16, dropLast: true }).length, 3);
  assert.equal(new DataLoader(ds, { batchSize: 10, dropLast: true }).length, 5);
});

test('shuffle: a seeded permutation per epoch, the same for the same seed, and each epoch moves on', async () => {
  const ds = toy(50);
  const a = await collect(new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 3 }), { epochs: 3 });
  const b = await collect(new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 3 }), { epochs: 3 });
  const other = await collect(new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 4 }), { epochs: 1 });
  assert.deepEqual(a, b);
  const epochs = [0, 1, 2].map((e) => a.indices.slice(7 * e, 7 * e + 7).flat());
  for (const order of epochs) assert.deepEqual([...order].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(epochs[0], epochs[1]);
  assert.notDeepEqual(epochs[1], epochs[2]);
  assert.notDeepEqual(other.indices.flat(), epochs[0]);
  const loader = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 3, epoch: 2 });
  assert.deepEqual(Array.from(loader.order()), epochs[2]);
  assert.deepEqual(loader.state(), { epoch: 2, position: 0 });
  assert.deepEqual((await collect(loader)).indices.flat(), epochs[2]);
  assert.deepEqual(loader.state(), { epoch: 3, position: 0 });
  for (const images of a.images) assert.ok(images.every((v) => Number.isInteger(v)));
});

test('per-sample randomness comes from Rng.forSample(seed, epoch, index): workers 0 and 2 give identical batches', async () => {
  const folder = new ImageFolder(ROOT);
  const options = { batchSize: 5, shuffle: true, seed: 11, epoch: 1, transform: cropFlip(8) };
  const inProcess = await collect(new DataLoader(folder, options), { epochs: 2 });
  const loader = new DataLoader(folder, { ...options, numWorkers: 2, prefetch: 3 });
  const workers = await collect(loader, { epochs: 2 });
  await loader.close();
  assert.deepEqual(workers, inProcess);
  assert.deepEqual(inProcess.shapes[0], [5, 3, 8, 8]);
  // The batch holds exactly what the transform gives for that sample's own stream.
  const transform = makeRandomCropFlip({ size: 8 });
  for (const k of [0, 3]) {
    const index = inProcess.indices[0][k];
    const { image } = await folder.get(index);
    const expected = transform(image, Rng.forSample(11, 1, index)).toFlatArray();
    assert.deepEqual(inProcess.images[0].slice(k * 192, (k + 1) * 192), expected, `sample ${index}`);
  }
  // A transform function works in the main thread and gives the same batches as its spec.
  const asFunction = await collect(new DataLoader(folder, { ...options, transform }), { epochs: 2 });
  assert.deepEqual(asFunction, inProcess);
  assert.throws(() => new DataLoader(folder, { ...options, transform, numWorkers: 2 }), /a transform function cannot be sent to worker threads; pass \{ module, export, options \}/);
});

test('resuming from state() mid-epoch, in a new loader, continues with the same batches', async () => {
  const ds = toy(45);
  for (const numWorkers of [0, 2]) {
    const options = { batchSize: 4, shuffle: true, seed: 5, numWorkers, transform: cropFlip(4) };
    const full = await collect(new DataLoader(ds, options), { epochs: 2 }); // 12 batches per epoch
    const first = new DataLoader(ds, options);
    const part = await collect(first, { batches: 7 });
    const saved = JSON.parse(JSON.stringify(first.state()));
    assert.deepEqual(saved, { epoch: 0, position: 7 });
    await first.close();
    const resumed = new DataLoader(ds, options);
    resumed.loadState(saved);
    const rest = await collect(resumed, { epochs: 2 });
    await resumed.close();
    assert.deepEqual(part.indices.concat(rest.indices), full.indices, `numWorkers ${numWorkers}: order`);
    assert.deepEqual(part.images.concat(rest.images), full.images, `numWorkers ${numWorkers}: augmented images`);
  }
  // During the last batch of an epoch the state already names the next epoch's first batch.
  const loader = new DataLoader(ds, { batchSize: 20 });
  const states: unknown[] = [];
  for await (const batch of loader) {
    states.push(loader.state());
    batch.images.dispose();
  }
  assert.deepEqual(states, [{ epoch: 0, position: 1 }, { epoch: 0, position: 2 }, { epoch: 1, position: 0 }]);
  loader.setEpoch(5);
  assert.deepEqual(loader.state(), { epoch: 5, position: 0 });
  loader.loadState({ epoch: 5, position: 2 });
  loader.setEpoch(5);
  assert.deepEqual(loader.state(), { epoch: 5, position: 2 }, 'a loop that calls setEpoch(epoch) keeps a resumed position');
  assert.throws(() => loader.loadState({ epoch: 0, position: 4 }), /state\.position 4 is past the 3 batches of an epoch/);
});

test('in-memory datasets without a transform gather whole batches: Fashion-MNIST epoch', async () => {
  const train = new FashionMnist();
  const loader = new DataLoader(train, { batchSize: 256, shuffle: true, numWorkers: 2 });
  const started = performance.now();
  let count = 0;
  let first: Batch | undefined;
  const labelCounts = new Array<number>(10).fill(0);
  for await (const batch of loader) {
    count += batch.indices.length;
    for (const l of batch.labels.toFlatArray()) labelCounts[l]++;
    if (first) {
      batch.images.dispose();
      batch.labels.dispose();
    } else first = batch;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`# Fashion-MNIST epoch, batch 256, gathered: ${seconds.toFixed(2)} s`);
  assert.equal(count, 60000);
  assert.deepEqual(labelCounts, new Array(10).fill(6000));
  assert.ok(first);
  assert.deepEqual(first.images.shape, [256, 1, 28, 28]);
  assert.equal(first.images.dtype, 'uint8');
  // Same as stacking the samples one by one.
  const expected = torch.stack(first.indices.slice(0, 8).map((i) => train.get(i).image));
  assert.deepEqual(first.images.narrow(0, 0, 8).toFlatArray(), expected.toFlatArray());
  assert.deepEqual(first.labels.toFlatArray(), first.indices.map((i) => train.targets[i]));
  // A relabelled subset gathers too, with its own labels.
  const tops = classSubset(train, ['Sneaker', 'Bag']);
  const batch = (await collect(new DataLoader(tops, { batchSize: 64 }), { batches: 1 })).labels[0];
  assert.deepEqual(batch, Array.from(tops.targets.subarray(0, 64)));
});

test('200 small JPEGs through 2 workers with a random crop', async () => {
  const root = join(dir.path, 'jpegs');
  for (let c = 0; c < 4; c++) mkdirSync(join(root, `c${c}`), { recursive: true });
  await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const jpeg = await sharp({ create: { width: 40, height: 36, channels: 3, background: { r: i, g: 255 - i, b: (i * 7) % 256 } } }).jpeg().toBuffer();
      writeFileSync(join(root, `c${i % 4}`, `${i}.jpg`), jpeg);
    }),
  );
  const folder = new ImageFolder(root);
  const loader = new DataLoader(folder, { batchSize: 16, shuffle: true, numWorkers: 2, transform: cropFlip(32) });
  const started = performance.now();
  const seen = await collect(loader);
  const seconds = (performance.now() - started) / 1000;
  await loader.close();
  console.log(`# 200 JPEGs 40x36, 2 workers, batch 16: ${seconds.toFixed(2)} s (${(200 / seconds).toFixed(0)} images/s, including worker start-up)`);
  assert.equal(seen.indices.length, 13);
  assert.deepEqual(seen.indices.flat().sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
  assert.deepEqual(seen.shapes[0], [16, 3, 32, 32]);
  assert.deepEqual(seen.labels.flat(), seen.indices.flat().map((i) => folder.targets[i]));
});

async function folderWithCorruptFile(): Promise<string> {
  const root = join(dir.path, 'corrupt');
  mkdirSync(join(root, 'a'), { recursive: true });
  mkdirSync(join(root, 'b'), { recursive: true });
  const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } }).png().toBuffer();
  for (let i = 0; i < 6; i++) writeFileSync(join(root, i < 3 ? 'a' : 'b', `${i}.png`), png);
  writeFileSync(join(root, 'b', '3.png'), png.subarray(0, 30));
  return root;
}

test("a corrupt file stops loading with its name, or under onCorrupt 'skip' leaves its batch with one warning", async () => {
  const root = await folderWithCorruptFile();
  const bad = join(root, 'b', '3.png');
  for (const numWorkers of [0, 2]) {
    const strict = new DataLoader(new ImageFolder(root), { batchSize: 2, numWorkers });
    await assert.rejects(collect(strict), (e: Error) => {
      assert.ok(e.message.startsWith(`${bad}: cannot decode image: `), `numWorkers ${numWorkers}: ${e.message}`);
      return true;
    });
    assert.deepEqual(strict.state(), { epoch: 0, position: 1 }, 'the failed batch is not counted as consumed');
    await strict.close();
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (message: string) => warnings.push(message);
    try {
      const lenient = new DataLoader(new ImageFolder(root, { onCorrupt: 'skip' }), { batchSize: 2, numWorkers });
      const seen = await collect(lenient, { epochs: 2 });
      await lenient.close();
      assert.deepEqual(seen.indices, [[0, 1], [2], [4, 5], [0, 1], [2], [4, 5]]);
      assert.deepEqual(seen.shapes[1], [1, 3, 4, 4]);
    } finally {
      console.warn = warn;
    }
    assert.equal(warnings.length, 1, `numWorkers ${numWorkers}: one warning per file`);
    assert.ok(warnings[0].startsWith(`warning: skipping ${bad}: cannot decode image: `), warnings[0]);
  }
});

test('errors from worker transforms and unequal image sizes reach the loop with what went wrong', async () => {
  const ds = toy(12);
  const failing: TransformSpec = { module: transformModule, export: 'makeFailOn', options: { value: ds.data[7 * 30] } };
  const loader = new DataLoader(ds, { batchSize: 4, numWorkers: 2, transform: failing });
  await assert.rejects(collect(loader), /transform refused an image starting with/);
  await loader.close();
  const missing: TransformSpec = { module: transformModule, export: 'nothing' };
  const loader2 = new DataLoader(ds, { batchSize: 4, numWorkers: 1, transform: missing });
  await assert.rejects(collect(loader2), /data-transforms\.js has no exported function 'nothing'/);
  await loader2.close();
  await assert.rejects(collect(new DataLoader(ds, { transform: { module: './x.js', export: 'f' } })), /transform module '\.\/x\.js' is relative; pass new URL/);

  const root = join(dir.path, 'sizes');
  mkdirSync(join(root, 'a'), { recursive: true });
  for (const [name, width] of [['1.png', 4], ['2.png', 5]] as const) {
    writeFileSync(join(root, 'a', name), await sharp({ create: { width, height: 3, channels: 3, background: 'blue' } }).png().toBuffer());
  }
  for (const numWorkers of [0, 1]) {
    const sized = new DataLoader(new ImageFolder(root), { batchSize: 2, numWorkers });
    await assert.rejects(collect(sized), /sample 0 has shape \[3,3,4\] but sample 1 has \[3,3,5\]; a batch needs equal shapes/);
    await sized.close();
    const cropped = new DataLoader(new ImageFolder(root), { batchSize: 2, numWorkers, transform: cropFlip(3) });
    assert.deepEqual((await collect(cropped)).shapes, [[2, 3, 3, 3]]);
    await cropped.close();
  }
  const custom: Dataset = { length: 3, classes: ['x'], targets: [0, 0, 0], get: (i) => ({ image: torch.full([1, 2, 2], i, { dtype: 'uint8' }), label: 0 }) };
  assert.throws(() => new DataLoader(custom, { numWorkers: 2 }), /Object has no source\(\), so its samples cannot be loaded in worker threads; use numWorkers: 0/);
  assert.deepEqual((await collect(new DataLoader(custom, { batchSize: 3 }))).images, [[0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]]);
});

test('collate, and breaking out of a loop: prefetched batches are freed, the loader can be iterated again', async () => {
  const ds = toy(40);
  const collate = (samples: { image: torch.Tensor; label: number }[]) => ({
    images: torch.cat(samples.map((s) => s.image.flatten())),
    labels: torch.tensor(samples.map((s) => s.label * 10), { dtype: 'int64' }),
  });
  const seen = await collect(new DataLoader(ds, { batchSize: 4, collate }), { batches: 1 });
  assert.deepEqual(seen.shapes, [[120]]);
  assert.deepEqual(seen.labels, [[0, 10, 20, 0]]);

  const before = torch.liveTensors();
  const loader = new DataLoader(ds, { batchSize: 4, prefetch: 5, transform: (image) => image.float() });
  const firstTwo = await collect(loader, { batches: 1 });
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(torch.liveTensors(), before, 'no tensor of the prefetched batches is left');
  assert.deepEqual(loader.state(), { epoch: 0, position: 1 });
  const rest = await collect(loader);
  assert.deepEqual(firstTwo.indices.concat(rest.indices).flat(), Array.from({ length: 40 }, (_, i) => i));
});
