// Datasets against torchvision's readers (Fashion-MNIST, folder scans) and against the arrays
// Python wrote (CIFAR binary batches); subsets and splits against torch's rules.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import {
  FashionMnist,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  MnistIdx,
  readIdx,
  Cifar10,
  Cifar100,
  CIFAR100_CLASSES,
  CIFAR100_COARSE_CLASSES,
  ImageFolder,
  ImageList,
  IMAGE_EXTENSIONS,
  ImageDecodeError,
  InMemoryImageDataset,
  Subset,
  randomSplit,
  classSubset,
  takePerClass,
  type Dataset,
} from '../src/data/index.js';
import { runPython, tempDir } from './helpers/reference.js';

const dir = tempDir();
after(() => dir.cleanup());

interface FashionRef {
  length: number;
  shape: number[];
  sha256: string;
  first: string;
  firstLabel: number;
  labels: string;
  counts: number[];
  classes: string[];
}

function counts(dataset: Dataset): number[] {
  const out = new Array<number>(dataset.classes.length).fill(0);
  for (let i = 0; i < dataset.length; i++) out[dataset.targets[i]]++;
  return out;
}

const fashionRef = (): Record<'train' | 'test', FashionRef> => runPython('data_ref.py', { command: 'fashion', root: FASHION_MNIST_DIR });
let fashionTrain: FashionMnist | undefined;
const fashion = (): FashionMnist => (fashionTrain ??= new FashionMnist());

test('FashionMnist equals torchvision.datasets.FashionMNIST: every pixel, every label, class names', () => {
  const ref = fashionRef();
  for (const [split, ds] of [['train', fashion()], ['test', new FashionMnist(FASHION_MNIST_DIR, { train: false })]] as const) {
    const r = ref[split];
    assert.equal(ds.length, r.length, `${split}: length`);
    assert.deepEqual([ds.length, ...ds.imageShape], [r.shape[0], 1, r.shape[1], r.shape[2]], `${split}: shape`);
    assert.equal(createHash('sha256').update(ds.data).digest('hex'), r.sha256, `${split}: all pixels`);
    assert.ok(Buffer.from(ds.targets as Uint8Array).equals(Buffer.from(r.labels, 'base64')), `${split}: all labels`);
    assert.deepEqual(counts(ds), r.counts, `${split}: label counts`);
    assert.deepEqual(ds.classes, r.classes);
    const first = ds.get(0);
    assert.deepEqual(first.image.shape, [1, 28, 28]);
    assert.equal(first.image.dtype, 'uint8');
    assert.ok(Buffer.from(first.image.dataSync() as Uint8Array).equals(Buffer.from(r.first, 'base64')), `${split}: first image`);
    assert.equal(first.label, r.firstLabel);
    first.image.dispose();
  }
  assert.deepEqual(counts(fashion()), new Array(10).fill(6000));
  assert.deepEqual(FASHION_MNIST_CLASSES, ref.train.classes);
});

