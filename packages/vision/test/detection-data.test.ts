// Detection readers against files Python wrote (COCO with json, VOC with xml.etree, YOLO with
// PyYAML and '%.6f' lines, images with PIL) and the targets torchvision's references build from
// them; the DataLoader with collateDetection, box-aware transforms and worker threads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import { DataLoader, Rng, type TransformSpec } from '../src/data/index.js';
import { readCoco, readVoc, readYolo, detectionDataset, collateDetection, makeFashionMnistScenes, DetectionDataset, VOC_CLASSES } from '../src/detection/data/index.js';
import { detectionPresetTrain } from '../src/transforms/index.js';
import { makeFlipBoxes } from './detection-transforms.js';
import { runPython, tempDir } from './helpers/reference.js';

const dir = tempDir();
after(() => dir.cleanup());

interface Expected {
  fileName: string;
  width: number;
  height: number;
  pixels: string;
  boxes: number[];
  labels: number[];
  area?: number[];
  iscrowd?: number[];
  difficult?: number[];
  imageId?: number;
}

/** The sample equals what Python wrote and the reference computed: pixels exactly, boxes to float32. */
async function assertSample(dataset: DetectionDataset, index: number, e: Expected, what: string): Promise<void> {
  const { image, label, target } = await dataset.get(index);
  const t = target as Record<string, torch.Tensor | number>;
  assert.equal(label, -1);
  assert.deepEqual(image.shape, [3, e.height, e.width], `${what}: image shape`);
  const hwc = image.permute([1, 2, 0]).contiguous();
  assert.ok(Buffer.from(hwc.dataSync() as Uint8Array).equals(Buffer.from(e.pixels, 'base64')), `${what}: pixels differ from PIL's`);
  const boxes = t.boxes as torch.Tensor;
  assert.equal(boxes.dtype, 'float32');
  assert.deepEqual(boxes.shape, [e.labels.length, 4], `${what}: boxes shape`);
  const got = boxes.toFlatArray();
  e.boxes.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 1e-5 * Math.max(1, Math.abs(v)), `${what}: box value ${i} is ${got[i]}, reference ${v}`));
  assert.equal((t.labels as torch.Tensor).dtype, 'int64');
  assert.deepEqual((t.labels as torch.Tensor).toFlatArray(), e.labels, `${what}: labels`);
  if (e.iscrowd) assert.deepEqual((t.iscrowd as torch.Tensor).toFlatArray(), e.iscrowd, `${what}: iscrowd`);
  if (e.area) (t.area as torch.Tensor).toFlatArray().forEach((v, i) => assert.ok(Math.abs(v - e.area![i]) <= 1e-4 * e.area![i], `${what}: area ${i}`));
  if (e.difficult) assert.deepEqual((t.difficult as torch.Tensor).toFlatArray(), e.difficult, `${what}: difficult`);
  if (e.imageId !== undefined) assert.equal(t.imageId, e.imageId);
  image.dispose();
  hwc.dispose();
  for (const v of Object.values(t)) if (v instanceof torch.Tensor) v.dispose();
}

// First in the file: tensors other tests forget are finalized at random times and would move the count.
test('live tensors: loading detection batches leaks nothing', async () => {
  const root = join(dir.path, 'coco-leak');
  runPython('detection_data_ref.py', { cmd: 'coco', dir: root, seed: 6 });
  const dataset = await readCoco(join(root, 'annotations', 'train.json'));
  const loader = new DataLoader(dataset, { batchSize: 2, collate: collateDetection, transform: makeFlipBoxes() });
  const before = torch.liveTensors();
  for (let epoch = 0; epoch < 2; epoch++) {
    for await (const batch of loader) {
      for (const t of [...batch.images, ...batch.targets.flatMap((t) => [t.boxes, t.labels, t.area, t.iscrowd])]) t.dispose();
    }
  }
  assert.equal(torch.liveTensors(), before);
});

