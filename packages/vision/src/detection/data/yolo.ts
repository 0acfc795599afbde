// YOLO txt (Ultralytics): data.yaml with path, train, val and names; images/… with labels/… beside
// them, one `class cx cy w h` line per object, normalized to the image size read from the file.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parse, stringify, YAMLError } from 'yaml';
import { IMAGE_EXTENSIONS } from '../../data/image-folder.js';
import { DetectionDataset } from './dataset.js';
import { mapLimit } from './image-info.js';
import { checkImageFiles, selectRecords, type ReadOptions } from './read-options.js';
import type { Category, ImageRecord } from './types.js';
import { IssueLog, type IssuePlace } from './validate.js';

interface RawLabel {
  values: number[];
  place: IssuePlace;
}

/** data.yaml, parsed and checked. */
export interface YoloConfig {
  file: string;
  /** The dataset root: `path` (relative to the yaml's folder), else that folder. */
  root: string;
  names: string[];
  /** Each split's entries as written (folders or .txt lists, relative to root). */
  splits: Record<string, string[]>;
}

export function readYoloConfig(yamlFile: string, log: IssueLog = new IssueLog(`yolo ${resolve(yamlFile)}`)): YoloConfig {
  const file = resolve(yamlFile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    log.fatal({ file }, 'missing-annotation', `cannot read the dataset file: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    const pos = error instanceof YAMLError ? error.linePos?.[0] : undefined;
    log.fatal({ file, ...(pos && { line: pos.line, column: pos.col }) }, 'syntax', `not valid YAML: ${(error as Error).message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) log.fatal({ file }, 'field', 'expected a mapping with path, train, val and names');
  const config = data as Record<string, unknown>;
  const names = readNames(config.names, file, log);
  if (config.nc !== undefined && config.nc !== names.length) log.fatal({ file }, 'field', `nc is ${JSON.stringify(config.nc)} but names lists ${names.length} classes`);
  const root = typeof config.path === 'string' && config.path ? resolve(dirname(file), config.path) : dirname(file);
  const splits: Record<string, string[]> = {};
  for (const key of ['train', 'val', 'test']) {
    const value = config[key];
    if (value === undefined || value === null) continue;
    const entries = Array.isArray(value) ? value : [value];
    if (!entries.every((e) => typeof e === 'string')) log.fatal({ file }, 'field', `'${key}' must be a folder or .txt list (or a list of them), got ${JSON.stringify(value)}`);
    splits[key] = entries as string[];
  }
  return { file, root, names, splits };
}

function readNames(names: unknown, file: string, log: IssueLog): string[] {
  if (Array.isArray(names) && names.every((n) => typeof n === 'string' || typeof n === 'number')) return names.map(String);
  if (names !== null && typeof names === 'object' && !Array.isArray(names)) {
    const entries = Object.entries(names as Record<string, unknown>);
    const out: string[] = [];
    for (const [key, name] of entries) {
      const k = Number(key);
      if (!Number.isInteger(k) || k < 0 || k >= entries.length || typeof name !== 'string') {
        log.fatal({ file }, 'field', `names: entry ${key}: ${JSON.stringify(name)} — a map of names needs keys 0..${entries.length - 1} and string names`);
      }
      out[k] = name;
    }
    return out;
  }
  log.fatal({ file }, 'field', `'names' must be a list of class names or a map {0: name, ...}, got ${JSON.stringify(names)}`);
}

/** Ultralytics' img2label_paths: the last /images/ becomes /labels/, the extension .txt. */
export function labelPath(imagePath: string): string {
  const marker = `${sep}images${sep}`;
  const at = imagePath.lastIndexOf(marker);
  const swapped = at >= 0 ? `${imagePath.slice(0, at)}${sep}labels${sep}${imagePath.slice(at + marker.length)}` : imagePath;
  return swapped.slice(0, swapped.length - extname(swapped).length) + '.txt';
}

/** Reads split `split` (train, val, test) of the dataset a data.yaml describes. */
export async function readYolo(yamlFile: string, split = 'train', options: ReadOptions = {}): Promise<DetectionDataset> {
  const log: IssueLog = new IssueLog(`yolo ${resolve(yamlFile)} (${split})`, options);
  const config = readYoloConfig(yamlFile, log);
  const entries = config.splits[split];
  if (!entries) log.fatal({ file: config.file }, 'field', `no '${split}' split (it has ${Object.keys(config.splits).join(', ') || 'none'})`);
  const images: Array<{ path: string; fileName: string }> = [];
  for (const entry of entries) images.push(...listImages(resolve(config.root, entry), config.root, config.file, log));

  const labels = await mapLimit(images, 16, async ({ path }) => {
    const file = labelPath(path);
    // No label file is an image without objects (a background image), as Ultralytics reads it.
    const text = await readFile(file, 'utf8').catch(() => '');
    const out: RawLabel[] = [];
    text.split(/\r?\n/).forEach((line, i) => {
      const fields = line.trim().split(/\s+/).filter(Boolean);
      if (fields.length === 0) return;
      const place = { file, line: i + 1 };
      if (fields.length !== 5) return log.box(place, 'field', `expected 5 fields 'class cx cy w h', got ${fields.length}: '${line.trim()}'`);
      const bad = fields.find((f) => !Number.isFinite(Number(f)));
      if (bad !== undefined) return log.box(place, 'field', `'${bad}' is not a number in '${line.trim()}'`);
      out.push({ values: fields.map(Number), place });
    });
    return out;
  });

  let records: ImageRecord[] = images.map((image, i) => ({ id: i + 1, path: image.path, fileName: image.fileName, width: 0, height: 0, objects: [] }));
  const rawOf = new Map(records.map((r, i) => [r.id, labels[i]]));
  records = await checkImageFiles(records, log, (r) => ({ file: r.path }), { sizeFromFile: true });
  const k = config.names.length;
  for (const record of records) {
    for (const { values, place } of rawOf.get(record.id)!) {
      const [cls, cx, cy, w, h] = values;
      if (!Number.isInteger(cls) || cls < 0 || cls >= k) {
        log.box(place, 'unknown-category', `class ${cls} is not one of data.yaml's ${k} classes (0..${k - 1})`);
        continue;
      }
      const W = record.width;
      const H = record.height;
      const box = log.checkBox([(cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W, (cy + h / 2) * H], W, H, place);
      if (box) record.objects.push({ box, categoryId: cls + 1, area: (box[2] - box[0]) * (box[3] - box[1]), iscrowd: false, difficult: false });
    }
  }
  log.finish();
  const categories: Category[] = config.names.map((name, i) => ({ id: i + 1, name }));
  return new DetectionDataset(selectRecords(records, options), categories, { ...options, issues: log.issues, origin: `yolo:${config.file} (${split})` });
}

/** The images of one split entry: a folder (searched recursively) or a .txt list of image paths. */
function listImages(entry: string, root: string, file: string, log: IssueLog): Array<{ path: string; fileName: string }> {
  if (!existsSync(entry)) log.fatal({ file }, 'missing-image', `split entry ${entry}: no such folder or file`);
  if (statSync(entry).isFile()) {
    // Ultralytics resolves './' lines against the list's folder; others are taken from the dataset root.
    return readFileSync(entry, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((line) => {
      const path = isAbsolute(line) ? line : line.startsWith('./') ? resolve(dirname(entry), line) : resolve(root, line);
      return { path, fileName: relative(dirname(entry), path) };
    });
  }
  const out: Array<{ path: string; fileName: string }> = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = join(dir, name.name);
      if (name.isDirectory()) walk(path);
      else if (IMAGE_EXTENSIONS.includes(extname(name.name).toLowerCase())) out.push({ path, fileName: relative(entry, path) });
    }
  };
  walk(entry);
  return out;
}

export interface YoloWriteOptions {
  /** Each image's file name under images/SPLIT (default: the name it was read with). */
  fileNames?: string[];
}

/**
 * Writes the label files of split `split` under `root/labels/SPLIT` (class = the category's rank
 * by id, coordinates with 6 decimals as Ultralytics writes them). Crowd boxes are left out: YOLO has no flag for them.
 */
export function writeYoloLabels(dataset: DetectionDataset, root: string, split: string, options: YoloWriteOptions = {}): void {
  const rank = new Map([...dataset.categories].sort((a, b) => a.id - b.id).map((c, i) => [c.id, i]));
  dataset.images.forEach((record, i) => {
    const fileName = options.fileNames?.[i] ?? record.fileName;
    const file = labelPath(join(root, 'images', split, fileName));
    const lines = record.objects.filter((o) => !o.iscrowd).map((o) => {
      const [x1, y1, x2, y2] = o.box;
      const values = [(x1 + x2) / 2 / record.width, (y1 + y2) / 2 / record.height, (x2 - x1) / record.width, (y2 - y1) / record.height];
      return `${rank.get(o.categoryId)} ${values.map((v) => v.toFixed(6)).join(' ')}\n`;
    });
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, lines.join(''));
  });
}

/** data.yaml for the splits written under `root` (no `path`: Ultralytics then uses the yaml's folder, and so does Iris). */
export function writeYoloConfig(root: string, splits: string[], categories: Category[]): string {
  const file = join(root, 'data.yaml');
  const names = Object.fromEntries([...categories].sort((a, b) => a.id - b.id).map((c, i) => [i, c.name]));
  writeFileSync(file, stringify({ ...Object.fromEntries(splits.map((s) => [s, `images/${s}`])), nc: categories.length, names }));
  return file;
}
