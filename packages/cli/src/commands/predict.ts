// iris predict IMAGE|DIR --run DIR [--json] [--topk 5] [--batch-size 32] [--precision P]
import * as torch from '@iris/torch';
import { decodeImage, imageToTensor, IMAGE_EXTENSIONS } from '@iris/vision/data';
import { makeRecipeTransform } from '@iris/vision/train';
import { Rng } from '@iris/vision/data';
import { functional as TF } from '@iris/vision/transforms';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { globSync, isDynamicPattern } from 'tinyglobby';
import { extname, join } from 'node:path';
import { UsageError, type CommandSpec, type ParsedCommand } from '../options.js';
import { openRun, inferenceForward, precisionOption } from './run-files.js';
import type { Precision } from '@iris/vision/train';
import { isDetectionRun, predictDetectionRun } from './detect-run.js';

export const spec: CommandSpec = {
  name: 'predict',
  summary: 'Classify image files (PNG, JPEG, WebP, ...) or every image in a folder with a run\'s selected weights; a detection run draws boxes.',
  usage: "IMAGE|DIR|'GLOB'... --run DIR [options]",
  positionals: true,
  options: {
    run: { type: 'string', placeholder: 'DIR', description: 'a run folder written by iris train (required)' },
    weights: { type: 'string', placeholder: 'FILE', description: 'weights to use instead of RUN/best.safetensors' },
    topk: { type: 'integer', min: 1, default: 5, description: 'how many classes to show per image' },
    json: { type: 'boolean', default: false, description: 'print the predictions as JSON' },
    precision: precisionOption,
    batchSize: { type: 'integer', min: 1, default: 32, description: 'images per forward pass' },
    scoreThresh: { type: 'number', min: 0, max: 1, defaultText: "the detector's", description: 'detection runs: drop boxes scoring below this' },
    saveDir: { type: 'string', placeholder: 'DIR', defaultText: 'RUN/predict', description: 'detection runs: where the images with boxes go' },
    saveTxt: { type: 'boolean', default: false, description: 'detection runs: also write YOLO-format .txt files (class cx cy w h score)' },
  },
  examples: ['iris predict shirt.png --run runs/fmnist', 'iris predict photos/ --run runs/fmnist --json --topk 3'],
};

export async function predictCommand({ positional, values: flags }: ParsedCommand): Promise<number> {
  if (positional.length === 0) throw new UsageError('iris predict IMAGE|DIR --run RUN_DIR: give images to classify');
  if (!flags.run) throw new UsageError('iris predict: --run RUN_DIR (a folder written by iris train) is required');
  // A pattern the shell did not expand ('images/*.png', 'data/**/*.jpg') is matched here, as Ultralytics' source= globs are.
  const isPattern = (p: string) => !existsSync(p) && isDynamicPattern(p);
  const missing = positional.find((p) => !existsSync(p) && !isDynamicPattern(p));
  if (missing) throw new UsageError(`iris predict: ${missing}: no such file or folder`);
  const files = positional.flatMap((p) => {
    if (isPattern(p)) {
      const matched = globSync(p, { onlyFiles: true }).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort();
      if (matched.length === 0) throw new UsageError(`iris predict: ${p}: the pattern matches no image files`);
      return matched;
    }
    return statSync(p).isDirectory()
      ? readdirSync(p).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort().map((f) => join(p, f))
      : [p];
  });
  if (isDetectionRun(String(flags.run))) {
    return predictDetectionRun(String(flags.run), files, {
      weights: flags.weights ? String(flags.weights) : undefined,
      json: flags.json === true,
      scoreThresh: flags.scoreThresh === undefined ? undefined : Number(flags.scoreThresh),
      saveDir: flags.saveDir ? String(flags.saveDir) : undefined,
      saveTxt: flags.saveTxt === true,
      precision: flags.precision as Precision | undefined,
    });
  }
  const { run, model } = openRun(String(flags.run), flags.weights ? String(flags.weights) : undefined);
  const batchSize = Number(flags.batchSize);
  const forward = inferenceForward(run, model, flags.precision as Precision | undefined, { batchSize });
  const topk = Math.min(Number(flags.topk), run.classes.length);
  const transform = makeRecipeTransform({ ...run.transform, train: false });
  const channels = Number(run.buildOptions.inChannels ?? 3);
  const size = run.transform.cropSize;
  const results: { file: string; predictions: { label: string; index: number; probability: number }[] }[] = [];
  // A batch of files decoded at a time: one forward pass per batch, and memory for one batch of images.
  for (let start = 0; start < files.length; start += batchSize) {
    const group = files.slice(start, start + batchSize);
    const decoded = await Promise.all(group.map((file) => decodeImage(file, { mode: channels === 1 ? 'gray' : 'rgb' })));
    const predictions = torch.noGrad(() =>
      torch.tidy(() => {
        const inputs = decoded.map((d) => {
          let image = imageToTensor(d);
          // Small-image runs saw whole images at their training size: resize exactly to it.
          if (run.transform.kind === 'small' && (image.shape[1] !== size || image.shape[2] !== size)) image = TF.resize(image, [size, size], { antialias: true });
          return transform(image, new Rng(0));
        });
        const [p, i] = forward(torch.stack(inputs, 0)).softmax(1).topk(topk, 1);
        const probabilities = p.tolist() as number[][];
        return (i.tolist() as number[][]).map((row, n) => row.map((index, k) => ({ label: run.classes[index], index, probability: probabilities[n][k] })));
      }),
    );
    group.forEach((file, n) => results.push({ file, predictions: predictions[n] }));
  }
  if (flags.json) console.log(JSON.stringify(results, null, 2));
  else
    for (const r of results) {
      console.log(r.file);
      for (const p of r.predictions) console.log(`  ${(p.probability * 100).toFixed(2).padStart(6)}%  ${p.label}`);
    }
  return 0;
}