test('COCO: targets as torchvision references build them (xywh → xyxy, crowd flag, area, image id), category ids mapped to contiguous labels', async () => {
  const root = join(dir.path, 'coco');
  const ref = runPython<{ expected: Expected[]; classes: string[] }>('detection_data_ref.py', { cmd: 'coco', dir: root, seed: 1 });
  const dataset = await readCoco(join(root, 'annotations', 'train.json'));
  assert.equal(dataset.length, 4);
  assert.deepEqual(dataset.classes, ref.classes);
  assert.deepEqual(dataset.categoryIds, [0, 1, 3, 7]);
  for (let i = 0; i < 4; i++) await assertSample(dataset, i, ref.expected[i], `image ${i}`);
  // The same folder through the spec the train command uses, and torchvision's training filters.
  const viaSpec = await detectionDataset(`coco:${root}`, 'train', { keepEmpty: false, crowd: 'drop' });
  const kept = ref.expected.filter((e) => e.iscrowd!.some((c) => c === 0));
  assert.deepEqual(viaSpec.images.map((r) => r.fileName), kept.map((e) => e.fileName), 'images without (non-crowd) objects dropped');
  assert.ok(viaSpec.images.every((r) => r.objects.every((o) => !o.iscrowd)));
  // labels 'categoryId': the category ids themselves, 'N/A' for the unused ones (COCO's 91-label layout).
  const raw = await readCoco(join(root, 'annotations', 'train.json'), { labels: 'categoryId' });
  assert.deepEqual(raw.classes, ['__background__', 'cat', 'N/A', 'dog', 'N/A', 'N/A', 'N/A', 'bird']);
  const { target } = await raw.get(0);
  const idOf = { 1: 1, 2: 3, 3: 7 } as Record<number, number>;
  assert.deepEqual((target as { labels: torch.Tensor }).labels.toFlatArray(), ref.expected[0].labels.map((l) => idOf[l]));
});

test('Pascal VOC: 1-based inclusive boxes to pixel edges, difficult kept as a flag, VOC classes, splits from ImageSets/Main', async () => {
  const root = join(dir.path, 'VOCdevkit', 'VOC2007');
  const ref = runPython<{ expected: Record<string, Expected[]> }>('detection_data_ref.py', { cmd: 'voc', dir: root, seed: 2 });
  for (const split of ['train', 'val']) {
    // The devkit folder above works too: its one VOC20xx folder is used.
    const dataset = await readVoc(join(dir.path, 'VOCdevkit'), split);
    assert.deepEqual(dataset.classes, ['__background__', ...VOC_CLASSES]);
    assert.equal(dataset.length, ref.expected[split].length);
    for (let i = 0; i < dataset.length; i++) await assertSample(dataset, i, ref.expected[split][i], `${split} ${i}`);
  }
});

for (const namesAsMap of [false, true]) {
  test(`YOLO: data.yaml (names as a ${namesAsMap ? 'map' : 'list'}), normalized cx cy w h to pixels of the size read from the image, images without label files`, async () => {
    const root = join(dir.path, `yolo-${namesAsMap}`);
    const ref = runPython<{ expected: Record<string, Expected[]>; names: string[] }>('detection_data_ref.py', { cmd: 'yolo', dir: root, seed: 3, namesAsMap });
    for (const split of ['train', 'val']) {
      const dataset = await readYolo(join(root, 'data.yaml'), split);
      assert.deepEqual(dataset.classes, ['__background__', ...ref.names]);
      assert.deepEqual(dataset.images.map((r) => r.fileName), ref.expected[split].map((e) => e.fileName));
      for (let i = 0; i < dataset.length; i++) await assertSample(dataset, i, ref.expected[split][i], `${split} ${i}`);
    }
  });
}

