// A corpus of broken annotation files and images: each gets a DetectionDataError that names the
// file (and line, or annotation id) and the problem, never a crash; 'skip' and 'clip' leave the
// rest readable and report each problem with a summary count.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { DataLoader } from '../src/data/index.js';
import { readCoco, readVoc, readYolo, collateDetection, DetectionDataError, type DetectionDataset } from '../src/detection/data/index.js';
import { tempDir } from './helpers/reference.js';

const dir = tempDir();
after(() => dir.cleanup());

function write(path: string, content: string | Buffer): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

async function png(path: string, width: number, height: number): Promise<void> {
  write(path, await sharp({ create: { width, height, channels: 3, background: { r: 90, g: 30, b: 200 } } }).png().toBuffer());
}

/** Expects a DetectionDataError whose message matches every pattern. */
async function refused(read: () => Promise<unknown>, ...patterns: RegExp[]): Promise<DetectionDataError> {
  try {
    await read();
  } catch (error) {
    assert.ok(error instanceof DetectionDataError, `expected a DetectionDataError, got ${(error as Error).stack}`);
    for (const p of patterns) assert.match(error.message, p);
    return error;
  }
  assert.fail('the read succeeded');
}

/** Runs `read` with warnings collected. */
async function quietly<T>(read: (warn: (m: string) => void) => Promise<T>): Promise<{ value: T; warnings: string[] }> {
  const warnings: string[] = [];
  return { value: await read((m) => warnings.push(m)), warnings };
}

const COCO = join(dir.path, 'coco');
const cocoFile = (name: string, json: unknown) => write(join(COCO, 'annotations', `${name}.json`), typeof json === 'string' ? json : JSON.stringify(json, null, 1));
const categories = [{ id: 1, name: 'a' }, { id: 2, name: 'b' }];
const image = (id: number, file = `im${id}.png`, width = 20, height = 20) => ({ id, file_name: file, width, height });
const ann = (id: number, imageId: number, bbox: unknown, categoryId = 1) => ({ id, image_id: imageId, category_id: categoryId, bbox, area: 1, iscrowd: 0 });

before(async () => {
  for (const id of [1, 2, 3]) await png(join(COCO, 'images', 'train', `im${id}.png`), 20, 20);
  await png(join(COCO, 'images', 'train', 'wide.png'), 30, 20);
  write(join(COCO, 'images', 'train', 'garbage.png'), 'this is not an image');
  const good = await sharp({ create: { width: 20, height: 20, channels: 3, background: 'black', noise: { type: 'gaussian', mean: 128, sigma: 50 } } }).png().toBuffer();
  write(join(COCO, 'images', 'train', 'truncated.png'), good.subarray(0, Math.floor(good.length / 2)));
});

test('COCO: bad JSON names the file, line and column', async () => {
  const bad = cocoFile('syntax', '{\n  "images": [\n    {"id": 1,}\n  ]\n}');
  await refused(() => readCoco(bad), new RegExp(`${bad.replace(/[.]/g, '\\.')}:3:\\d+: not valid JSON`));
  const truncated = cocoFile('truncated', '{"images": [{"id": 1, "file_name": "im1.png"');
  await refused(() => readCoco(truncated), /truncated\.json:1:\d+: not valid JSON/);
  await refused(() => readCoco(cocoFile('list', '[1, 2]')), /list\.json: expected a JSON object with images, annotations and categories/);
  await refused(() => readCoco(cocoFile('no-images', { annotations: [], categories })), /'images' must be an array \(it is missing; is this a COCO instances file\?\)/);
  await refused(() => readCoco(join(COCO, 'annotations', 'absent.json')), /absent\.json: cannot read the annotation file: no such file/);
  await refused(() => readCoco(cocoFile('bad-category', { images: [], annotations: [], categories: [{ id: 'x', name: 'a' }] })), /categories\[0\]: 'id' must be an integer/);
});

