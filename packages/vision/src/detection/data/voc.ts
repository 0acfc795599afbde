// Pascal VOC: Annotations/ID.xml, JPEGImages/, ImageSets/Main/SPLIT.txt. Boxes are 1-based inclusive
// pixel indices in the files; as detectron2 reads them, (xmin - 1, ymin - 1, xmax, ymax) in pixels.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { DetectionDataset } from './dataset.js';
import { readImageInfo, mapLimit } from './image-info.js';
import { checkImageFiles, cleanNumber, selectRecords, type ReadOptions } from './read-options.js';
import type { Category, ImageRecord, ObjectRecord } from './types.js';
import { IssueLog, lineColumn, type IssuePlace } from './validate.js';

/** The 20 Pascal VOC classes, in the order of the devkit (ids 1..20). */
export const VOC_CLASSES = [
  'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
];

export interface VocReadOptions extends ReadOptions {
  /**
   * The class names, ids 1..K in this order; an object of another name is an unknown category.
   * Default: the root's classes.txt (one name a line), else VOC_CLASSES when every name is one, else the names found, sorted.
   */
  classes?: string[];
}

interface RawObject {
  name: string;
  box: number[];
  difficult: boolean;
  place: IssuePlace;
}

const META = XMLParser.getMetaDataSymbol() as unknown as symbol;

/** Where an element starts in the XML text (fast-xml-parser's captureMetaData). */
function startIndex(node: unknown): number | undefined {
  return (node as Record<symbol, { startIndex?: number } | undefined> | undefined)?.[META]?.startIndex;
}

/** Reads split `split` (train, val, trainval, test) of a VOC folder (VOC2012, or a VOCdevkit holding one). */
export async function readVoc(dir: string, split = 'train', options: VocReadOptions = {}): Promise<DetectionDataset> {
  const root = vocRoot(resolve(dir));
  const listFile = join(root, 'ImageSets', 'Main', `${split}.txt`);
  const log: IssueLog = new IssueLog(`voc ${listFile}`, options);
  if (!existsSync(listFile)) {
    const main = join(root, 'ImageSets', 'Main');
    const splits = existsSync(main) ? readdirSync(main).filter((f) => /^[^_]+\.txt$/.test(f)).map((f) => f.slice(0, -4)) : [];
    log.fatal({ file: listFile }, 'missing-annotation', `no such split list${splits.length ? `; the splits here are ${splits.join(', ')}` : ` (is ${root} a VOC folder with Annotations/, JPEGImages/ and ImageSets/Main/?)`}`);
  }
  const ids = readFileSync(listFile, 'utf8').split(/\r?\n/).map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
  const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, captureMetaData: true, isArray: (name) => name === 'object' });

  const parsed = await mapLimit(ids, 16, async (id, index) => {
    const file = join(root, 'Annotations', `${id}.xml`);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      log.image({ file: listFile, where: `id '${id}'` }, 'missing-annotation', `${file}: no such annotation file`);
      return undefined;
    }
    const valid = XMLValidator.validate(text);
    if (valid !== true) {
      log.image({ file, line: valid.err.line, column: valid.err.col }, 'syntax', `not valid XML: ${valid.err.msg}`);
      return undefined;
    }
    const annotation = parser.parse(text)?.annotation;
    if (annotation === undefined || typeof annotation !== 'object') {
      log.image({ file }, 'field', 'no <annotation> element');
      return undefined;
    }
    const fileName = typeof annotation.filename === 'string' && annotation.filename ? annotation.filename : `${id}.jpg`;
    const path = join(root, 'JPEGImages', fileName);
    let width = Number(annotation.size?.width);
    let height = Number(annotation.size?.height);
    // Some VOC-style exports leave <size> out or at 0: the file knows.
    if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
      const info = await readImageInfo(path);
      if (!('width' in info)) {
        log.image({ file }, 'missing' in info ? 'missing-image' : 'corrupt-image', `<size> gives no width and height, and image ${path} cannot be read: ${'missing' in info ? info.missing : info.corrupt}`);
        return undefined;
      }
      ({ width, height } = info);
    }
    const objects: RawObject[] = [];
    (annotation.object ?? []).forEach((o: Record<string, unknown>, k: number) => {
      const start = startIndex(o);
      const place: IssuePlace = { file, ...(start !== undefined && { line: lineColumn(text, start).line }), where: `object ${k + 1}` };
      const name = typeof o?.name === 'string' ? o.name.trim() : '';
      if (!name) return log.box(place, 'field', 'the object has no <name>');
      const b = o.bndbox as Record<string, unknown> | undefined;
      const coords = ['xmin', 'ymin', 'xmax', 'ymax'].map((key) => (typeof b?.[key] === 'string' && b[key] !== '' ? Number(b[key]) : NaN));
      if (!coords.every(Number.isFinite)) {
        return log.box(place, 'field', `<bndbox> needs numbers xmin, ymin, xmax, ymax, got ${JSON.stringify(b ? { xmin: b.xmin, ymin: b.ymin, xmax: b.xmax, ymax: b.ymax } : null)}`);
      }
      const [xmin, ymin, xmax, ymax] = coords;
      objects.push({ name, box: [xmin - 1, ymin - 1, xmax, ymax], difficult: o.difficult === '1', place: { ...place, where: `object ${k + 1} '${name}'` } });
    });
    return { id: index + 1, file, fileName, path, width, height, objects };
  });

  const found = [...new Set(parsed.flatMap((p) => p?.objects.map((o) => o.name) ?? []))].sort();
  const classesFile = join(root, 'classes.txt');
  const classes = options.classes ?? (existsSync(classesFile) ? readFileSync(classesFile, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean) : found.every((n) => VOC_CLASSES.includes(n)) ? VOC_CLASSES : found);
  const categories: Category[] = classes.map((name, i) => ({ id: i + 1, name }));
  const idOf = new Map(categories.map((c) => [c.name, c.id]));

  let records: ImageRecord[] = [];
  for (const p of parsed) {
    if (!p) continue;
    const objects: ObjectRecord[] = [];
    for (const o of p.objects) {
      const categoryId = idOf.get(o.name);
      if (categoryId === undefined) {
        log.box(o.place, 'unknown-category', `class '${o.name}' is not one of the ${classes.length} classes (${classes.slice(0, 5).join(', ')}${classes.length > 5 ? ', ...' : ''})`);
        continue;
      }
      const box = log.checkBox(o.box, p.width, p.height, o.place);
      if (box) objects.push({ box, categoryId, area: (box[2] - box[0]) * (box[3] - box[1]), iscrowd: false, difficult: o.difficult });
    }
    records.push({ id: p.id, path: p.path, fileName: p.fileName, width: p.width, height: p.height, objects });
  }
  if (options.checkImages ?? true) {
    const files = new Map(parsed.flatMap((p) => (p ? [[p.id, p.file] as const] : [])));
    records = await checkImageFiles(records, log, (r) => ({ file: files.get(r.id)! }));
  }
  log.finish();
  return new DetectionDataset(selectRecords(records, options), categories, { ...options, issues: log.issues, hasDifficult: true, origin: `voc:${root} (${split})` });
}

