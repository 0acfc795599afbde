// The deterministic image ops (src/transforms/functional/) against torchvision 0.14's
// transforms.functional on the same tensors: uint8 and float32 images of odd sizes, single and batched.
import { before, test } from 'node:test';
import type { Tensor } from '@iris/torch';
import * as torch from '@iris/torch';
import * as F from '../src/transforms/functional/index.js';
import { runPython, toJson, type JsonTensor } from './helpers/reference.js';
import { assertSameImage, seededImage } from './transforms-helpers.js';

const images: Record<string, Tensor> = {
  u8: seededImage([3, 37, 53], 'uint8', 1),
  f32: seededImage([3, 37, 53], 'float32', 2),
  f64: seededImage([3, 21, 17], 'float64', 3),
  gray8: seededImage([1, 29, 31], 'uint8', 4),
  batch8: seededImage([2, 3, 19, 23], 'uint8', 5),
  batchF: seededImage([2, 3, 19, 23], 'float32', 6),
  tiny8: seededImage([3, 2, 5], 'uint8', 7),
  // A constant first channel (autocontrast's 0/0 case) and a narrow histogram (equalize's LUT).
  flat8: torch.cat([torch.full([1, 11, 13], 77, { dtype: 'uint8' }), seededImage([2, 11, 13], 'uint8', 8).div(4).to('uint8').add(100)], 0),
};

interface Case {
  name: string;
  /** The image names to run the case on. */
  inputs: string[];
  iris: (img: Tensor) => Tensor;
  /** The torchvision call, with F = torchvision.transforms.functional, I = InterpolationMode, img = the input. */
  torch: string;
}

const color = ['u8', 'f32'];
const all = ['u8', 'f32', 'batch8', 'batchF'];

