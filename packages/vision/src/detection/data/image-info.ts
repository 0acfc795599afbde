// Image sizes from file headers (no decoding), as the decoder will see them: EXIF-rotated.
import { stat } from 'node:fs/promises';
import sharp from 'sharp';

export type ImageInfo = { width: number; height: number } | { missing: string } | { corrupt: string };

/** The size of the image at `path` after EXIF orientation, or why it cannot be read. */
export async function readImageInfo(path: string): Promise<ImageInfo> {
  try {
    const s = await stat(path);
    if (!s.isFile()) return { missing: 'is not a file' };
    if (s.size === 0) return { corrupt: 'the file is empty' };
  } catch {
    return { missing: 'no such file' };
  }
  try {
    const m = await sharp(path).metadata();
    if (!m.width || !m.height) return { corrupt: 'no image size in its header' };
    const rotated = (m.orientation ?? 1) >= 5;
    return rotated ? { width: m.height, height: m.width } : { width: m.width, height: m.height };
  } catch (error) {
    return { corrupt: (error as Error).message };
  }
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}
