// Image files to pixels and back, through sharp (libvips). Decoding follows what a torchvision user
// gets from PIL: EXIF orientation applied, `rgb` drops alpha like `convert('RGB')`, `gray` uses
// PIL's `convert('L')` weights, 16-bit samples keep their high byte.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';

export type ImageMode = 'rgb' | 'gray' | 'keep';

/** Decoded pixels, row-major HWC, 8 bits per sample. */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export interface DecodeOptions {
  /** A name for error messages when `input` is bytes (the path is used for a string input). */
  source?: string;
  /** 'rgb' (3 channels, default), 'gray' (1 channel) or 'keep' (channels as stored: 1–4). */
  mode?: ImageMode;
  /** Images with more pixels are refused as possible decompression bombs (default DEFAULT_MAX_PIXELS, PIL's). */
  maxPixels?: number;
}

/** PIL raises DecompressionBombError above 2 × Image.MAX_IMAGE_PIXELS, i.e. this. */
export const DEFAULT_MAX_PIXELS = 178956970;

/** The file could not be decoded (corrupt, truncated, unsupported, or too many pixels). */
export class ImageDecodeError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: cannot decode image: ${reason}`);
    this.name = 'ImageDecodeError';
  }
}

/** Decodes a JPEG, PNG, WebP, GIF (first frame), TIFF or AVIF file or buffer to 8-bit HWC pixels. */
export async function decodeImage(input: string | Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const name = typeof input === 'string' ? input : (options.source ?? '<buffer>');
  const mode = options.mode ?? 'rgb';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (mode !== 'rgb' && mode !== 'gray' && mode !== 'keep') throw new TypeError(`decodeImage: mode must be 'rgb', 'gray' or 'keep', got '${mode}'`);
  const bytes = typeof input === 'string' ? await readFile(input) : input;
  if (bytes.length === 0) throw new ImageDecodeError(name, 'the file is empty');
  try {
    // Like PIL: truncated data fails, recoverable decoder warnings (extraneous bytes) do not.
    const image = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' });
    const metadata = mode === 'keep' ? await image.metadata() : undefined;
    const keepAlpha = metadata?.hasAlpha ?? false;
    // Always through sRGB: libvips's 16-bit gray to 'b-w' is off by one, its sRGB path keeps the high byte.
    const pipeline = image.autoOrient().toColourspace('srgb');
    if (!keepAlpha) pipeline.removeAlpha();
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const decoded = { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
    if (mode === 'gray') return toLuma(decoded);
    const storedGray = metadata !== undefined && (metadata.channels ?? 3) - (keepAlpha ? 1 : 0) === 1;
    return storedGray ? selectChannels(decoded, keepAlpha ? [0, 3] : [0]) : decoded;
  } catch (error) {
    throw await describeFailure(error, bytes, name, maxPixels);
  }
}

/** Keeps the listed channels of each pixel. */
function selectChannels(image: DecodedImage, channels: number[]): DecodedImage {
  const n = image.width * image.height;
  const out = new Uint8Array(n * channels.length);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels.length; c++) out[i * channels.length + c] = image.data[i * image.channels + channels[c]];
  return { data: out, width: image.width, height: image.height, channels: channels.length };
}

/** PIL's `convert('L')` (equal R, G, B stay as they are): L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16. */
function toLuma(rgb: DecodedImage): DecodedImage {
  const n = rgb.width * rgb.height;
  const out = new Uint8Array(n);
  const d = rgb.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = (d[j] * 19595 + d[j + 1] * 38470 + d[j + 2] * 7471 + 0x8000) >>> 16;
  return { data: out, width: rgb.width, height: rgb.height, channels: 1 };
}

async function describeFailure(error: unknown, bytes: Uint8Array, name: string, maxPixels: number): Promise<Error> {
  const reason = error instanceof Error ? error.message : String(error);
  if (!reason.includes('pixel limit')) return new ImageDecodeError(name, reason);
  const size = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .then((m) => `${m.width}x${m.height} = ${(m.width ?? 0) * (m.height ?? 0)} pixels`)
    .catch(() => 'its size');
  return new ImageDecodeError(name, `refusing a possible decompression bomb: ${size} exceeds maxPixels ${maxPixels} (raise maxPixels if the image is trusted)`);
}

/** The pixels as a uint8 tensor [C, H, W], torchvision's layout. */
export function imageToTensor(image: DecodedImage): Tensor {
  return torch.tidy(() => torch.tensor(image.data, { shape: [image.height, image.width, image.channels] }).permute([2, 0, 1]).contiguous());
}

/** Encodes a uint8 image tensor [C, H, W] (C = 1–4) or [H, W] as PNG. */
export async function encodePng(image: Tensor): Promise<Buffer> {
  if (image.dtype !== 'uint8') {
    throw new TypeError(`encodePng: expected a uint8 tensor, got ${image.dtype}; convert with image.mul(255).clamp(0, 255).to('uint8') for [0, 1] floats`);
  }
  const shape = image.shape.length === 2 ? [1, ...image.shape] : image.shape;
  if (shape.length !== 3 || shape[0] < 1 || shape[0] > 4) {
    throw new RangeError(`encodePng: expected shape [C, H, W] with C in 1..4 or [H, W], got [${image.shape}]`);
  }
  const [channels, height, width] = shape as [1 | 2 | 3 | 4, number, number];
  const hwc = torch.tidy(() => image.cpu().reshape(shape).permute([1, 2, 0]).contiguous());
  const data = hwc.dataSync() as Uint8Array;
  hwc.dispose();
  return sharp(data, { raw: { width, height, channels } }).png().toBuffer();
}
