// Options every reader takes, and the steps they share once records are parsed.
import type { DetectionDatasetOptions } from './dataset.js';
import { readImageInfo, mapLimit } from './image-info.js';
import type { ImageRecord } from './types.js';
import type { IssueLog, IssueLogOptions } from './validate.js';

export interface ReadOptions extends DetectionDatasetOptions, IssueLogOptions {
  /** Keep images without objects (default true); torchvision's reference drops them for training. */
  keepEmpty?: boolean;
  /** Crowd annotations: kept with iscrowd 1 (default), or dropped as torchvision's reference does for training. */
  crowd?: 'keep' | 'drop';
  /** Read every image's header: the file exists, is an image, and has the annotated size (default true). */
  checkImages?: boolean;
}

/**
 * Checks each record's image file (exists, readable header, annotated size); records whose image
 * fails are reported and left out. `sizeFromFile` fills width/height from the file (YOLO).
 */
export async function checkImageFiles(records: ImageRecord[], log: IssueLog, place: (r: ImageRecord) => { file: string; where?: string }, options: { sizeFromFile?: boolean; hint?: string } = {}): Promise<ImageRecord[]> {
  const infos = await mapLimit(records, 16, (r) => readImageInfo(r.path));
  const kept: ImageRecord[] = [];
  records.forEach((record, i) => {
    const info = infos[i];
    if ('missing' in info) log.image(place(record), 'missing-image', `image file ${record.path}: ${info.missing}${options.hint ? ` (${options.hint})` : ''}`);
    else if ('corrupt' in info) log.image(place(record), 'corrupt-image', `image file ${record.path} cannot be read: ${info.corrupt}`);
    else if (options.sizeFromFile) kept.push({ ...record, width: info.width, height: info.height });
    else if (info.width !== record.width || info.height !== record.height) {
      log.image(place(record), 'image-size', `annotated as ${record.width}x${record.height} but ${record.path} is ${info.width}x${info.height}`);
    } else kept.push(record);
  });
  return kept;
}

/** Applies keepEmpty and crowd. */
export function selectRecords(records: ImageRecord[], options: ReadOptions): ImageRecord[] {
  let out = records;
  if (options.crowd === 'drop') out = out.map((r) => ({ ...r, objects: r.objects.filter((o) => !o.iscrowd) }));
  if (options.keepEmpty === false) out = out.filter((r) => r.objects.some((o) => !o.iscrowd));
  return out;
}

/** A number as JSON/XML text without float noise: 45.599999999999994 → 45.6. */
export function cleanNumber(v: number): number {
  return Number.isInteger(v) ? v : Number.parseFloat(v.toPrecision(12));
}
