// Validation shared by the readers: each problem names its file (and line, or annotation id) and
// what is wrong; `onInvalid` decides whether it refuses the dataset, drops the box or image, or
// clips the box into the image. Problems are collected so one error lists all of them.
import type { OnInvalid } from './types.js';

export type IssueKind =
  | 'syntax'
  | 'field'
  | 'box-outside'
  | 'box-size'
  | 'unknown-category'
  | 'unknown-image'
  | 'duplicate-id'
  | 'missing-image'
  | 'corrupt-image'
  | 'image-size'
  | 'missing-annotation';

export type IssueAction = 'refused' | 'skipped box' | 'skipped image' | 'clipped box';

export interface DataIssue {
  kind: IssueKind;
  file: string;
  line?: number;
  column?: number;
  /** What in the file: 'annotation 17 (image 4)', 'object 2', ... */
  where?: string;
  message: string;
  action: IssueAction;
}

/** Where a problem is, for its message. */
export type IssuePlace = Pick<DataIssue, 'file' | 'line' | 'column' | 'where'>;

export function formatIssue(issue: Omit<DataIssue, 'action'>): string {
  const position = issue.line !== undefined ? `:${issue.line}${issue.column !== undefined ? `:${issue.column}` : ''}` : '';
  return `${issue.file}${position}: ${issue.where ? `${issue.where}: ` : ''}${issue.message}`;
}

const SHOWN = 20;

/** A dataset that cannot be read as it is; `issues` lists every problem found. */
export class DetectionDataError extends Error {
  constructor(
    readonly issues: DataIssue[],
    hint = "onInvalid 'skip' (iris: --on-invalid skip) leaves out what is wrong, 'clip' also clips boxes into the image",
  ) {
    const lines = issues.slice(0, SHOWN).map(formatIssue);
    if (issues.length > SHOWN) lines.push(`... and ${issues.length - SHOWN} more`);
    const head = issues.length === 1 ? lines[0] : `${issues.length} problems:\n  ${lines.join('\n  ')}`;
    super(issues.every((i) => i.kind === 'syntax') ? head : `${head}\n(${hint})`);
    this.name = 'DetectionDataError';
  }
}

export interface IssueLogOptions {
  onInvalid?: OnInvalid;
  /** Pixels a box may extend beyond the image before it counts as outside (it is clipped silently within). Default 1. */
  tolerance?: number;
  /** Where skipped and clipped problems are reported (default console.warn); the dataset keeps them in `issues` too. */
  warn?: (message: string) => void;
}

/** Collects the problems of one read. */
export class IssueLog {
  readonly issues: DataIssue[] = [];
  readonly onInvalid: OnInvalid;
  readonly tolerance: number;
  private readonly warn: (message: string) => void;

  constructor(
    /** Names the read in the summary, e.g. 'coco annotations/train.json'. */
    readonly name: string,
    options: IssueLogOptions = {},
  ) {
    this.onInvalid = options.onInvalid ?? 'error';
    if (!['error', 'skip', 'clip'].includes(this.onInvalid)) throw new RangeError(`onInvalid must be 'error', 'skip' or 'clip', got '${this.onInvalid}'`);
    this.tolerance = options.tolerance ?? 1;
    if (!(this.tolerance >= 0)) throw new RangeError(`tolerance must be a non-negative number of pixels, got ${this.tolerance}`);
    this.warn = options.warn ?? ((m) => console.warn(m));
  }

  /** A problem with one box: it is dropped (or, for 'clip' and `clippable`, clipped). Returns the action. */
  box(place: IssuePlace, kind: IssueKind, message: string, clippable = false): IssueAction {
    const action = this.onInvalid === 'error' ? 'refused' : clippable && this.onInvalid === 'clip' ? 'clipped box' : 'skipped box';
    this.issues.push({ ...place, kind, message, action });
    return action;
  }

  /** A problem with a whole image: it is dropped. */
  image(place: IssuePlace, kind: IssueKind, message: string): IssueAction {
    const action = this.onInvalid === 'error' ? 'refused' : 'skipped image';
    this.issues.push({ ...place, kind, message, action });
    return action;
  }

  /** A problem nothing can be read past (bad JSON, a missing split): thrown now, whatever onInvalid says. */
  fatal(place: IssuePlace, kind: IssueKind, message: string): never {
    throw new DetectionDataError([{ ...place, kind, message, action: 'refused' }]);
  }

  /**
   * Checks an xyxy box of an image `width` x `height`; returns the box to keep (clipped into the
   * image when within tolerance, or under 'clip'), or undefined when it is dropped.
   */
  checkBox(box: number[], width: number, height: number, place: IssuePlace): [number, number, number, number] | undefined {
    const [x1, y1, x2, y2] = box;
    const shown = `[${box.map(fmt).join(', ')}] (xyxy)`;
    if (!box.every(Number.isFinite)) {
      this.box(place, 'field', `box ${shown} has a coordinate that is not a finite number`);
      return undefined;
    }
    if (!(x2 > x1 && y2 > y1)) {
      this.box(place, 'box-size', `box ${shown} has width ${fmt(x2 - x1)} and height ${fmt(y2 - y1)}; a box needs a positive width and height`);
      return undefined;
    }
    const t = this.tolerance;
    const beyond = Math.max(-x1, -y1, x2 - width, y2 - height);
    if (beyond > t) {
      const action = this.box(place, 'box-outside', `box ${shown} extends ${fmt(beyond)} px beyond the ${width}x${height} image (tolerance ${t} px)`, true);
      if (action !== 'clipped box') return undefined;
    }
    const clipped: [number, number, number, number] = [clamp(x1, 0, width), clamp(y1, 0, height), clamp(x2, 0, width), clamp(y2, 0, height)];
    if (!(clipped[2] > clipped[0] && clipped[3] > clipped[1])) {
      this.box(place, 'box-size', `box ${shown} lies outside the ${width}x${height} image: nothing is left after clipping`);
      return undefined;
    }
    return clipped;
  }

  /** Refuses the read if any problem was found under 'error'; else reports what was left out. */
  finish(): void {
    if (this.issues.length === 0) return;
    if (this.onInvalid === 'error') throw new DetectionDataError(this.issues);
    for (const issue of this.issues.slice(0, SHOWN)) this.warn(`warning: ${formatIssue(issue)} (${issue.action})`);
    if (this.issues.length > SHOWN) this.warn(`warning: ... and ${this.issues.length - SHOWN} more problems`);
    this.warn(`warning: ${this.name}: ${summarize(this.issues)}`);
  }
}

/** 'skipped 3 boxes and 1 image, clipped 2 boxes (6 problems)' */
export function summarize(issues: DataIssue[]): string {
  const count = (action: IssueAction) => issues.filter((i) => i.action === action).length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : word === 'box' ? 'es' : 's'}`;
  const parts = [];
  const boxes = count('skipped box');
  const images = count('skipped image');
  if (boxes || images) parts.push(`skipped ${[boxes && plural(boxes, 'box'), images && plural(images, 'image')].filter(Boolean).join(' and ')}`);
  const clipped = count('clipped box');
  if (clipped) parts.push(`clipped ${plural(clipped, 'box')}`);
  return `${parts.join(', ')} (${issues.length} problem${issues.length === 1 ? '' : 's'})`;
}

export function fmt(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 100) / 100) : String(v);
}

function clamp(v: number, low: number, high: number): number {
  return Math.min(Math.max(v, low), high);
}

/** Line and column (1-based) of a character offset in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}
