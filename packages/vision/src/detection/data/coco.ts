// COCO instances JSON (images / annotations / categories), read as torchvision's CocoDetection
// and its references' ConvertCocoPolysToMask do (bbox xywh → xyxy), and written back.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { DetectionDataset } from './dataset.js';
import { checkImageFiles, cleanNumber, selectRecords, type ReadOptions } from './read-options.js';
import type { Category, ImageRecord, ObjectRecord } from './types.js';
import { IssueLog, lineColumn, type IssuePlace } from './validate.js';

export interface CocoReadOptions extends ReadOptions {
  /** The folder `file_name`s are relative to; by default found next to the annotation file (images/SPLIT, SPLIT2017, images, ...). */
  imagesDir?: string;
}

type Json = Record<string, unknown>;

/** Reads a COCO instances file; the images are decoded when a sample is loaded. */
export async function readCoco(annotationFile: string, options: CocoReadOptions = {}): Promise<DetectionDataset> {
  const file = resolve(annotationFile);
  const log: IssueLog = new IssueLog(`coco ${file}`, options);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    log.fatal({ file }, 'missing-annotation', `cannot read the annotation file: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const root = parseJson(text, file, log);
  const array = (key: string, required: boolean): Json[] => {
    const value = root[key];
    if (value === undefined && !required) return [];
    if (!Array.isArray(value)) log.fatal({ file }, 'field', `'${key}' must be an array${value === undefined ? ' (it is missing; is this a COCO instances file?)' : ''}`);
    return value as Json[];
  };
  const categories = readCategories(array('categories', true), file, log);
  const categoryIds = new Set(categories.map((c) => c.id));
  const imagesDir = options.imagesDir ? resolve(options.imagesDir) : findImagesDir(file, array('images', true));

  const records = new Map<number, ImageRecord>();
  array('images', true).forEach((image, i) => {
    const place = { file, where: `images[${i}]${typeof image?.id === 'number' ? ` (id ${image.id})` : ''}` };
    if (image === null || typeof image !== 'object') return log.image(place, 'field', `expected an object, got ${JSON.stringify(image)}`);
    const { id, file_name: fileName, width, height } = image;
    if (!Number.isInteger(id)) return log.image(place, 'field', `'id' must be an integer, got ${JSON.stringify(id)}`);
    if (typeof fileName !== 'string' || fileName === '') return log.image(place, 'field', `'file_name' must be a file name, got ${JSON.stringify(fileName)}`);
    for (const [key, v] of [['width', width], ['height', height]] as const) {
      if (!(Number.isInteger(v) && (v as number) > 0)) return log.image(place, 'field', `'${key}' must be a positive integer, got ${JSON.stringify(v)}`);
    }
    if (records.has(id as number)) return log.image(place, 'duplicate-id', `image id ${id} is used twice (also by '${records.get(id as number)!.fileName}')`);
    const path = isAbsolute(fileName) ? fileName : join(imagesDir, fileName);
    records.set(id as number, { id: id as number, path, fileName, width: width as number, height: height as number, objects: [] });
  });
  const invalidImages = new Set(array('images', true).map((image) => image?.id).filter((id) => typeof id === 'number' && !records.has(id)));

  let hasDifficult = false;
  array('annotations', false).forEach((a, i) => {
    const id = a?.id;
    const where = `annotation ${typeof id === 'number' ? id : `annotations[${i}]`}${a && 'image_id' in a ? ` (image ${JSON.stringify(a.image_id)})` : ''}`;
    const place: IssuePlace = { file, where };
    if (a === null || typeof a !== 'object') return log.box(place, 'field', `expected an object, got ${JSON.stringify(a)}`);
    const record = records.get(a.image_id as number);
    if (!record) {
      if (!invalidImages.has(a.image_id)) log.box(place, 'unknown-image', `image_id ${JSON.stringify(a.image_id)} is not in 'images'`);
      return;
    }
    if (!categoryIds.has(a.category_id as number)) {
      return log.box(place, 'unknown-category', `category_id ${JSON.stringify(a.category_id)} is not in 'categories' (ids ${[...categoryIds].join(', ')})`);
    }
    const bbox = a.bbox;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      return log.box(place, 'field', `'bbox' must be [x, y, width, height] of 4 numbers, got ${JSON.stringify(bbox)}`);
    }
    const iscrowd = a.iscrowd ?? 0;
    if (![0, 1, true, false].includes(iscrowd as number)) return log.box(place, 'field', `'iscrowd' must be 0 or 1, got ${JSON.stringify(iscrowd)}`);
    if (a.area !== undefined && !(typeof a.area === 'number' && a.area >= 0)) return log.box(place, 'field', `'area' must be a non-negative number, got ${JSON.stringify(a.area)}`);
    const [x, y, w, h] = bbox as number[];
    const box = log.checkBox([x, y, x + w, y + h], record.width, record.height, place);
    if (!box) return;
    if ('difficult' in a) hasDifficult = true;
    const object: ObjectRecord = { box, categoryId: a.category_id as number, area: (a.area as number | undefined) ?? w * h, iscrowd: Boolean(iscrowd), difficult: Boolean(a.difficult), ...(typeof id === 'number' && { id }) };
    record.objects.push(object);
  });

  let images = [...records.values()];
  if (options.checkImages ?? true) images = await checkImageFiles(images, log, (r) => ({ file, where: `image ${r.id}` }), { hint: `images are looked for in ${imagesDir}; pass imagesDir if they are elsewhere` });
  log.finish();
  return new DetectionDataset(selectRecords(images, options), categories, { ...options, issues: log.issues, hasDifficult, origin: `coco:${file}` });
}

function parseJson(text: string, file: string, log: IssueLog): Json {
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    const message = (error as Error).message;
    const at = /at position (\d+)/.exec(message);
    const offset = at ? Number(at[1]) : /end of JSON input/.test(message) ? text.length : undefined;
    log.fatal({ file, ...(offset !== undefined && lineColumn(text, offset)) }, 'syntax', `not valid JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) log.fatal({ file }, 'field', 'expected a JSON object with images, annotations and categories');
  return value as Json;
}

