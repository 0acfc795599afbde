// iris data make fashion-mnist-scenes / check / convert, run as a user runs them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'iris.js');
const iris = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const root = mkdtempSync(join(tmpdir(), 'iris-data-'));
after(() => rmSync(root, { recursive: true, force: true }));

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

test('iris data make fashion-mnist-scenes writes COCO JSON, PNGs and a preview; the same seed gives the same bytes', async () => {
  const args = ['data', 'make', 'fashion-mnist-scenes', '--train', '6', '--val', '3', '--size', '96', '--seed', '5'];
  const a = iris(...args, '--out', join(root, 'a'));
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stdout, /wrote 6 train images with \d+ boxes and 3 val images with \d+ boxes to /);
  assert.match(a.stdout, /use it with --dataset coco:/);
  assert.match(a.stderr, /scenes 9\/9/, 'a progress bar');
  for (const f of ['annotations/train.json', 'annotations/val.json', 'images/train/000005.png', 'images/val/000002.png', 'preview.png']) assert.ok(existsSync(join(root, 'a', f)), f);
  const image = await sharp(join(root, 'a', 'images', 'train', '000000.png')).metadata();
  assert.deepEqual([image.width, image.height, image.channels], [96, 96, 3]);
  const b = iris(...args, '--out', join(root, 'b'));
  assert.equal(b.status, 0, b.stderr);
  for (const f of ['annotations/train.json', 'annotations/val.json', 'images/train/000003.png', 'preview.png']) assert.equal(sha(join(root, 'b', f)), sha(join(root, 'a', f)), f);
  const again = iris(...args, '--out', join(root, 'a'));
  assert.equal(again.status, 2);
  assert.match(again.stderr, /--out .* is not empty; pick another folder or pass --force/);
});

test('iris data check and convert: counts per class, and a converted copy that checks the same', () => {
  const made = iris('data', 'make', 'fashion-mnist-scenes', '--train', '4', '--val', '2', '--size', '64', '--out', join(root, 'c'));
  assert.equal(made.status, 0, made.stderr);
  const check = iris('data', 'check', `coco:${join(root, 'c')}`);
  assert.equal(check.status, 0, check.stderr);
  assert.match(check.stdout, /^train: 4 images \(0 without boxes\), \d+ boxes, 10 categories/m);
  assert.match(check.stdout, /^val: 2 images/m);
  assert.match(check.stdout, /Ankle boot/);
  const convert = iris('data', 'convert', `coco:${join(root, 'c')}`, '--to', 'yolo', '--out', join(root, 'y'));
  assert.equal(convert.status, 0, convert.stderr);
  assert.match(convert.stdout, /read it with --dataset yolo:.*data\.yaml/);
  const yolo = iris('data', 'check', `yolo:${join(root, 'y', 'data.yaml')}`);
  assert.equal(yolo.status, 0, yolo.stderr);
  const counts = (text: string) => text.split('\n').filter((l) => /^\s+\d+ /.test(l)).map((l) => l.trim().split(/\s+/).at(-1));
  assert.deepEqual(counts(yolo.stdout), counts(check.stdout), 'the same boxes per class');
});

test('bad input: clear errors and exit codes', () => {
  const none = iris('data');
  assert.equal(none.status, 2);
  assert.match(none.stderr, /which action\?.*make fashion-mnist-scenes/);
  const unknown = iris('data', 'make', 'cats', '--out', join(root, 'x'));
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown dataset 'cats'; the one there is: fashion-mnist-scenes/);
  const noOut = iris('data', 'make', 'fashion-mnist-scenes');
  assert.equal(noOut.status, 2);
  assert.match(noOut.stderr, /--out DIR is required/);
  const small = iris('data', 'make', 'fashion-mnist-scenes', '--size', '8', '--out', join(root, 'x'));
  assert.equal(small.status, 2);
  assert.match(small.stderr, /--size 8: expected a whole number >= 32/);
  const missing = iris('data', 'check', `coco:${join(root, 'nowhere')}`);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /iris data: .*nowhere/);
  const help = iris('data', '--help');
  assert.equal(help.status, 0);
  for (const flag of ['--out', '--train', '--val', '--size', '--seed', '--to', '--on-invalid']) assert.match(help.stdout, new RegExp(flag));
});