const cases: Case[] = [
  // resize
  { name: 'resize [h, w] bilinear', inputs: [...all, 'f64', 'gray8'], iris: (x) => F.resize(x, [20, 30]), torch: 'F.resize(img, [20, 30])' },
  { name: 'resize shorter side bilinear', inputs: all, iris: (x) => F.resize(x, 24), torch: 'F.resize(img, 24)' },
  { name: 'resize shorter side nearest', inputs: all, iris: (x) => F.resize(x, 24, { interpolation: 'nearest' }), torch: 'F.resize(img, 24, interpolation=I.NEAREST)' },
  { name: 'resize up bicubic', inputs: all, iris: (x) => F.resize(x, [50, 71], { interpolation: 'bicubic' }), torch: 'F.resize(img, [50, 71], interpolation=I.BICUBIC)' },
  { name: 'resize bicubic down, shorter side as [n]', inputs: color, iris: (x) => F.resize(x, [13], { interpolation: 'bicubic' }), torch: 'F.resize(img, [13], interpolation=I.BICUBIC)' },
  { name: 'resize maxSize', inputs: color, iris: (x) => F.resize(x, 30, { maxSize: 40 }), torch: 'F.resize(img, 30, max_size=40)' },
  { name: 'resize antialias bilinear', inputs: all, iris: (x) => F.resize(x, [15, 22], { antialias: true }), torch: 'F.resize(img, [15, 22], antialias=True)' },
  { name: 'resize antialias bicubic', inputs: color, iris: (x) => F.resize(x, 20, { interpolation: 'bicubic', antialias: true }), torch: 'F.resize(img, 20, interpolation=I.BICUBIC, antialias=True)' },
  { name: 'resize to the same size', inputs: color, iris: (x) => F.resize(x, 37), torch: 'F.resize(img, 37)' },
  // crops and pads
  { name: 'centerCrop square', inputs: [...all, 'gray8'], iris: (x) => F.centerCrop(x, 16), torch: 'F.center_crop(img, 16)' },
  { name: 'centerCrop odd margins', inputs: color, iris: (x) => F.centerCrop(x, [24, 26]), torch: 'F.center_crop(img, [24, 26])' },
  { name: 'centerCrop larger than the image pads', inputs: [...color, 'batch8'], iris: (x) => F.centerCrop(x, [42, 60]), torch: 'F.center_crop(img, [42, 60])' },
  { name: 'centerCrop taller than the image pads then crops', inputs: color, iris: (x) => F.centerCrop(x, [40, 30]), torch: 'F.center_crop(img, [40, 30])' },
  { name: 'crop inside', inputs: all, iris: (x) => F.crop(x, 3, 5, 11, 14), torch: 'F.crop(img, 3, 5, 11, 14)' },
  { name: 'crop past the top-left pads with zeros', inputs: color, iris: (x) => F.crop(x, -4, -3, 20, 25), torch: 'F.crop(img, -4, -3, 20, 25)' },
  { name: 'crop past the bottom-right pads with zeros', inputs: color, iris: (x) => F.crop(x, 30, 45, 12, 9), torch: 'F.crop(img, 30, 45, 12, 9)' },
  { name: 'resizedCrop', inputs: all, iris: (x) => F.resizedCrop(x, 2, 3, 15, 17, [12, 10]), torch: 'F.resized_crop(img, 2, 3, 15, 17, [12, 10])' },
  { name: 'pad constant with fill', inputs: [...all, 'gray8'], iris: (x) => F.pad(x, 3, { fill: 7 }), torch: 'F.pad(img, 3, fill=7)' },
  { name: 'pad edge [lr, tb]', inputs: all, iris: (x) => F.pad(x, [2, 5], { paddingMode: 'edge' }), torch: "F.pad(img, [2, 5], padding_mode='edge')" },
  { name: 'pad reflect [l, t, r, b]', inputs: all, iris: (x) => F.pad(x, [1, 2, 3, 4], { paddingMode: 'reflect' }), torch: "F.pad(img, [1, 2, 3, 4], padding_mode='reflect')" },
  { name: 'pad symmetric', inputs: all, iris: (x) => F.pad(x, [4, 3, 2, 1], { paddingMode: 'symmetric' }), torch: "F.pad(img, [4, 3, 2, 1], padding_mode='symmetric')" },
  { name: 'pad symmetric with negative padding', inputs: color, iris: (x) => F.pad(x, [-1, 2, 3, -2], { paddingMode: 'symmetric' }), torch: "F.pad(img, [-1, 2, 3, -2], padding_mode='symmetric')" },
  { name: 'pad constant with negative padding', inputs: color, iris: (x) => F.pad(x, [-2, 3]), torch: 'F.pad(img, [-2, 3])' },
  { name: 'hflip', inputs: all, iris: (x) => F.hflip(x), torch: 'F.hflip(img)' },
  { name: 'vflip', inputs: all, iris: (x) => F.vflip(x), torch: 'F.vflip(img)' },
  // rotate and affine
  { name: 'rotate nearest', inputs: [...all, 'gray8'], iris: (x) => F.rotate(x, 30), torch: 'F.rotate(img, 30.0)' },
  { name: 'rotate bilinear', inputs: [...all, 'f64'], iris: (x) => F.rotate(x, 30, { interpolation: 'bilinear' }), torch: 'F.rotate(img, 30.0, interpolation=I.BILINEAR)' },
  { name: 'rotate expand bilinear', inputs: all, iris: (x) => F.rotate(x, -45, { interpolation: 'bilinear', expand: true }), torch: 'F.rotate(img, -45.0, interpolation=I.BILINEAR, expand=True)' },
  { name: 'rotate 90 expand nearest, fill 0', inputs: color, iris: (x) => F.rotate(x, 90, { expand: true, fill: 0 }), torch: 'F.rotate(img, 90.0, expand=True, fill=0)' },
  {
    name: 'rotate about a centre with a per-channel fill',
    inputs: ['u8', 'batch8'],
    iris: (x) => F.rotate(x, 17.5, { center: [10, 5], fill: [10, 200, 30] }),
    torch: 'F.rotate(img, 17.5, center=[10, 5], fill=[10, 200, 30])',
  },
  { name: 'rotate bilinear with a fill', inputs: ['f32', 'batchF'], iris: (x) => F.rotate(x, -123.25, { interpolation: 'bilinear', fill: [0.5] }), torch: 'F.rotate(img, -123.25, interpolation=I.BILINEAR, fill=[0.5])' },
  {
    name: 'affine bilinear',
    inputs: all,
    iris: (x) => F.affine(x, 10, [3, -2], 1.1, [5, -3], { interpolation: 'bilinear' }),
    torch: 'F.affine(img, 10.0, [3, -2], 1.1, [5.0, -3.0], interpolation=I.BILINEAR)',
  },
  { name: 'affine nearest, shear x only, fill', inputs: color, iris: (x) => F.affine(x, -25, [0, 4], 0.8, 12, { fill: 1 }), torch: 'F.affine(img, -25.0, [0, 4], 0.8, 12.0, fill=[1.0])' },
  {
    name: 'affine shear about the corner (AutoAugment ShearX)',
    inputs: color,
    iris: (x) => F.affine(x, 0, [0, 0], 1, [Math.atan(0.3) * (180 / Math.PI), 0], { center: [0, 0] }),
    torch: 'F.affine(img, 0.0, [0, 0], 1.0, [math.degrees(math.atan(0.3)), 0.0], center=[0, 0])',
  },
  // colour
  { name: 'rgbToGrayscale', inputs: [...all, 'gray8'], iris: (x) => F.rgbToGrayscale(x), torch: 'F.rgb_to_grayscale(img)' },
  { name: 'rgbToGrayscale to 3 channels', inputs: color, iris: (x) => F.rgbToGrayscale(x, 3), torch: 'F.rgb_to_grayscale(img, 3)' },
  { name: 'adjustBrightness down', inputs: all, iris: (x) => F.adjustBrightness(x, 0.7), torch: 'F.adjust_brightness(img, 0.7)' },
  { name: 'adjustBrightness up (clamps)', inputs: [...all, 'gray8'], iris: (x) => F.adjustBrightness(x, 1.3), torch: 'F.adjust_brightness(img, 1.3)' },
  { name: 'adjustBrightness by an integer factor', inputs: color, iris: (x) => F.adjustBrightness(x, 2), torch: 'F.adjust_brightness(img, 2)' },
  { name: 'adjustContrast down', inputs: [...all, 'gray8'], iris: (x) => F.adjustContrast(x, 0.5), torch: 'F.adjust_contrast(img, 0.5)' },
  { name: 'adjustContrast up', inputs: [...all, 'f64'], iris: (x) => F.adjustContrast(x, 1.6), torch: 'F.adjust_contrast(img, 1.6)' },
  { name: 'adjustSaturation to grey', inputs: color, iris: (x) => F.adjustSaturation(x, 0), torch: 'F.adjust_saturation(img, 0.0)' },
  { name: 'adjustSaturation', inputs: all, iris: (x) => F.adjustSaturation(x, 1.7), torch: 'F.adjust_saturation(img, 1.7)' },
  { name: 'adjustHue negative', inputs: [...all, 'f64'], iris: (x) => F.adjustHue(x, -0.3), torch: 'F.adjust_hue(img, -0.3)' },
  { name: 'adjustHue positive', inputs: [...color, 'flat8'], iris: (x) => F.adjustHue(x, 0.1), torch: 'F.adjust_hue(img, 0.1)' },
  { name: 'adjustHue half a turn', inputs: color, iris: (x) => F.adjustHue(x, 0.5), torch: 'F.adjust_hue(img, 0.5)' },
  { name: 'adjustSharpness blur', inputs: [...all, 'gray8'], iris: (x) => F.adjustSharpness(x, 0.3), torch: 'F.adjust_sharpness(img, 0.3)' },
  { name: 'adjustSharpness sharpen', inputs: [...all, 'f64'], iris: (x) => F.adjustSharpness(x, 2.0), torch: 'F.adjust_sharpness(img, 2.0)' },
  { name: 'adjustSharpness of a 2-pixel-high image is a no-op', inputs: ['tiny8'], iris: (x) => F.adjustSharpness(x, 2.0), torch: 'F.adjust_sharpness(img, 2.0)' },
  { name: 'invert', inputs: [...all, 'gray8'], iris: (x) => F.invert(x), torch: 'F.invert(img)' },
  { name: 'posterize 3 bits', inputs: ['u8', 'batch8', 'gray8'], iris: (x) => F.posterize(x, 3), torch: 'F.posterize(img, 3)' },
  { name: 'posterize 0 and 8 bits', inputs: ['u8'], iris: (x) => torch.stack([F.posterize(x, 0), F.posterize(x, 8), F.posterize(x, 1)]), torch: 'torch.stack([F.posterize(img, 0), F.posterize(img, 8), F.posterize(img, 1)])' },
  { name: 'solarize uint8', inputs: ['u8', 'batch8'], iris: (x) => F.solarize(x, 128), torch: 'F.solarize(img, 128)' },
  { name: 'solarize fractional threshold', inputs: ['u8', 'f32'], iris: (x) => F.solarize(x, 0.45), torch: 'F.solarize(img, 0.45)' },
  { name: 'autocontrast', inputs: [...all, 'flat8', 'gray8'], iris: (x) => F.autocontrast(x), torch: 'F.autocontrast(img)' },
  { name: 'equalize', inputs: ['u8', 'batch8', 'gray8', 'flat8'], iris: (x) => F.equalize(x), torch: 'F.equalize(img)' },
  // dtype, normalisation, erasing
  { name: 'toDtype to float32', inputs: ['u8', 'f64'], iris: (x) => F.toDtype(x, 'float32'), torch: 'F.convert_image_dtype(img, torch.float32)' },
  { name: 'toDtype to uint8', inputs: ['f32', 'f64'], iris: (x) => F.toDtype(x, 'uint8'), torch: 'F.convert_image_dtype(img, torch.uint8)' },
  { name: 'toDtype to float64', inputs: ['u8', 'f32'], iris: (x) => F.toDtype(x, 'float64'), torch: 'F.convert_image_dtype(img, torch.float64)' },
  { name: 'toDtype uint8 to int32', inputs: ['u8'], iris: (x) => F.toDtype(x, 'int32'), torch: 'F.convert_image_dtype(img, torch.int32)' },
  { name: 'toDtype int32 to uint8', inputs: ['u8'], iris: (x) => F.toDtype(F.toDtype(x, 'int32'), 'uint8'), torch: 'F.convert_image_dtype(F.convert_image_dtype(img, torch.int32), torch.uint8)' },
  {
    name: 'normalize',
    inputs: ['f32', 'batchF', 'f64'],
    iris: (x) => F.normalize(x, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    torch: 'F.normalize(img, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])',
  },
  { name: 'erase with a number', inputs: ['u8', 'batch8'], iris: (x) => F.erase(x, 3, 4, 10, 12, 9), torch: 'F.erase(img, 3, 4, 10, 12, torch.tensor([9]))' },
  {
    name: 'erase with a per-channel value',
    inputs: ['f32', 'batchF'],
    iris: (x) => F.erase(x, 0, 7, 5, 30, torch.tensor([0.25, 0.5, 0.75]).view([3, 1, 1])),
    torch: 'F.erase(img, 0, 7, 5, 30, torch.tensor([0.25, 0.5, 0.75]).view(3, 1, 1))',
  },
];

let expected: JsonTensor[] = [];
const runs = cases.flatMap((c) => c.inputs.map((input) => ({ c, input })));

before(() => {
  expected = runPython<JsonTensor[]>('transforms_ref.py', {
    kind: 'functional',
    images: Object.fromEntries(Object.entries(images).map(([k, v]) => [k, toJson(v)])),
    cases: runs.map(({ c, input }) => ({ input, expr: c.torch })),
  });
});

for (const c of cases) {
  test(`functional ${c.name} equals torchvision`, () => {
    for (const input of c.inputs) {
      const index = runs.findIndex((r) => r.c === c && r.input === input);
      const source = images[input].clone();
      const out = torch.tidy(() => c.iris(source));
      assertSameImage(out, expected[index], `${c.name} on ${input} [${images[input].shape}] ${images[input].dtype}`);
      assertSameImage(source, toJson(images[input]), `${c.name} leaves its input ${input} unchanged`, 0);
    }
  });
}