test('DataLoader + collateDetection: images of different sizes, one target each; workers 0 and 2 and a box-aware transform agree', async () => {
  const root = join(dir.path, 'coco-loader');
  const ref = runPython<{ expected: Expected[] }>('detection_data_ref.py', { cmd: 'coco', dir: root, seed: 4 });
  const dataset = await readCoco(join(root, 'annotations', 'train.json'));
  const spec: TransformSpec = { module: new URL('./detection-transforms.js', import.meta.url).href, export: 'makeFlipBoxes' };
  const run = async (numWorkers: number, transform?: TransformSpec) => {
    const loader = new DataLoader(dataset, { batchSize: 3, shuffle: true, seed: 5, collate: collateDetection, numWorkers, transform });
    const seen: Array<{ indices: number[]; shapes: number[][]; images: number[][]; boxes: number[][]; labels: number[][]; ids: number[] }> = [];
    for await (const batch of loader) {
      assert.ok(Array.isArray(batch.images) && batch.images.length === batch.targets.length && batch.targets.length === batch.indices.length);
      seen.push({
        indices: batch.indices,
        shapes: batch.images.map((i) => i.shape),
        images: batch.images.map((i) => i.toFlatArray()),
        boxes: batch.targets.map((t) => t.boxes.toFlatArray()),
        labels: batch.targets.map((t) => t.labels.toFlatArray()),
        ids: batch.targets.map((t) => t.imageId),
      });
      for (const t of [...batch.images, ...batch.targets.flatMap((t) => [t.boxes, t.labels, t.area, t.iscrowd])]) t.dispose();
    }
    await loader.close();
    return seen;
  };
  const plain = await run(0);
  assert.deepEqual(plain.map((b) => b.indices.length), [3, 1]);
  for (const batch of plain) {
    batch.indices.forEach((index, k) => {
      const e = ref.expected[index];
      assert.deepEqual(batch.shapes[k], [3, e.height, e.width], 'each image keeps its own size');
      assert.deepEqual(batch.labels[k], e.labels);
      assert.equal(batch.ids[k], e.imageId);
    });
  }
  assert.deepEqual(await run(2), plain, 'worker threads give the same batches');
  const flipped = await run(0, spec);
  assert.deepEqual(await run(2, spec), flipped, 'the transform replays per sample in worker threads');
  // What the transform did to each sample is what its own Rng stream says.
  const transform = makeFlipBoxes();
  for (const batch of flipped) {
    for (const [k, index] of batch.indices.entries()) {
      const sample = await dataset.get(index);
      const out = transform(sample as Parameters<typeof transform>[0], Rng.forSample(5, 0, index));
      assert.deepEqual(batch.boxes[k], out.target.boxes.toFlatArray());
      assert.deepEqual(batch.images[k], out.image.toFlatArray());
    }
  }
  assert.ok(flipped.some((b, i) => JSON.stringify(b.boxes) !== JSON.stringify(plain[i].boxes)), 'some boxes were flipped');
  // Without the detection collate the loader says what to do instead of dropping the targets.
  const stacking = new DataLoader(dataset, { batchSize: 1 });
  await assert.rejects(async () => {
    for await (const batch of stacking) void batch;
  }, /has a target .*pass a collate such as collateDetection/);
});

test("torchvision's SSD training preset (Iris's box-aware transforms) through the DataLoader: the same samples in worker threads as applied by hand", async () => {
  const out = join(dir.path, 'scenes');
  await makeFashionMnistScenes({ out, train: 0, val: 6, size: 96, seed: 2, preview: false });
  const dataset = await detectionDataset(`coco:${out}`, 'val');
  const options = { dataAugmentation: 'ssd' as const };
  const spec: TransformSpec = { module: new URL('../src/transforms/index.js', import.meta.url).href, export: 'detectionPresetTrain', options };
  const run = async (numWorkers: number) => {
    const loader = new DataLoader(dataset, { batchSize: 4, collate: collateDetection, numWorkers, transform: numWorkers ? spec : detectionPresetTrain(options), seed: 9 });
    const seen: Array<{ index: number; image: number[]; shape: number[]; boxes: number[]; labels: number[] }> = [];
    for await (const batch of loader) {
      batch.indices.forEach((index, k) => seen.push({ index, image: batch.images[k].toFlatArray(), shape: batch.images[k].shape, boxes: batch.targets[k].boxes.toFlatArray(), labels: batch.targets[k].labels.toFlatArray() }));
      for (const t of [...batch.images, ...batch.targets.flatMap((t) => [t.boxes, t.labels, t.area, t.iscrowd])]) t.dispose();
    }
    await loader.close();
    return seen;
  };
  const main = await run(0);
  assert.deepEqual(await run(2), main);
  const preset = detectionPresetTrain(options);
  for (const s of main) {
    const sample = await dataset.get(s.index);
    const expected = preset(sample as Parameters<typeof preset>[0], Rng.forSample(9, 0, s.index)) as unknown as { image: torch.Tensor; target: { boxes: torch.Tensor; labels: torch.Tensor } };
    assert.deepEqual(s.boxes, expected.target.boxes.toFlatArray(), `sample ${s.index}: boxes`);
    assert.deepEqual(s.labels, expected.target.labels.toFlatArray(), `sample ${s.index}: labels`);
    assert.deepEqual(s.image, expected.image.toFlatArray(), `sample ${s.index}: image`);
    const [, h, w] = s.shape;
    for (let i = 0; i < s.boxes.length; i += 4) assert.ok(s.boxes[i] >= 0 && s.boxes[i + 1] >= 0 && s.boxes[i + 2] <= w && s.boxes[i + 3] <= h, 'boxes stay in the image');
  }
});
