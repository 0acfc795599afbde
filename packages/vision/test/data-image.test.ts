// Image decoding against PIL (what torchvision's ImageFolder loader gives) on files sharp encodes here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { decodeImage, imageToTensor, encodePng, ImageDecodeError, DEFAULT_MAX_PIXELS, type DecodedImage } from '../src/data/index.js';
import { runPython, tempDir } from './helpers/reference.js';

const dir = tempDir();
const W = 37;
const H = 29;
/** Noise pixels, so that any misplaced byte shows. */
let rgb: Buffer;
let rgba: Buffer;
const file = (name: string): string => join(dir.path, name);

interface PilImage {
  width: number;
  height: number;
  channels: number;
  data: string;
}

function pil(files: string[], mode: 'RGB' | 'L'): PilImage[] {
  return runPython<PilImage[]>('data_ref.py', { command: 'decode', files, mode });
}

function assertSameAsPil(actual: DecodedImage, expected: PilImage, what: string): void {
  assert.deepEqual([actual.width, actual.height, actual.channels], [expected.width, expected.height, expected.channels], `${what}: size`);
  assert.ok(Buffer.from(actual.data).equals(Buffer.from(expected.data, 'base64')), `${what}: pixels differ from PIL's`);
}

before(async () => {
  rgb = await sharp({ create: { width: W, height: H, channels: 3, background: 'black', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).raw().toBuffer();
  rgba = Buffer.alloc(W * H * 4);
  for (let i = 0; i < W * H; i++) {
    rgb.copy(rgba, i * 4, i * 3, i * 3 + 3);
    rgba[i * 4 + 3] = (i * 7) % 256;
  }
  const image = () => sharp(rgb, { raw: { width: W, height: H, channels: 3 } });
  writeFileSync(file('a.png'), await image().png().toBuffer());
  writeFileSync(file('a.jpg'), await image().jpeg({ quality: 85 }).toBuffer());
  writeFileSync(file('a.webp'), await image().webp({ quality: 80 }).toBuffer());
  writeFileSync(file('a.gif'), await image().gif().toBuffer());
  writeFileSync(file('a.tiff'), await image().tiff({ compression: 'lzw' }).toBuffer());
  writeFileSync(file('a.avif'), await image().avif({ lossless: true }).toBuffer());
  writeFileSync(file('rgba.png'), await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toBuffer());
  writeFileSync(file('gray.png'), await image().extractChannel(1).png().toBuffer());
  writeFileSync(file('palette.png'), await image().png({ palette: true, colours: 16 }).toBuffer());
  const red = await sharp({ create: { width: W, height: H, channels: 3, background: 'red' } }).png().toBuffer();
  writeFileSync(file('animated.gif'), await sharp([red, await image().png().toBuffer()], { join: { animated: true } }).gif().toBuffer());
  // Orientation 6: stored landscape, shown rotated 90° clockwise.
  writeFileSync(file('rotated.jpg'), await image().jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer());
});

after(() => dir.cleanup());

test('JPEG, PNG, WebP, GIF (animated too), TIFF, RGBA, gray, palette and EXIF-rotated files decode to the RGB pixels PIL gives', async () => {
  const names = ['a.png', 'a.jpg', 'a.webp', 'a.gif', 'a.tiff', 'rgba.png', 'gray.png', 'palette.png', 'rotated.jpg', 'animated.gif'];
  const expected = pil(names.map(file), 'RGB');
  for (const [k, name] of names.entries()) assertSameAsPil(await decodeImage(file(name)), expected[k], name);
  const rotated = await decodeImage(file('rotated.jpg'));
  assert.deepEqual([rotated.width, rotated.height], [H, W], 'EXIF orientation 6 swaps width and height');
  const animated = await decodeImage(file('animated.gif'));
  assert.deepEqual([animated.height, ...animated.data.subarray(0, 3)], [H, 255, 0, 0], 'an animated GIF gives its first frame');
});

test("mode 'gray' matches PIL's convert('L'), for colour and gray files", async () => {
  const names = ['a.png', 'rgba.png', 'gray.png', 'a.jpg'];
  const expected = pil(names.map(file), 'L');
  for (const [k, name] of names.entries()) assertSameAsPil(await decodeImage(file(name), { mode: 'gray' }), expected[k], `${name} as gray`);
});

test("mode 'keep' keeps alpha and single channels; bytes decode like files", async () => {
  const withAlpha = await decodeImage(readFileSync(file('rgba.png')), { mode: 'keep' });
  assert.equal(withAlpha.channels, 4);
  assert.ok(Buffer.from(withAlpha.data).equals(rgba), 'RGBA pixels as written');
  const gray = await decodeImage(file('gray.png'), { mode: 'keep' });
  assert.equal(gray.channels, 1);
  assert.ok(Buffer.from(gray.data).equals(Buffer.from(Array.from({ length: W * H }, (_, i) => rgb[i * 3 + 1]))), 'gray pixels as written');
  const grayAlpha = Buffer.from(Array.from({ length: W * H * 2 }, (_, i) => (i % 2 ? rgba[(i >> 1) * 4 + 3] : rgb[(i >> 1) * 3])));
  writeFileSync(file('graya.png'), await sharp(grayAlpha, { raw: { width: W, height: H, channels: 2 } }).toColourspace('b-w').png().toBuffer());
  const la = await decodeImage(file('graya.png'), { mode: 'keep' });
  assert.equal(la.channels, 2);
  assert.ok(Buffer.from(la.data).equals(grayAlpha), 'gray + alpha pixels as written');
});

test('lossless AVIF gives back the pixels it was encoded from', async () => {
  const avif = await decodeImage(file('a.avif'));
  assert.deepEqual([avif.width, avif.height, avif.channels], [W, H, 3]);
  assert.ok(Buffer.from(avif.data).equals(rgb));
});

test('16-bit PNGs become 8-bit by keeping the high byte (PIL does so for RGB)', async () => {
  const wide = new Uint16Array(W * H * 3);
  for (let i = 0; i < wide.length; i++) wide[i] = (i * 2654435761) % 65536;
  writeFileSync(file('rgb16.png'), await sharp(wide, { raw: { width: W, height: H, channels: 3 } }).toColourspace('rgb16').png().toBuffer());
  assert.equal((await sharp(file('rgb16.png')).metadata()).depth, 'ushort', 'the fixture is 16-bit');
  const [expected] = pil([file('rgb16.png')], 'RGB');
  assertSameAsPil(await decodeImage(file('rgb16.png')), expected, 'rgb16.png');
  // PIL's convert() clips 16-bit gray to 255 instead of scaling; the reference is the stored samples' high byte.
  const gray = wide.subarray(0, W * H);
  writeFileSync(file('gray16.png'), await sharp(gray, { raw: { width: W, height: H, channels: 1 } }).toColourspace('grey16').png().toBuffer());
  const decoded = await decodeImage(file('gray16.png'), { mode: 'gray' });
  const highBytes = runPython<string>('data_ref.py', { command: 'highBytes16', file: file('gray16.png') });
  assert.ok(Buffer.from(decoded.data).equals(Buffer.from(highBytes, 'base64')));
});

test('imageToTensor gives torchvision layout [C, H, W]; encodePng round-trips through PIL', async () => {
  const decoded = await decodeImage(file('a.png'));
  const t = imageToTensor(decoded);
  assert.deepEqual(t.shape, [3, H, W]);
  assert.equal(t.dtype, 'uint8');
  // pixel (y=2, x=5), channel 1 sits at HWC offset (2 * W + 5) * 3 + 1
  assert.equal(t.narrow(0, 1, 1).narrow(1, 2, 1).narrow(2, 5, 1).item(), rgb[(2 * W + 5) * 3 + 1]);
  writeFileSync(file('encoded.png'), await encodePng(t));
  writeFileSync(file('encoded-gray.png'), await encodePng(t.narrow(0, 0, 1).reshape([H, W])));
  const [colour, gray] = pil([file('encoded.png'), file('encoded-gray.png')], 'RGB');
  assertSameAsPil(decoded, colour, 'encodePng RGB');
  assert.equal(gray.channels, 3);
  await assert.rejects(encodePng(t.float()), /uint8/);
  t.dispose();
});

test("a JPEG with a recoverable defect loads as PIL loads it (only truncation and errors refuse)", async () => {
  const jpeg = readFileSync(file('a.jpg'));
  // Bytes between the first two header segments: libjpeg warns "3 extraneous bytes before marker".
  const second = 4 + jpeg.readUInt16BE(4);
  writeFileSync(file('extraneous.jpg'), Buffer.concat([jpeg.subarray(0, second), Buffer.from([1, 2, 3]), jpeg.subarray(second)]));
  const [expected] = pil([file('extraneous.jpg')], 'RGB');
  assertSameAsPil(await decodeImage(file('extraneous.jpg')), expected, 'extraneous.jpg');
});

test('corrupt, truncated, empty and unsupported files are refused with the path and the reason', async () => {
  const jpeg = readFileSync(file('a.jpg'));
  const png = readFileSync(file('a.png'));
  writeFileSync(file('truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  writeFileSync(file('truncated.png'), png.subarray(0, png.length - 200));
  writeFileSync(file('empty.png'), Buffer.alloc(0));
  writeFileSync(file('text.jpg'), 'not an image\n');
  for (const name of ['truncated.jpg', 'truncated.png', 'empty.png', 'text.jpg']) {
    await assert.rejects(decodeImage(file(name)), (e: unknown) => {
      assert.ok(e instanceof ImageDecodeError, `${name}: ${e}`);
      assert.ok(e.message.startsWith(`${file(name)}: cannot decode image: `), e.message);
      assert.ok(e.reason.length > 0);
      return true;
    });
  }
  await assert.rejects(decodeImage(jpeg.subarray(0, 100), { source: 'upload #3' }), /^ImageDecodeError: upload #3: cannot decode image/);
  await assert.rejects(decodeImage(file('missing.png')), /ENOENT.*missing\.png/);
});

test("decompression bombs are refused at PIL's limit", async () => {
  // PIL warns above Image.MAX_IMAGE_PIXELS and raises DecompressionBombError above twice that.
  assert.equal(DEFAULT_MAX_PIXELS, 2 * runPython<number>('data_ref.py', { command: 'maxPixels' }));
  // A PNG whose header claims 20000 x 10000 pixels: refused before any pixel is decoded.
  const png = Buffer.from(readFileSync(file('a.png')));
  png.writeUInt32BE(20000, 16);
  png.writeUInt32BE(10000, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  writeFileSync(file('bomb.png'), png);
  await assert.rejects(decodeImage(file('bomb.png')), /bomb\.png: cannot decode image: refusing a possible decompression bomb: 20000x10000 = 200000000 pixels exceeds maxPixels 178956970/);
  await assert.rejects(decodeImage(file('a.png'), { maxPixels: 1000 }), /decompression bomb: 37x29 = 1073 pixels exceeds maxPixels 1000/);
  assert.equal((await decodeImage(file('a.png'), { maxPixels: W * H })).width, W);
});