function readCategories(list: Json[], file: string, log: IssueLog): Category[] {
  const seen = new Map<number, string>();
  return list.map((c, i) => {
    const place = { file, where: `categories[${i}]` };
    if (c === null || typeof c !== 'object' || !Number.isInteger(c.id)) log.fatal(place, 'field', `'id' must be an integer, got ${JSON.stringify(c?.id)}`);
    if (typeof c.name !== 'string') log.fatal(place, 'field', `'name' must be a string, got ${JSON.stringify(c.name)}`);
    const id = c.id as number;
    if (seen.has(id)) log.fatal(place, 'duplicate-id', `category id ${id} is used twice ('${seen.get(id)}' and '${c.name}')`);
    seen.set(id, c.name);
    return { id, name: c.name, ...(typeof c.supercategory === 'string' && { supercategory: c.supercategory }) };
  });
}

/** The folder the file names are relative to: the first candidate holding the first image (else the first candidate). */
function findImagesDir(file: string, images: Json[]): string {
  const here = dirname(file);
  const root = basename(here) === 'annotations' ? dirname(here) : here;
  const split = basename(file, '.json').replace(/^instances_/, '');
  const bare = split.replace(/\d{4}$/, '');
  const imagesRoot = join(root, 'images');
  const subfolders = existsSync(imagesRoot) ? readdirSync(imagesRoot, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(imagesRoot, e.name)).sort() : [];
  const candidates = [join(imagesRoot, split), join(imagesRoot, bare), join(root, split), imagesRoot, root, here, ...subfolders];
  const first = images.find((i) => typeof i?.file_name === 'string')?.file_name as string | undefined;
  return (first && candidates.find((dir) => existsSync(join(dir, first)))) || candidates[0];
}

export interface CocoWriteOptions {
  /** Each image's file_name (default: the name it was read with). */
  fileNames?: string[];
  description?: string;
}

/** Writes `dataset` as a COCO instances file (bbox xywh; difficult as an extra field when the dataset has it). */
export function writeCoco(dataset: DetectionDataset, file: string, options: CocoWriteOptions = {}): void {
  const ids = dataset.images.flatMap((r) => r.objects.map((o) => o.id));
  const keepIds = ids.every((id) => id !== undefined) && new Set(ids).size === ids.length;
  let next = 1;
  const annotations = dataset.images.flatMap((record) =>
    record.objects.map((o) => {
      const [x1, y1, x2, y2] = o.box;
      return {
        id: keepIds ? o.id! : next++,
        image_id: record.id,
        category_id: o.categoryId,
        bbox: [x1, y1, x2 - x1, y2 - y1].map(cleanNumber),
        area: cleanNumber(o.area),
        iscrowd: o.iscrowd ? 1 : 0,
        ...(dataset.hasDifficult && { difficult: o.difficult ? 1 : 0 }),
      };
    }),
  );
  const json = {
    info: { description: options.description ?? `written by Iris from ${dataset.origin}` },
    licenses: [],
    images: dataset.images.map((r, i) => ({ id: r.id, file_name: options.fileNames?.[i] ?? r.fileName, width: r.width, height: r.height })),
    annotations,
    categories: dataset.categories.map((c) => ({ id: c.id, name: c.name, supercategory: c.supercategory ?? '' })),
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(json)}\n`);
}
