// iris eval --run DIR [--dataset SPEC] [--weights FILE] [--batch-size N]
import { DataLoader } from '@iris/vision/data';
import { makeRecipeTransform, ClassificationMetrics } from '@iris/vision/train';
import * as torch from '@iris/torch';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkFlags, UsageError, type ParsedArgs } from '../args.js';
import { openRun } from './run-files.js';
import { openDataset } from './datasets.js';

export async function evalCommand({ flags }: ParsedArgs): Promise<number> {
  checkFlags('eval', flags, ['run', 'weights', 'dataset', 'batchSize', 'json']);
  if (!flags.run) throw new UsageError('iris eval: --run RUN_DIR (a folder written by iris train) is required');
  const { run, model } = openRun(String(flags.run), flags.weights ? String(flags.weights) : undefined);
  const data = openDataset(String(flags.dataset ?? run.dataset));
  if (data.classes.length !== run.classes.length) {
    throw new UsageError(`iris eval: the dataset has ${data.classes.length} classes, the run's model ${run.classes.length}`);
  }
  const loader = new DataLoader(data.test, { batchSize: Number(flags.batchSize ?? 256), transform: makeRecipeTransform({ ...run.transform, train: false }) });
  const metrics = new ClassificationMetrics(run.classes.length);
  for await (const batch of loader) {
    torch.noGrad(() => torch.tidy(() => {
      const logits = model.forward(batch.images);
      metrics.update(logits, batch.labels, torch.nn.functional.crossEntropy(logits, batch.labels).item());
    }));
    batch.images.dispose();
    batch.labels.dispose();
  }
  const report = metrics.report();
  writeFileSync(join(String(flags.run), 'eval.json'), `${JSON.stringify(report, null, 2)}\n`);
  if (flags.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(`${report.samples} images: top-1 ${(report.top1 * 100).toFixed(2)}%, top-5 ${(report.top5 * 100).toFixed(2)}%, loss ${report.loss?.toFixed(4)}, macro F1 ${report.macroF1.toFixed(4)}, ECE ${report.ece.toFixed(4)}`);
    run.classes.forEach((c, i) => {
      const m = report.perClass[i];
      console.log(`  ${c.padEnd(16)} precision ${m.precision.toFixed(3)} recall ${m.recall.toFixed(3)} F1 ${m.f1.toFixed(3)} (${m.support})`);
    });
  }
  return 0;
}
