// The pictures a run folder gets: loss and accuracy curves, the confusion matrix, sample predictions.
import { lineChart, confusionMatrixChart, svgToPng, predictionGrid } from '@iris/vision/report';
import type { Dataset } from '@iris/vision/data';
import type { EvaluationReport } from '@iris/vision/train';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export async function writeRunReport(
  out: string,
  run: { classes: string[]; report: EvaluationReport; predictions: { index: number; predicted: number; confidence: number; label: number }[]; testDataset: Dataset },
): Promise<void> {
  const lines = existsSync(join(out, 'metrics.jsonl'))
    ? readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>)
    : [];
  const epochs = lines.filter((l) => l.type === 'epoch');
  const steps = lines.filter((l) => l.type === 'step');
  const stepsPerEpoch = Math.max(1, steps.length / Math.max(1, epochs.length));
  const series = (rows: Record<string, number | string>[], x: string, y: string) => rows.filter((r) => typeof r[y] === 'number').map((r) => [Number(r[x]), Number(r[y])] as [number, number]);
  await svgToPng(
    lineChart('Loss', 'epoch', [
      { name: 'train (per step)', points: steps.map((r) => [Number(r.step) / stepsPerEpoch, Number(r.loss)] as [number, number]) },
      { name: 'train (epoch mean)', points: series(epochs, 'epoch', 'train_loss') },
      { name: 'validation', points: series(epochs, 'epoch', 'val_loss') },
    ]),
    join(out, 'loss.png'),
  );
  await svgToPng(
    lineChart('Accuracy', 'epoch', [
      { name: 'train', points: series(epochs, 'epoch', 'train_accuracy') },
      { name: 'validation top-1', points: series(epochs, 'epoch', 'val_top1') },
    ]),
    join(out, 'accuracy.png'),
  );
  await svgToPng(confusionMatrixChart(run.report.confusion, run.classes, 'Confusion matrix (test)'), join(out, 'confusion_matrix.png'));
  const samples = run.predictions.slice(0, 32);
  const items = [];
  for (const p of samples) {
    const sample = await run.testDataset.get(p.index);
    items.push({ image: sample.image, predicted: run.classes[p.predicted], truth: run.classes[p.label], probability: p.confidence });
  }
  await predictionGrid(items, join(out, 'predictions.png'));
  for (const item of items) item.image.dispose();
}
