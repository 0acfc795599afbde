// A list of image files with labels, from a CSV (`path,label` header) or a JSON array of {path, label}.
import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { ImageFileDataset } from './dataset.js';
import { compareCodePoints, type ImageFileOptions } from './image-folder.js';

export interface ImageListOptions extends ImageFileOptions {
  /** Class names; labels may then be names from it or indices into it. */
  classes?: string[];
}

/**
 * Paths are relative to the list file. Labels are class indices or class names; without
 * `classes`, names become the sorted distinct labels and indices the classes '0'..'max'.
 */
export class ImageList extends ImageFileDataset {
  constructor(
    readonly file: string,
    options: ImageListOptions = {},
  ) {
    const text = readFileSync(file, 'utf8');
    const rows = extname(file).toLowerCase() === '.json' ? parseJsonList(text, file) : parseCsvList(text, file);
    if (rows.length === 0) throw new Error(`ImageList: ${file} lists no images`);
    const classes = options.classes ?? inferClasses(rows.map((r) => r.label));
    const base = dirname(file);
    const samples = rows.map((r): [string, number] => [resolve(base, r.path), labelIndex(r.label, classes, `${file} (${r.where})`)]);
    super(samples, classes, options);
  }
}

interface Row {
  path: string;
  label: string | number;
  where: string;
}

function parseJsonList(text: string, file: string): Row[] {
  const list: unknown = JSON.parse(text);
  if (!Array.isArray(list)) throw new Error(`ImageList: ${file} must hold a JSON array of {path, label}`);
  return list.map((item, i) => {
    const { path, label } = (item ?? {}) as { path?: unknown; label?: unknown };
    if (typeof path !== 'string' || (typeof label !== 'string' && typeof label !== 'number')) {
      throw new Error(`ImageList: ${file} item ${i} must be {path: string, label: string | number}, got ${JSON.stringify(item)}`);
    }
    return { path, label, where: `item ${i}` };
  });
}

function parseCsvList(text: string, file: string): Row[] {
  const records = parseCsv(text);
  const header = (records.shift() ?? []).map((h) => h.trim().toLowerCase());
  const pathColumn = header.indexOf('path');
  const labelColumn = header.indexOf('label');
  if (pathColumn < 0 || labelColumn < 0) throw new Error(`ImageList: ${file} needs a header line with 'path' and 'label' columns, got '${header.join(',')}'`);
  return records.map((fields, i) => {
    const where = `line ${i + 2}`;
    if (fields.length !== header.length) throw new Error(`ImageList: ${file} ${where} has ${fields.length} fields, the header has ${header.length}`);
    return { path: fields[pathColumn], label: fields[labelColumn].trim(), where };
  });
}

/** RFC 4180: quoted fields may hold commas, quotes ("") and newlines; blank lines are skipped. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  const endRecord = (): void => {
    fields.push(field);
    if (fields.length > 1 || fields[0] !== '') records.push(fields);
    fields = [];
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += text[++i];
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n') endRecord();
    else if (c !== '\r') field += c;
  }
  endRecord();
  return records;
}

const isIndex = (label: string | number): boolean => /^\d+$/.test(String(label));

function inferClasses(labels: Array<string | number>): string[] {
  if (labels.every(isIndex)) {
    const max = Math.max(...labels.map(Number));
    return Array.from({ length: max + 1 }, (_, i) => String(i));
  }
  if (labels.some((l) => typeof l === 'number')) throw new Error('ImageList: labels mix class indices and names; pass `classes` to say which is which');
  return [...new Set(labels.map(String))].sort(compareCodePoints);
}

function labelIndex(label: string | number, classes: string[], where: string): number {
  const named = classes.indexOf(String(label));
  if (typeof label === 'string' && named >= 0) return named;
  if (isIndex(label) && Number(label) < classes.length) return Number(label);
  throw new Error(`ImageList: ${where}: label '${label}' is neither a class name nor an index below ${classes.length}`);
}
