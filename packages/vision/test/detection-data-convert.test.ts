// Converters COCO ↔ VOC ↔ YOLO on files Python wrote: boxes survive each round trip (within the
// 6 decimals YOLO files keep), names and flags as far as the target format has them, images copied.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { convertDetectionDataset, detectionDataset, readCoco, readVoc, readYolo, type DetectionDataset } from '../src/detection/data/index.js';
import { runPython, tempDir } from './helpers/reference.js';

const dir = tempDir();
after(() => dir.cleanup());

/** Per image (by file name): [category name, x1, y1, x2, y2, flag] rows. */
function boxesByFile(dataset: DetectionDataset, flag: 'iscrowd' | 'difficult' | 'none' = 'none'): Map<string, Array<[string, number, number, number, number, boolean]>> {
  const name = new Map(dataset.categories.map((c) => [c.id, c.name]));
  return new Map(dataset.images.map((r) => [r.fileName, r.objects.map((o) => [name.get(o.categoryId)!, ...o.box, flag === 'none' ? false : o[flag]] as [string, number, number, number, number, boolean])]));
}

function assertSameBoxes(actual: DetectionDataset, expected: DetectionDataset, tolerance: number, flag: 'iscrowd' | 'difficult' | 'none' = 'none', what = ''): number {
  const a = boxesByFile(actual, flag);
  const e = boxesByFile(expected, flag);
  assert.deepEqual([...a.keys()].sort(), [...e.keys()].sort(), `${what}: the same image files`);
  let worst = 0;
  for (const [file, rows] of e) {
    const got = a.get(file)!;
    assert.equal(got.length, rows.length, `${what} ${file}: box count`);
    rows.forEach((row, i) => {
      assert.equal(got[i][0], row[0], `${what} ${file} box ${i}: category name`);
      assert.equal(got[i][5], row[5], `${what} ${file} box ${i}: ${flag}`);
      for (let k = 1; k <= 4; k++) worst = Math.max(worst, Math.abs((got[i][k] as number) - (row[k] as number)));
    });
  }
  assert.ok(worst <= tolerance, `${what}: boxes moved by up to ${worst} px (tolerance ${tolerance})`);
  return worst;
}

test('COCO → YOLO → COCO: boxes equal within the 6-decimal rounding of YOLO files; names kept, ids renumbered 1..K; crowd boxes left out of YOLO', async () => {
  const root = join(dir.path, 'coco');
  runPython('detection_data_ref.py', { cmd: 'coco', dir: root, seed: 7 });
  const original = await readCoco(join(root, 'annotations', 'train.json'));
  const yolo = await convertDetectionDataset(`coco:${root}`, 'yolo', join(dir.path, 'c2y'));
  assert.deepEqual(yolo.splits, { train: { images: 4, boxes: original.images.reduce((n, r) => n + r.objects.length, 0) } });
  const viaYolo = await readYolo(join(dir.path, 'c2y', 'data.yaml'), 'train');
  const back = await convertDetectionDataset({ train: viaYolo }, 'coco', join(dir.path, 'c2y2c'));
  const roundTrip = await detectionDataset(back.spec, 'train');
  assert.deepEqual(roundTrip.categories.map((c) => [c.id, c.name]), [[1, 'cat'], [2, 'dog'], [3, 'bird']]);
  const nonCrowd = new (original.constructor as typeof DetectionDataset)(original.images.map((r) => ({ ...r, objects: r.objects.filter((o) => !o.iscrowd) })), original.categories);
  // 6 decimals of a normalized coordinate: at most 0.5e-6 of the image side per value, twice (center ± half size).
  const worst = assertSameBoxes(roundTrip, nonCrowd, 1e-6 * 80, 'none', 'COCO→YOLO→COCO');
  console.log(`COCO→YOLO→COCO: max box change ${worst.toExponential(2)} px`);
  for (const name of readdirSync(join(root, 'images', 'train'))) {
    assert.ok(readFileSync(join(dir.path, 'c2y2c', 'images', 'train', name)).equals(readFileSync(join(root, 'images', 'train', name))), `${name} copied as it is`);
  }
});

test('COCO → VOC → COCO: boxes exact, crowd boxes become difficult; VOC → COCO keeps difficult', async () => {
  const root = join(dir.path, 'coco-voc');
  runPython('detection_data_ref.py', { cmd: 'coco', dir: root, seed: 8 });
  const original = await readCoco(join(root, 'annotations', 'train.json'));
  const voc = await convertDetectionDataset({ train: original }, 'voc', join(dir.path, 'c2v'));
  const viaVoc = await readVoc(voc.outDir, 'train');
  assert.deepEqual(viaVoc.classes, ['__background__', 'cat', 'dog', 'bird'], 'classes.txt keeps the names in id order');
  const asDifficult = new (original.constructor as typeof DetectionDataset)(original.images.map((r) => ({ ...r, objects: r.objects.map((o) => ({ ...o, difficult: o.iscrowd })) })), original.categories);
  assertSameBoxes(viaVoc, asDifficult, 1e-9, 'difficult', 'COCO→VOC');
  const back = await convertDetectionDataset({ train: viaVoc }, 'coco', join(dir.path, 'c2v2c'));
  assertSameBoxes(await readCoco(join(back.outDir, 'annotations', 'train.json')), asDifficult, 1e-9, 'difficult', 'COCO→VOC→COCO');
});

test('VOC (xml.etree) → COCO and YOLO (PyYAML) → VOC → YOLO: every split, label files identical to the ones Python wrote', async () => {
  const vocRoot = join(dir.path, 'VOC2007');
  runPython('detection_data_ref.py', { cmd: 'voc', dir: vocRoot, seed: 9 });
  const coco = await convertDetectionDataset(`voc:${vocRoot}`, 'coco', join(dir.path, 'v2c'));
  assert.deepEqual(Object.keys(coco.splits), ['train', 'val']);
  for (const split of ['train', 'val']) assertSameBoxes(await detectionDataset(coco.spec, split), await readVoc(vocRoot, split), 1e-9, 'difficult', `VOC→COCO ${split}`);

  const yoloRoot = join(dir.path, 'yolo');
  runPython('detection_data_ref.py', { cmd: 'yolo', dir: yoloRoot, seed: 10, namesAsMap: true });
  const voc = await convertDetectionDataset(`yolo:${join(yoloRoot, 'data.yaml')}`, 'voc', join(dir.path, 'y2v'));
  const yolo = await convertDetectionDataset(voc.spec, 'yolo', join(dir.path, 'y2v2y'));
  for (const split of ['train', 'val']) {
    const original = await readYolo(join(yoloRoot, 'data.yaml'), split);
    assertSameBoxes(await detectionDataset(yolo.spec, split), original, 1e-6 * 100, 'none', `YOLO→VOC→YOLO ${split}`);
    for (const record of original.images) {
      const stem = record.fileName.replace(/\.png$/, '');
      const labels = join(yoloRoot, 'labels', split, `${stem}.txt`);
      const written = readFileSync(join(dir.path, 'y2v2y', 'labels', split, `${stem}.txt`), 'utf8');
      const text = record.objects.length ? readFileSync(labels, 'utf8') : '';
      assert.equal(written, text, `${split}/${stem}.txt`);
    }
  }
});
