// The pictures a run folder gets: loss and accuracy curves, the confusion matrix, sample predictions.
import { trainingCurveCharts, confusionMatrixChart, svgToPng, predictionGrid } from '@iris/vision/report';
import type { Dataset } from '@iris/vision/data';
import type { EvaluationReport } from '@iris/vision/train';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export async function writeRunReport(
  out: string,
  run: { classes: string[]; testIsValidation: boolean; report: EvaluationReport; predictions: { index: number; predicted: number; confidence: number; label: number }[]; testDataset: Dataset },
): Promise<void> {
  const lines = existsSync(join(out, 'metrics.jsonl'))
    ? readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>)
    : [];
  // The validation curves are of the split held out from train, the matrix of the test split.
  const { loss, accuracy } = trainingCurveCharts(lines, { train: 'train', validation: run.testIsValidation ? 'validation (no test split)' : 'validation (held out from train)' });
  await svgToPng(loss, join(out, 'loss.png'));
  await svgToPng(accuracy, join(out, 'accuracy.png'));
  await svgToPng(confusionMatrixChart(run.report.confusion, run.classes, run.testIsValidation ? 'Confusion matrix (validation: the dataset has no test split)' : 'Confusion matrix (test split, selected weights)'), join(out, 'confusion_matrix.png'));
  const samples = run.predictions.slice(0, 32);
  const items = [];
  for (const p of samples) {
    const sample = await run.testDataset.get(p.index);
    items.push({ image: sample.image, predicted: run.classes[p.predicted], truth: run.classes[p.label], probability: p.confidence });
  }
  await predictionGrid(items, join(out, 'predictions.png'));
  for (const item of items) item.image.dispose();
}