test('COCO: every annotation problem names the annotation, its image and what is wrong; all are listed at once', async () => {
  const file = cocoFile('problems', {
    images: [image(1), image(2), image(3, 'im3.png', 20, 25), image(4, 'missing.png'), image(5, 'garbage.png'), image(1, 'im2.png')],
    annotations: [
      ann(10, 1, [2, 2, 5, 5]),
      ann(11, 1, [15, 15, 10, 10]),
      ann(12, 1, [2, 2, -3, 4]),
      ann(13, 2, [2, 2, 0, 4]),
      ann(14, 2, [1, 1, 4, 4], 9),
      ann(15, 99, [1, 1, 4, 4]),
      ann(16, 2, [1, 1, 'x', 4]),
      ann(17, 2, [18.5, 2, 2, 4]),
    ],
    categories,
  });
  const error = await refused(
    () => readCoco(file),
    /10 problems/,
    /annotation 11 \(image 1\): box \[15, 15, 25, 25\] \(xyxy\) extends 5 px beyond the 20x20 image \(tolerance 1 px\)/,
    /annotation 12 \(image 1\): box \[2, 2, -1, 6\] \(xyxy\) has width -3 and height 4; a box needs a positive width and height/,
    /annotation 13 \(image 2\): box .* has width 0/,
    /annotation 14 \(image 2\): category_id 9 is not in 'categories' \(ids 1, 2\)/,
    /annotation 15 \(image 99\): image_id 99 is not in 'images'/,
    /annotation 16 \(image 2\): 'bbox' must be \[x, y, width, height\] of 4 numbers/,
    /images\[5\] \(id 1\): image id 1 is used twice \(also by 'im1\.png'\)/,
    /image 3: annotated as 20x25 but .*im3\.png is 20x20/,
    /image 4: image file .*missing\.png: no such file \(images are looked for in .*images\/train; pass imagesDir/,
    /image 5: image file .*garbage\.png cannot be read/,
    /onInvalid 'skip' \(iris: --on-invalid skip\) leaves out what is wrong/,
  );
  assert.equal(error.issues.length, 10);
  assert.ok(error.issues.every((i) => i.file === file && i.action === 'refused'));
  // Within the tolerance a box is clipped silently (annotation 17 ends at 20.5 of 20).

  const skipped = await quietly((warn) => readCoco(file, { onInvalid: 'skip', warn }));
  const kept = skipped.value;
  assert.deepEqual(kept.images.map((r) => r.id), [1, 2], 'images whose file is missing, unreadable or of another size are left out');
  assert.deepEqual(kept.images[0].objects.map((o) => o.id), [10]);
  assert.deepEqual(kept.images[1].objects.map((o) => [o.id, o.box]), [[17, [18.5, 2, 20, 6]]]);
  assert.equal(kept.issues.length, 10);
  assert.match(skipped.warnings.at(-1)!, /skipped 6 boxes and 4 images \(10 problems\)/);
  assert.ok(skipped.warnings.some((w) => /annotation 11 .* \(skipped box\)/.test(w)));

  const clipped = await quietly((warn) => readCoco(file, { onInvalid: 'clip', warn }));
  assert.deepEqual(clipped.value.images[0].objects.map((o) => [o.id, o.box]), [[10, [2, 2, 7, 7]], [11, [15, 15, 20, 20]]]);
  assert.match(clipped.warnings.at(-1)!, /skipped 5 boxes and 4 images, clipped 1 box \(10 problems\)/);
  // A box entirely outside has nothing left to clip.
  const outside = cocoFile('outside', { images: [image(1)], annotations: [ann(1, 1, [25, 25, 4, 4])], categories });
  const gone = await quietly((warn) => readCoco(outside, { onInvalid: 'clip', warn }));
  assert.equal(gone.value.images[0].objects.length, 0);
  assert.match(gone.value.issues.map((i) => i.message).join('\n'), /lies outside the 20x20 image: nothing is left after clipping/);
});

test('COCO: an image that passes its header check but is truncated fails at decode time, naming the file; onCorrupt skip leaves it out', async () => {
  const file = cocoFile('decode', { images: [image(1), image(2, 'truncated.png')], annotations: [ann(1, 2, [1, 1, 4, 4])], categories });
  const dataset = await readCoco(file);
  await assert.rejects(dataset.get(1), /truncated\.png: cannot decode image/);
  const tolerant = await readCoco(file, { onCorrupt: 'skip' });
  const loader = new DataLoader(tolerant, { batchSize: 2, collate: collateDetection });
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (m: string) => warnings.push(m);
  const threaded = new DataLoader(tolerant, { batchSize: 2, collate: collateDetection, numWorkers: 1 });
  try {
    for await (const batch of loader) assert.deepEqual(batch.indices, [0]);
    for await (const batch of threaded) {
      assert.deepEqual(batch.indices, [0]);
      assert.deepEqual(batch.targets.map((t) => t.imageId), [1], 'the targets stay with their images when one is skipped in a worker');
    }
  } finally {
    console.warn = warn;
    await threaded.close();
  }
  assert.equal(warnings.filter((w) => /skipping .*truncated\.png: cannot decode image/.test(w)).length, 2);
});

const VOC = join(dir.path, 'VOC2012');
const vocXml = (objects: string, size = '<size><width>20</width><height>20</height><depth>3</depth></size>') =>
  `<annotation>\n  <filename>a.png</filename>\n  ${size}\n${objects}</annotation>\n`;
const vocObject = (name: string, box: [unknown, unknown, unknown, unknown], difficult = 0) =>
  `  <object>\n    <name>${name}</name>\n    <difficult>${difficult}</difficult>\n    <bndbox><xmin>${box[0]}</xmin><ymin>${box[1]}</ymin><xmax>${box[2]}</xmax><ymax>${box[3]}</ymax></bndbox>\n  </object>\n`;

test('Pascal VOC: bad XML with its line and column, objects by line, unknown classes, missing files and splits', async () => {
  await png(join(VOC, 'JPEGImages', 'a.png'), 20, 20);
  write(join(VOC, 'Annotations', 'good.xml'), vocXml(vocObject('dog', [1, 1, 10, 10])));
  write(join(VOC, 'Annotations', 'broken.xml'), '<annotation>\n  <filename>a.png</filename>\n  <size><width>20</width></sise>\n</annotation>\n');
  write(join(VOC, 'Annotations', 'objects.xml'), vocXml(vocObject('dog', [1, 1, 'ten', 10]) + vocObject('unicorn', [1, 1, 5, 5]) + vocObject('cat', [5, 5, 30, 10])));
  write(join(VOC, 'ImageSets', 'Main', 'train.txt'), 'good\nbroken\nobjects\nnofile\n');
  const list = join(VOC, 'ImageSets', 'Main', 'train.txt');
  const error = await refused(
    () => readVoc(VOC, 'train', { classes: ['dog', 'cat'] }),
    /5 problems/,
    /broken\.xml:3:\d+: not valid XML: .*sise/,
    /objects\.xml:4: object 1: <bndbox> needs numbers xmin, ymin, xmax, ymax, got .*"xmax":"ten"/,
    /objects\.xml:9: object 2 'unicorn': class 'unicorn' is not one of the 2 classes \(dog, cat\)/,
    /objects\.xml:14: object 3 'cat': box \[4, 4, 30, 10\] \(xyxy\) extends 10 px beyond the 20x20 image/,
    new RegExp(`${list.replace(/[.]/g, '\\.')}: id 'nofile': .*nofile\\.xml: no such annotation file`),
  );
  assert.equal(error.issues.length, 5);
  const skipped = await quietly((warn) => readVoc(VOC, 'train', { classes: ['dog', 'cat'], onInvalid: 'skip', warn }));
  assert.deepEqual(skipped.value.images.map((r) => r.objects.length), [1, 0]);
  assert.match(skipped.warnings.at(-1)!, /skipped 3 boxes and 2 images \(5 problems\)/);
  await refused(() => readVoc(VOC, 'val'), /val\.txt: no such split list; the splits here are train/);
});

const YOLO = join(dir.path, 'yolo');
test('YOLO: bad YAML with its line, bad names, label lines by line number, classes out of range, boxes outside, corrupt images', async () => {
  const bad = write(join(YOLO, 'bad.yaml'), 'train: images/train\nnames: [a, b\nval: images/val\n');
  await refused(() => readYolo(bad), /bad\.yaml:\d+:\d+: not valid YAML/);
  await refused(() => readYolo(write(join(YOLO, 'nonames.yaml'), 'train: images/train\n')), /'names' must be a list of class names or a map/);
  await refused(() => readYolo(write(join(YOLO, 'gap.yaml'), 'train: images/train\nnames: {0: a, 2: b}\n')), /names: entry 2: "b" — a map of names needs keys 0\.\.1/);
  await refused(() => readYolo(write(join(YOLO, 'nc.yaml'), 'train: images/train\nnc: 3\nnames: [a, b]\n')), /nc is 3 but names lists 2 classes/);
  await refused(() => readYolo(write(join(YOLO, 'nosplit.yaml'), 'train: images/train\nnames: [a, b]\n'), 'val'), /no 'val' split \(it has train\)/);
  await refused(() => readYolo(write(join(YOLO, 'nodir.yaml'), 'train: images/elsewhere\nnames: [a, b]\n')), /split entry .*images\/elsewhere: no such folder or file/);

  await png(join(YOLO, 'images', 'train', 'one.png'), 40, 20);
  await png(join(YOLO, 'images', 'train', 'two.png'), 40, 20);
  write(join(YOLO, 'images', 'train', 'three.png'), 'not a png');
  write(join(YOLO, 'labels', 'train', 'one.txt'), '0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2\n\n0 0.5 abc 0.2 0.2\n2 0.5 0.5 0.2 0.2\n1 0.95 0.5 0.5 0.2\n1 0.5 0.5 0 0.2\n');
  write(join(YOLO, 'labels', 'train', 'two.txt'), '1 0.5 0.5 0.25 0.5\n');
  const data = write(join(YOLO, 'data.yaml'), 'path: .\ntrain: images/train\nnames: [a, b]\n');
  const one = join(YOLO, 'labels', 'train', 'one.txt');
  await refused(
    () => readYolo(data),
    /6 problems/,
    new RegExp(`${one.replace(/[.]/g, '\\.')}:2: expected 5 fields 'class cx cy w h', got 4: '1 0\\.5 0\\.5 0\\.2'`),
    /one\.txt:4: 'abc' is not a number/,
    /one\.txt:5: class 2 is not one of data\.yaml's 2 classes \(0\.\.1\)/,
    /one\.txt:6: box \[28, 8, 48, 12\] \(xyxy\) extends 8 px beyond the 40x20 image/,
    /one\.txt:7: box .* has width 0/,
    /three\.png: image file .*three\.png cannot be read/,
  );
  const clipped = await quietly((warn) => readYolo(data, 'train', { onInvalid: 'clip', warn }));
  assert.deepEqual(clipped.value.images.map((r) => r.objects.map((o) => o.box)), [[[16, 8, 24, 12], [28, 8, 40, 12]], [[15, 5, 25, 15]]]);
  assert.match(clipped.warnings.at(-1)!, /skipped 4 boxes and 1 image, clipped 1 box \(6 problems\)/);
});

test('a summary of many problems shows the first 20 and a count', async () => {
  const annotations = Array.from({ length: 30 }, (_, i) => ann(i + 1, 1, [1, 1, 4, 4], 5));
  const file = cocoFile('many', { images: [image(1)], annotations, categories });
  const error = await refused(() => readCoco(file), /30 problems/, /\.\.\. and 10 more/);
  assert.equal(error.issues.length, 30);
  const dataset: DetectionDataset = (await quietly((warn) => readCoco(file, { onInvalid: 'skip', warn }))).value;
  assert.equal(dataset.images[0].objects.length, 0);
});