test('MnistIdx reads uncompressed IDX files like the gzipped ones; bad files are named', () => {
  for (const name of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
    writeFileSync(join(dir.path, name), gunzipSync(readFileSync(join(FASHION_MNIST_DIR, `${name}.gz`))));
  }
  const plain = new MnistIdx(join(dir.path, 't10k-images-idx3-ubyte'), join(dir.path, 't10k-labels-idx1-ubyte'));
  const gz = new FashionMnist(FASHION_MNIST_DIR, { train: false });
  assert.ok(Buffer.from(plain.data).equals(Buffer.from(gz.data)));
  assert.deepEqual(Array.from(plain.targets), Array.from(gz.targets));
  assert.deepEqual(plain.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  const truncated = join(dir.path, 'truncated-idx3-ubyte');
  writeFileSync(truncated, readFileSync(join(dir.path, 't10k-images-idx3-ubyte')).subarray(0, 5000));
  assert.throws(() => readIdx(truncated), /truncated-idx3-ubyte: header says 7840000 values of shape \[10000,28,28\], file has 4984 \(truncated\?\)/);
  assert.throws(() => new FashionMnist(dir.path + '/nowhere'), /train-images-idx3-ubyte\(\.gz\) not found in .*nowhere/);
});

test('Cifar10 and Cifar100 read the binary batches Python wrote, in order', () => {
  for (const kind of [10, 100] as const) {
    const root = join(dir.path, `cifar${kind}`);
    const folder = join(root, kind === 10 ? 'cifar-10-batches-bin' : 'cifar-100-binary');
    const ref = runPython<Record<'train' | 'test', { length: number; images: string; labels: Record<string, number[]> }>>('data_ref.py', {
      command: 'cifar',
      folder,
      kind,
      seed: kind,
    });
    for (const train of [true, false]) {
      const r = ref[train ? 'train' : 'test'];
      const variants: Array<[InMemoryImageDataset, number[], string[]]> =
        kind === 10
          ? [[new Cifar10(root, { train }), r.labels.label, ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']]]
          : [
              [new Cifar100(root, { train }), r.labels.fine, CIFAR100_CLASSES],
              [new Cifar100(folder, { train, labels: 'coarse' }), r.labels.coarse, CIFAR100_COARSE_CLASSES],
            ];
      for (const [ds, labels, classes] of variants) {
        assert.equal(ds.length, r.length);
        assert.deepEqual(ds.imageShape, [3, 32, 32]);
        assert.ok(Buffer.from(ds.data).equals(Buffer.from(r.images, 'base64')), `CIFAR-${kind} ${train ? 'train' : 'test'}: pixels`);
        assert.deepEqual(Array.from(ds.targets), labels);
        assert.deepEqual(ds.classes, classes);
      }
    }
  }
  assert.equal(CIFAR100_CLASSES.length, 100);
  assert.equal(CIFAR100_COARSE_CLASSES.length, 20);
  assert.throws(() => new Cifar10(dir.path), /test_batch\.bin not found in .* extract https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar-10-binary\.tar\.gz there/);
  writeFileSync(join(dir.path, 'cifar10', 'cifar-10-batches-bin', 'test_batch.bin'), Buffer.alloc(3073 * 2 + 5));
  assert.throws(() => new Cifar10(join(dir.path, 'cifar10'), { train: false }), /test_batch\.bin: 6151 bytes is not a whole number of 3073-byte CIFAR records/);
});

let folder: Promise<string> | undefined;
const imageFolder = (): Promise<string> => (folder ??= makeFolder());

/** root/<class>/... with images sharp encodes, a nested folder, a symlinked class, odd names, a corrupt file. */
async function makeFolder(): Promise<string> {
  const root = join(dir.path, 'folder');
  const png = await sharp({ create: { width: 6, height: 5, channels: 3, background: { r: 200, g: 10, b: 30 } } }).png().toBuffer();
  const jpg = await sharp({ create: { width: 6, height: 5, channels: 3, background: { r: 20, g: 110, b: 30 } } }).jpeg().toBuffer();
  const files: Record<string, Buffer | string> = {
    'dog/b.png': png,
    'dog/a.JPG': jpg,
    'dog/nested/c.png': png,
    'dog/nested-x/d.png': png,
    'dog/notes.txt': 'not an image',
    'Cat/z.jpeg': jpg,
    'Cat/broken.png': png.subarray(0, 40),
    'cat_2/é.webp': png,
    'bird/x.gif': png,
  };
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), bytes);
  }
  mkdirSync(join(dir.path, 'elsewhere'), { recursive: true });
  writeFileSync(join(dir.path, 'elsewhere', 'e.png'), png);
  symlinkSync(join(dir.path, 'elsewhere'), join(root, 'linked'));
  writeFileSync(join(root, 'stray.png'), png);
  return root;
}

