// torchvision's ImageFolder: root/<class>/**/<image>, classes and files in the same order.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { ImageFileDataset, type OnCorrupt } from './dataset.js';
import type { ImageMode } from './image.js';

/** What sharp decodes here; torchvision also lists .bmp/.ppm/.pgm, which libvips without ImageMagick cannot read. */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export interface ImageFileOptions {
  /** 'rgb' (default), 'gray' or 'keep'; see decodeImage. */
  mode?: ImageMode;
  /** Decompression-bomb limit, PIL's by default. */
  maxPixels?: number;
  /** 'error' (default) stops loading at a file that cannot be decoded; 'skip' leaves it out of its batch with one warning per file. */
  onCorrupt?: OnCorrupt;
}

export interface ImageFolderOptions extends ImageFileOptions {
  /** File extensions to include, compared case-insensitively; IMAGE_EXTENSIONS by default. */
  extensions?: string[];
}

/**
 * A folder per class: `root/dog/xxx.png`, `root/cat/nested/yyy.jpg`. Classes are the sorted
 * folder names; files are listed like torchvision's `sorted(os.walk(...))`, so indices match it.
 */
export class ImageFolder extends ImageFileDataset {
  readonly classToIdx: Record<string, number>;

  constructor(
    readonly root: string,
    options: ImageFolderOptions = {},
  ) {
    const extensions = (options.extensions ?? IMAGE_EXTENSIONS).map((e) => e.toLowerCase());
    const classes = readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() || (e.isSymbolicLink() && statSync(join(root, e.name), { throwIfNoEntry: false })?.isDirectory()))
      .map((e) => e.name)
      .sort(compareCodePoints);
    if (classes.length === 0) throw new Error(`ImageFolder: no class folders in ${root}; expected root/<class>/<image files>`);
    const samples: Array<[string, number]> = [];
    const empty: string[] = [];
    classes.forEach((name, label) => {
      const files = walk(join(root, name)).filter((f) => extensions.includes(extname(f).toLowerCase()));
      if (files.length === 0) empty.push(name);
      for (const f of files) samples.push([f, label]);
    });
    if (empty.length > 0) {
      throw new Error(`ImageFolder: no files with extensions ${extensions.join(', ')} in class folders ${empty.join(', ')} of ${root}`);
    }
    super(samples, classes, options);
    this.classToIdx = Object.fromEntries(classes.map((c, i) => [c, i]));
  }
}

/** Files under `dir` in the order of Python's `for root, _, files in sorted(os.walk(dir)): sorted(files)`. */
function walk(dir: string): string[] {
  const folders: Array<[string, string[]]> = [];
  const visit = (folder: string): void => {
    const files: string[] = [];
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isDirectory());
      if (isDir) visit(path);
      else files.push(entry.name);
    }
    folders.push([folder, files.sort(compareCodePoints)]);
  };
  visit(dir);
  folders.sort((a, b) => compareCodePoints(a[0], b[0]));
  return folders.flatMap(([folder, files]) => files.map((f) => join(folder, f)));
}

/** Python's str ordering (by code point), which JS's default sort matches outside surrogate pairs. */
export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
