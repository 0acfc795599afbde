// Converters between COCO, Pascal VOC and YOLO: read any split of any format into records, write
// them in another, copying (or linking) the image files into the new layout.
import { copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeCoco } from './coco.js';
import type { DetectionDataset } from './dataset.js';
import type { ReadOptions } from './read-options.js';
import { detectionDataset, detectionSplits } from './spec.js';
import type { DetectionFormat } from './types.js';
import { writeVoc } from './voc.js';
import { writeYoloConfig, writeYoloLabels } from './yolo.js';

export interface ConvertOptions {
  /** Which splits of a spec to convert (default: every split it has, of train, val, test). */
  splits?: string[];
  /** 'copy' the image files (default) or 'link' them (symbolic links to the originals). */
  images?: 'copy' | 'link';
  /** How the source is read (onInvalid, ...). */
  read?: ReadOptions;
}

export interface ConvertResult {
  format: DetectionFormat;
  outDir: string;
  /** The spec that reads the result back: 'coco:DIR', 'voc:DIR', 'yolo:DIR/data.yaml'. */
  spec: string;
  splits: Record<string, { images: number; boxes: number }>;
}

/**
 * Writes a dataset in `format` under `outDir`. `src` is a spec (`coco:DIR`, `voc:DIR`,
 * `yolo:data.yaml`, `fashion-mnist-scenes`) or datasets by split name.
 */
export async function convertDetectionDataset(src: string | Record<string, DetectionDataset>, format: DetectionFormat, outDir: string, options: ConvertOptions = {}): Promise<ConvertResult> {
  if (!['coco', 'voc', 'yolo'].includes(format)) throw new RangeError(`convertDetectionDataset: format must be coco, voc or yolo, got '${format}'`);
  const out = resolve(outDir);
  let datasets: Record<string, DetectionDataset>;
  if (typeof src === 'string') {
    datasets = {};
    for (const split of options.splits ?? (await detectionSplits(src))) datasets[split] = await detectionDataset(src, split, options.read);
  } else datasets = src;
  const splits = Object.keys(datasets);
  if (splits.length === 0) throw new Error(`convertDetectionDataset: ${typeof src === 'string' ? src : 'the source'} has no splits to convert`);
  const names = fileNames(datasets, format === 'voc');
  const place = (split: string, name: string) => (format === 'voc' ? join(out, 'JPEGImages', name) : join(out, 'images', split, name));
  const result: ConvertResult['splits'] = {};
  for (const split of splits) {
    const dataset = datasets[split];
    dataset.images.forEach((record, i) => {
      const target = place(split, names[split][i]);
      mkdirSync(dirname(target), { recursive: true });
      if (options.images === 'link') symlinkSync(resolve(record.path), target);
      else copyFileSync(record.path, target);
    });
    if (format === 'coco') writeCoco(dataset, join(out, 'annotations', `${split}.json`), { fileNames: names[split] });
    else if (format === 'voc') writeVoc(dataset, out, split, { fileNames: names[split] });
    else writeYoloLabels(dataset, out, split, { fileNames: names[split] });
    result[split] = { images: dataset.length, boxes: dataset.images.reduce((n, r) => n + r.objects.length, 0) };
  }
  if (format === 'yolo') writeYoloConfig(out, splits, datasets[splits[0]].categories);
  const spec = format === 'yolo' ? `yolo:${join(out, 'data.yaml')}` : `${format}:${out}`;
  return { format, outDir: out, spec, splits: result };
}

/**
 * A flat, unique file name per image of each split (folders in a name become '_'); with `shared`
 * (VOC's one JPEGImages folder) names that two splits share get the split as a prefix.
 */
function fileNames(datasets: Record<string, DetectionDataset>, shared: boolean): Record<string, string[]> {
  const names: Record<string, string[]> = {};
  for (const [split, dataset] of Object.entries(datasets)) {
    const used = new Set<string>();
    names[split] = dataset.images.map((r) => {
      const flat = r.fileName.includes('/') || r.fileName.includes('\\') ? r.fileName.replace(/[/\\]/g, '_') : basename(r.fileName);
      let name = flat;
      for (let k = 1; used.has(name); k++) name = flat.replace(/(\.[^.]*)?$/, `_${k}$1`);
      used.add(name);
      return name;
    });
  }
  if (shared) {
    const seen = new Map<string, string>();
    const clash = Object.entries(names).some(([split, list]) => list.some((n) => (seen.has(n) && seen.get(n) !== split) || (seen.set(n, split), false)));
    if (clash) for (const split of Object.keys(names)) names[split] = names[split].map((n) => `${split}_${n}`);
  }
  return names;
}
