// The classification recipe for a grayscale dataset trained at another size for a 3-channel model
// (iris train --in-channels 3 --image-size 64: a Fashion-MNIST backbone for a detector), against
// torchvision's Resize(antialias) + channel repeat + Normalize on the same image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import { makeRecipeTransform } from '../src/train/index.js';
import { FashionMnist } from '../src/data/index.js';
import { Rng } from '../src/data/rng.js';
import { RGB } from '../src/transforms/index.js';
import { assertClose, runPython } from './helpers/reference.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';

test('resize to 64 px + RGB + Normalize equals torchvision on a Fashion-MNIST image (eval) and keeps 3 equal channels in training', () => {
  const data = new FashionMnist(FMNIST, { train: false });
  const image = data.get(7).image;
  const [mean, std] = [0.286, 0.353];
  const options = { kind: 'small' as const, cropSize: 64, mean: [mean, mean, mean], std: [std, std, std], scaleTo: 64, rgb: true, padding: 2 };
  const ours = makeRecipeTransform({ ...options, train: false })(image, new Rng(1n)) as torch.Tensor;
  const ref = runPython('recipe_transforms_ref.py', { image: image.tolist(), side: 64, mean, std });
  // uint8 resizing may round a pixel to the neighbouring level: one level is 1 / 255 / std.
  assertClose(ours, ref, { rtol: 0, atol: 1 / 255 / std + 1e-6, what: 'recipe output' });
  const trained = makeRecipeTransform({ ...options, train: true })(image, new Rng(2n)) as torch.Tensor;
  assert.deepEqual(trained.shape, [3, 64, 64]);
  assert.ok(trained.select(0, 0).equal(trained.select(0, 2)), 'the three channels are the grey one');
  assert.throws(() => RGB()(torch.zeros([2, 4, 4], { dtype: 'uint8' })), /RGB: expected an image with 1 or 3 channels, got 2/);
});