test('ImageFolder lists classes and files in the order of torchvision DatasetFolder; files decode; corrupt files are named', async () => {
  const root = await imageFolder();
  const ds = new ImageFolder(root);
  const ref = runPython<{ classes: string[]; classToIdx: Record<string, number>; samples: Array<[string, number]> }>('data_ref.py', {
    command: 'folder',
    root,
    extensions: IMAGE_EXTENSIONS,
  });
  assert.deepEqual(ds.classes, ref.classes);
  assert.deepEqual(ds.classToIdx, ref.classToIdx);
  assert.deepEqual(ds.samples, ref.samples);
  assert.deepEqual(Array.from(ds.targets), ref.samples.map((s) => s[1]));
  const first = await ds.get(ds.samples.findIndex(([p]) => p.endsWith('b.png')));
  assert.deepEqual(first.image.shape, [3, 5, 6]);
  assert.deepEqual(first.image.toFlatArray().filter((_, i) => i % 30 === 0), [200, 10, 30]);
  assert.equal(first.label, ds.classToIdx.dog);
  first.image.dispose();
  await assert.rejects(async () => ds.get(ds.samples.findIndex(([p]) => p.endsWith('broken.png'))), (e: unknown) => {
    assert.ok(e instanceof ImageDecodeError);
    assert.match(e.message, /Cat\/broken\.png: cannot decode image: /);
    return true;
  });
  const noJpeg = new ImageFolder(root, { extensions: ['.PNG', '.gif', '.webp'], mode: 'gray' });
  assert.deepEqual(noJpeg.samples, ref.samples.filter(([p]) => !/\.jpe?g$/i.test(p)));
  assert.deepEqual((await noJpeg.get(noJpeg.samples.findIndex(([p]) => p.endsWith('b.png')))).image.shape, [1, 5, 6]);
  assert.throws(() => new ImageFolder(root, { extensions: ['.bmp'] }), /no files with extensions \.bmp in class folders Cat, bird, cat_2, dog, linked of/);
  assert.throws(() => new ImageFolder(join(root, 'dog', 'nested')), /no class folders in .*nested/);
});

test('ImageList reads CSV and JSON lists: paths relative to the list, labels by name or index', async () => {
  const root = await imageFolder();
  const listDir = join(root, 'lists');
  mkdirSync(listDir, { recursive: true });
  writeFileSync(join(listDir, 'names.csv'), 'label,path,extra\r\ndog,../dog/b.png,1\nbird,"../bird/x.gif",2\n\n"dog","../dog/nested/c.png",3\n');
  const byName = new ImageList(join(listDir, 'names.csv'));
  assert.deepEqual(byName.classes, ['bird', 'dog']);
  assert.deepEqual(byName.samples, [
    [join(root, 'dog/b.png'), 1],
    [join(root, 'bird/x.gif'), 0],
    [join(root, 'dog/nested/c.png'), 1],
  ]);
  assert.deepEqual((await byName.get(1)).image.shape, [3, 5, 6]);
  writeFileSync(join(listDir, 'indices.json'), JSON.stringify([{ path: '../dog/b.png', label: 2 }, { path: join(root, 'Cat/z.jpeg'), label: 0 }]));
  const byIndex = new ImageList(join(listDir, 'indices.json'));
  assert.deepEqual(byIndex.classes, ['0', '1', '2']);
  assert.deepEqual(byIndex.targets, [2, 0]);
  const named = new ImageList(join(listDir, 'indices.json'), { classes: ['cat', 'x', 'dog'] });
  assert.deepEqual(named.classes, ['cat', 'x', 'dog']);
  writeFileSync(join(listDir, 'quoted.csv'), 'path,label\n"../dog/a ""b"", c.png",dog\n');
  assert.equal(new ImageList(join(listDir, 'quoted.csv'), { classes: ['cat', 'dog'] }).samples[0][0], join(root, 'dog/a "b", c.png'));
  writeFileSync(join(listDir, 'bad.csv'), 'path,label\n../dog/b.png,dog\n../dog/c.png,cow\n');
  assert.throws(() => new ImageList(join(listDir, 'bad.csv'), { classes: ['cat', 'dog'] }), /bad\.csv \(line 3\): label 'cow' is neither a class name nor an index below 2/);
  writeFileSync(join(listDir, 'noheader.csv'), '../dog/b.png,dog\n');
  assert.throws(() => new ImageList(join(listDir, 'noheader.csv')), /needs a header line with 'path' and 'label' columns/);
});

