// iris data make fashion-mnist-scenes | check SPEC | convert SPEC --to FORMAT --out DIR
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ProgressBar } from '@iris/vision/report';
import {
  convertDetectionDataset,
  detectionDataset,
  detectionSplits,
  makeFashionMnistScenes,
  summarize,
  SCENES_DEFAULTS,
  DETECTION_SPECS,
  type DetectionFormat,
  type OnInvalid,
} from '@iris/vision/detection';
import { UsageError, type CommandSpec, type ParsedCommand } from '../options.js';

export const spec: CommandSpec = {
  name: 'data',
  summary: 'Make, check and convert detection datasets (Fashion-MNIST scenes, COCO, Pascal VOC, YOLO).',
  description:
    'make fashion-mnist-scenes: a detection dataset from Debian\'s Fashion-MNIST (COCO JSON + PNG, same seed = same bytes) and a preview.png.\n' +
    `check SPEC: reads every split and reports images, boxes per class and problems. convert SPEC: writes it as COCO, VOC or YOLO.\nSPEC is ${DETECTION_SPECS}.`,
  usage: 'make fashion-mnist-scenes --out DIR [options] | check SPEC | convert SPEC --to coco|voc|yolo --out DIR',
  positionals: true,
  options: {
    out: { type: 'string', placeholder: 'DIR', description: 'make, convert: the folder to write (required)' },
    train: { type: 'integer', min: 0, default: SCENES_DEFAULTS.train, description: 'make: training scenes (items from Fashion-MNIST\'s train split)' },
    val: { type: 'integer', min: 0, default: SCENES_DEFAULTS.val, description: 'make: validation scenes (items from the test split)' },
    size: { type: 'integer', min: 32, default: SCENES_DEFAULTS.size, placeholder: 'PX', description: 'make: side of the square images' },
    seed: { type: 'integer', min: 0, default: SCENES_DEFAULTS.seed, description: 'make: seed of every scene' },
    maxItems: { type: 'integer', min: 1, default: SCENES_DEFAULTS.maxItems, description: 'make: items per scene are 1..N' },
    to: { type: 'string', choices: ['coco', 'voc', 'yolo'], description: 'convert: the format to write (required)' },
    split: { type: 'string', placeholder: 'NAME', description: 'check, convert: only this split (default: all of train, val, test there are)' },
    onInvalid: { type: 'string', choices: ['error', 'skip', 'clip'], default: 'error', description: 'check, convert: refuse invalid annotations, skip them, or clip boxes into the image' },
    images: { type: 'string', choices: ['copy', 'link'], default: 'copy', description: 'convert: copy the image files or link to them' },
    force: { type: 'boolean', default: false, description: 'make, convert: write into a folder that is not empty' },
  },
  examples: [
    'iris data make fashion-mnist-scenes --out data/scenes --train 4000 --val 500 --size 256 --seed 0',
    'iris data check coco:data/scenes',
    'iris data convert coco:data/scenes --to yolo --out data/scenes-yolo',
  ],
};

export async function dataCommand({ positional, values: flags }: ParsedCommand): Promise<number> {
  const [action, what] = positional;
  if (action === 'make') return make(what, flags);
  if (action === 'check') return check(what, flags);
  if (action === 'convert') return convert(what, flags);
  throw new UsageError(`iris data: ${action ? `unknown action '${action}'` : 'which action?'}; use make fashion-mnist-scenes, check SPEC or convert SPEC (see iris data --help)`);
}

function outFolder(flags: ParsedCommand['values'], action: string): string {
  if (typeof flags.out !== 'string' || !flags.out) throw new UsageError(`iris data ${action}: --out DIR is required`);
  const out = resolve(flags.out);
  if (!flags.force && existsSync(out) && readdirSync(out).length > 0) throw new UsageError(`iris data ${action}: --out ${flags.out} is not empty; pick another folder or pass --force`);
  return out;
}

async function make(what: string | undefined, flags: ParsedCommand['values']): Promise<number> {
  if (what !== 'fashion-mnist-scenes') throw new UsageError(`iris data make: ${what ? `unknown dataset '${what}'` : 'which dataset?'}; the one there is: fashion-mnist-scenes`);
  const out = outFolder(flags, 'make');
  let bar: ProgressBar | undefined;
  const made = await makeFashionMnistScenes({
    out,
    train: Number(flags.train),
    val: Number(flags.val),
    size: Number(flags.size),
    seed: Number(flags.seed),
    maxItems: Number(flags.maxItems),
    onProgress: (done, total) => (bar ??= new ProgressBar('scenes', total)).update(done),
  });
  bar?.done();
  const summary = [];
  for (const split of ['train', 'val']) {
    const dataset = await detectionDataset(made.spec, split, { checkImages: false });
    summary.push(`${dataset.length} ${split} images with ${dataset.images.reduce((n, r) => n + r.objects.length, 0)} boxes`);
  }
  console.log(`wrote ${summary.join(' and ')} to ${out}`);
  if (Number(flags.train) > 0) console.log(`preview: ${out}/preview.png`);
  console.log(`use it with --dataset coco:${out} (or ${made.spec})`);
  return 0;
}

async function splitsOf(spec: string, flags: ParsedCommand['values']): Promise<string[]> {
  if (typeof flags.split === 'string') return [flags.split];
  const splits = await detectionSplits(spec);
  if (splits.length === 0) throw new Error(`${spec}: no train, val or test split found`);
  return splits;
}

async function check(spec: string | undefined, flags: ParsedCommand['values']): Promise<number> {
  if (!spec) throw new UsageError(`iris data check SPEC: which dataset? (${DETECTION_SPECS})`);
  const onInvalid = flags.onInvalid as OnInvalid;
  let problems = 0;
  for (const split of await splitsOf(spec, flags)) {
    const dataset = await detectionDataset(spec, split, { onInvalid });
    const counts = dataset.boxCounts();
    const boxes = counts.reduce((a, b) => a + b, 0);
    const empty = dataset.images.filter((r) => r.objects.length === 0).length;
    console.log(`${split}: ${dataset.length} images (${empty} without boxes), ${boxes} boxes, ${dataset.categories.length} categories`);
    for (let label = 1; label < counts.length; label++) if (dataset.classes[label] !== 'N/A') console.log(`  ${String(dataset.categoryIds[label]).padStart(4)} ${dataset.classes[label].padEnd(24)} ${counts[label]}`);
    if (dataset.issues.length) console.log(`  ${summarize(dataset.issues)}`);
    problems += dataset.issues.length;
  }
  return problems > 0 ? 1 : 0;
}

async function convert(spec: string | undefined, flags: ParsedCommand['values']): Promise<number> {
  if (!spec) throw new UsageError(`iris data convert SPEC --to FORMAT --out DIR: which dataset? (${DETECTION_SPECS})`);
  if (typeof flags.to !== 'string') throw new UsageError('iris data convert: --to coco|voc|yolo is required');
  const out = outFolder(flags, 'convert');
  const result = await convertDetectionDataset(spec, flags.to as DetectionFormat, out, {
    splits: await splitsOf(spec, flags),
    images: flags.images as 'copy' | 'link',
    read: { onInvalid: flags.onInvalid as OnInvalid },
  });
  for (const [split, n] of Object.entries(result.splits)) console.log(`${split}: ${n.images} images, ${n.boxes} boxes`);
  console.log(`wrote ${result.format} to ${result.outDir}; read it with --dataset ${result.spec}`);
  return 0;
}
