// iris eval --run DIR [--split test|validation] [--dataset SPEC] [--weights FILE] [--batch-size N] [--precision P [--compare-precision]]
import { DataLoader } from '@iris/vision/data';
import { makeRecipeTransform, ClassificationMetrics } from '@iris/vision/train';
import * as torch from '@iris/torch';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, type CommandSpec, type ParsedCommand } from '../options.js';
import { openRun, inferenceForward, precisionOption } from './run-files.js';
import type { Precision } from '@iris/vision/train';
import { openDataset } from './datasets.js';
import { evalDetectionRun, isDetectionRun } from './detect-run.js';

export const spec: CommandSpec = {
  name: 'eval',
  summary: 'Evaluate a run\'s selected weights on its test (or validation) split.',
  description: 'Top-1/top-5, loss, per-class precision/recall/F1 and calibration of RUN/best.safetensors; written to RUN/eval.json.',
  usage: '--run DIR [options]',
  options: {
    run: { type: 'string', placeholder: 'DIR', description: 'a run folder written by iris train (required)' },
    split: { type: 'string', choices: ['test', 'validation'], default: 'test', description: 'the dataset\'s test split (a detection run: the split it was finally evaluated on), or the run\'s held-out validation split (same seed and fraction as in training)' },
    dataset: { type: 'string', placeholder: 'SPEC', description: 'another dataset with the same classes (default: the run\'s)' },
    weights: { type: 'string', placeholder: 'FILE', description: 'weights to evaluate instead of RUN/best.safetensors' },
    batchSize: { type: 'integer', min: 1, default: 256, description: 'images per batch' },
    json: { type: 'boolean', default: false, description: 'print the report as JSON' },
    precision: precisionOption,
    comparePrecision: { type: 'boolean', default: false, description: 'also run fp32 on the same images and report the change in top-1 and how often the two agree' },
  },
  examples: ['iris eval --run runs/fmnist', 'iris eval --run runs/fmnist --split validation --json', 'iris eval --run runs/fmnist --precision bf16 --compare-precision'],
};

export async function evalCommand({ values: flags }: ParsedCommand): Promise<number> {
  if (!flags.run) throw new UsageError('iris eval: --run RUN_DIR (a folder written by iris train) is required');
  if (isDetectionRun(String(flags.run))) {
    return evalDetectionRun(String(flags.run), {
      weights: flags.weights ? String(flags.weights) : undefined,
      dataset: flags.dataset ? String(flags.dataset) : undefined,
      split: String(flags.split),
      batchSize: Math.min(Number(flags.batchSize), 8),
      json: flags.json === true,
      precision: flags.precision as Precision | undefined,
    });
  }
  const { run, model } = openRun(String(flags.run), flags.weights ? String(flags.weights) : undefined);
  // The validation split is re-drawn as training drew it: same seed, fraction and limit.
  const splitOptions = run.split ? { valSplit: run.split.valSplit, seed: run.split.seed, limit: run.split.limit ?? undefined } : {};
  const data = openDataset(String(flags.dataset ?? run.dataset), flags.split === 'validation' ? splitOptions : {});
  if (data.classes.length !== run.classes.length) {
    throw new UsageError(`iris eval: the dataset has ${data.classes.length} classes, the run's model ${run.classes.length}`);
  }
  const loader = new DataLoader(flags.split === 'validation' ? data.validation : data.test, { batchSize: Number(flags.batchSize), transform: makeRecipeTransform({ ...run.transform, train: false }) });
  const precision = (flags.precision as Precision | undefined) ?? run.precision;
  if (flags.comparePrecision && precision === 'fp32') throw new UsageError('iris eval --compare-precision: compares a lower precision with fp32; add --precision bf16 (or fp16 on CUDA)');
  const forward = inferenceForward(run, model, flags.precision as Precision | undefined, { batchSize: Number(flags.batchSize) });
  // The fp32 reference runs the same folded, channels-last model, so the comparison isolates the precision.
  const reference = flags.comparePrecision ? { forward: inferenceForward(run, model, 'fp32'), metrics: new ClassificationMetrics(run.classes.length), agree: 0 } : null;
  const metrics = new ClassificationMetrics(run.classes.length);
  for await (const batch of loader) {
    torch.noGrad(() => torch.tidy(() => {
      const logits = forward(batch.images);
      const { predicted } = metrics.update(logits, batch.labels, torch.nn.functional.crossEntropy(logits, batch.labels).item());
      if (reference) {
        const fp32 = reference.forward(batch.images);
        const { predicted: fp32Predicted } = reference.metrics.update(fp32, batch.labels, torch.nn.functional.crossEntropy(fp32, batch.labels).item());
        reference.agree += predicted.filter((p, i) => p === fp32Predicted[i]).length;
      }
    }));
    batch.images.dispose();
    batch.labels.dispose();
  }
  const report = metrics.report();
  const comparison = reference && {
    precision,
    fp32Top1: reference.metrics.report().top1,
    top1: report.top1,
    top1ChangePoints: (report.top1 - reference.metrics.report().top1) * 100,
    top1Agreement: report.samples ? reference.agree / report.samples : 0,
  };
  writeFileSync(join(String(flags.run), 'eval.json'), `${JSON.stringify({ split: flags.split, ...report, ...(comparison ? { precisionComparison: comparison } : {}) }, null, 2)}\n`);
  if (flags.json) console.log(JSON.stringify(comparison ? { ...report, precisionComparison: comparison } : report, null, 2));
  else {
    console.log(`${report.samples} images: top-1 ${(report.top1 * 100).toFixed(2)}%, top-5 ${(report.top5 * 100).toFixed(2)}%, loss ${report.loss?.toFixed(4)}, macro F1 ${report.macroF1.toFixed(4)}, ECE ${report.ece.toFixed(4)}`);
    if (comparison) {
      const sign = comparison.top1ChangePoints >= 0 ? '+' : '';
      console.log(`${precision} vs fp32: top-1 ${(comparison.top1 * 100).toFixed(2)}% vs ${(comparison.fp32Top1 * 100).toFixed(2)}% (${sign}${comparison.top1ChangePoints.toFixed(2)} points), same top-1 class on ${(comparison.top1Agreement * 100).toFixed(2)}% of images`);
    }
    run.classes.forEach((c, i) => {
      const m = report.perClass[i];
      console.log(`  ${c.padEnd(16)} precision ${m.precision.toFixed(3)} recall ${m.recall.toFixed(3)} F1 ${m.f1.toFixed(3)} (${m.support})`);
    });
  }
  return 0;
}