function toy(n: number, classes: number): InMemoryImageDataset {
  const data = Uint8Array.from({ length: n * 4 }, (_, i) => i % 251);
  return new InMemoryImageDataset(data, [n, 1, 2, 2], Int32Array.from({ length: n }, (_, i) => (i * 7) % classes), Array.from({ length: classes }, (_, i) => `c${i}`));
}

test('randomSplit: torch.utils.data.random_split lengths for counts and fractions; disjoint, complete, seeded', async () => {
  const cases: Array<[number, number[]]> = [
    [10, [0.33, 0.33, 0.34]],
    [101, [0.8, 0.2]],
    [7, [0.5, 0.5]],
    [50, [0.1, 0.1, 0.1, 0.7]],
    [12, [5, 7]],
  ];
  const expected = runPython<number[][]>('data_ref.py', { command: 'splitLengths', cases });
  cases.forEach(([n, lengths], k) => {
    const parts = randomSplit(toy(n, 3), lengths, 1);
    assert.deepEqual(parts.map((p) => p.length), expected[k], `n=${n} [${lengths}]`);
    const all = parts.flatMap((p) => Array.from(p.indices)).sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: n }, (_, i) => i));
  });
  const ds = toy(100, 3);
  const [a] = randomSplit(ds, [0.5, 0.5], 7);
  assert.deepEqual(randomSplit(ds, [0.5, 0.5], 7)[0].indices, a.indices);
  assert.notDeepEqual(randomSplit(ds, [0.5, 0.5], 8)[0].indices, a.indices);
  assert.equal((await a.get(3)).label, ds.targets[a.indices[3]]);
  assert.throws(() => randomSplit(ds, [50, 49]), /lengths \[50,49\] must be counts summing to 100 or fractions summing to 1/);
});

test('classSubset relabels chosen classes in the order given; takePerClass takes n per class', async () => {
  const train = fashion();
  const first = classSubset(train, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat']);
  const second = classSubset(train, [9, 8, 7, 6, 5]);
  assert.deepEqual(first.classes, FASHION_MNIST_CLASSES.slice(0, 5));
  assert.deepEqual(second.classes, ['Ankle boot', 'Bag', 'Sneaker', 'Shirt', 'Sandal']);
  assert.equal(first.length, 30000);
  assert.deepEqual(counts(second), [6000, 6000, 6000, 6000, 6000]);
  for (const i of [0, 1234, 29999]) {
    const parent = second.indices[i];
    assert.equal(second.targets[i], 9 - train.targets[parent]);
    assert.equal((await second.get(i)).label, second.targets[i]);
    assert.equal(second.source!(i).label, second.targets[i]);
  }
  const batch = second.getBatch!([0, 1, 2]);
  assert.deepEqual(batch.labels.toFlatArray(), [0, 1, 2].map((i) => second.targets[i]));
  assert.deepEqual(batch.images.shape, [3, 1, 28, 28]);
  const few = takePerClass(second, 100, 3);
  assert.equal(few.length, 500);
  assert.deepEqual(counts(few), [100, 100, 100, 100, 100]);
  assert.deepEqual(few.classes, second.classes);
  assert.deepEqual(takePerClass(second, 100, 3).indices, few.indices);
  assert.notDeepEqual(takePerClass(second, 100, 4).indices, few.indices);
  assert.ok(few.indices.every((v, i) => i === 0 || v > few.indices[i - 1]), 'dataset order');
  // A subset of a subset maps through both: same pixels as the base dataset.
  const nested = await few.get(7);
  const base = train.get(second.indices[few.indices[7]]);
  assert.deepEqual(nested.image.toFlatArray(), base.image.toFlatArray());
  assert.throws(() => takePerClass(toy(10, 3), 4), /takePerClass: class 'c1' has 3 samples, fewer than 4/);
  assert.throws(() => classSubset(train, ['Cat']), /'Cat' is not one of the classes T-shirt\/top, Trouser/);
  assert.throws(() => new Subset(train, [60000]), /Subset: index 60000 is out of range for 60000 samples/);
});