/** The folder with Annotations/: `dir` itself, or its one VOC20xx subfolder (a VOCdevkit). */
function vocRoot(dir: string): string {
  if (existsSync(join(dir, 'Annotations')) || !existsSync(dir)) return dir;
  const years = readdirSync(dir).filter((f) => /^VOC\d{4}$/.test(f) && existsSync(join(dir, f, 'Annotations')));
  if (years.length === 1) return join(dir, years[0]);
  if (years.length > 1) throw new Error(`voc:${dir} holds ${years.join(', ')}; name one of them (voc:${join(dir, years[0])})`);
  return dir;
}

export interface VocWriteOptions {
  /** Each image's file name in JPEGImages/ (default: the name it was read with). */
  fileNames?: string[];
}

/** Writes `dataset` as split `split` of a VOC folder: one XML per image (crowd boxes as difficult), the split list and classes.txt. */
export function writeVoc(dataset: DetectionDataset, root: string, split: string, options: VocWriteOptions = {}): void {
  mkdirSync(join(root, 'Annotations'), { recursive: true });
  mkdirSync(join(root, 'ImageSets', 'Main'), { recursive: true });
  const builder = new XMLBuilder({ format: true, indentBy: '  ' });
  const names = new Map(dataset.categories.map((c) => [c.id, c.name]));
  const ids: string[] = [];
  dataset.images.forEach((record, i) => {
    const fileName = options.fileNames?.[i] ?? record.fileName;
    const id = fileName.replace(/\.[^./]+$/, '');
    ids.push(id);
    const annotation = {
      folder: 'VOC',
      filename: fileName,
      size: { width: record.width, height: record.height, depth: 3 },
      segmented: 0,
      object: record.objects.map((o) => ({
        name: names.get(o.categoryId),
        pose: 'Unspecified',
        truncated: 0,
        // VOC has no crowd flag; difficult is what its evaluation ignores, as COCO's ignores crowds.
        difficult: o.difficult || o.iscrowd ? 1 : 0,
        bndbox: { xmin: cleanNumber(o.box[0] + 1), ymin: cleanNumber(o.box[1] + 1), xmax: cleanNumber(o.box[2]), ymax: cleanNumber(o.box[3]) },
      })),
    };
    writeFileSync(join(root, 'Annotations', `${id}.xml`), builder.build({ annotation }));
  });
  writeFileSync(join(root, 'ImageSets', 'Main', `${split}.txt`), ids.map((id) => `${id}\n`).join(''));
  writeFileSync(join(root, 'classes.txt'), [...dataset.categories].sort((a, b) => a.id - b.id).map((c) => `${c.name}\n`).join(''));
}
