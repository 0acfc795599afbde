// The pictures a detection run folder gets: loss terms and mAP per epoch, precision-recall curves
// per class (COCO's interpolated precision at IoU 0.5), and the final split's images with the
// selected weights' boxes beside the ground truth; then Ultralytics' run folder: results.csv and
// results.png, its PR / F1 / P / R curves and confusion matrices, labels.png and train_batch0.png.
import { lineChart, svgToPng, type Series } from '@iris/vision/report';
import { prCurveChart, confidenceCurveChart, detectionConfusionChart, labelsChart, resultsTable, formatResultsCsv, resultsChart, type LabelStatsItem } from '@iris/vision/report';
import { detectionGrid, type DetectionGridItem } from '@iris/vision/detection';
import type { DetectionReport } from '@iris/vision/train';
import type { Tensor } from '@iris/torch';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DetectionSample {
  /** uint8 [C, H, W]. */
  image: Tensor;
  boxes: number[][];
  labels: string[];
  scores: number[];
  truth: { boxes: number[][]; labels: string[] };
}

export interface DetectionReportRun {
  /** Class names by label, 0 the background. */
  classes: string[];
  report: DetectionReport;
  samples: DetectionSample[];
  testName: string;
  /** The training split's labels (class index = label - 1), for labels.png. */
  labels?: LabelStatsItem[];
  /** The first training batch as the model saw it, with its boxes, for train_batch0.png; writeDetectionReport disposes the images. */
  trainBatch?: DetectionGridItem[];
}

export async function writeDetectionReport(out: string, run: DetectionReportRun): Promise<void> {
  const rows = existsSync(join(out, 'metrics.jsonl'))
    ? readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>)
    : [];
  const epochs = rows.filter((r) => r.type === 'epoch');
  const column = (name: string) => epochs.filter((r) => typeof r[name] === 'number').map((r) => [Number(r.epoch), Number(r[name])] as [number, number]);
  const lossNames = [...new Set(epochs.flatMap((r) => Object.keys(r).filter((k) => k.startsWith('train_loss'))))];
  const steps = rows.filter((r) => r.type === 'step');
  const stepsPerEpoch = Math.max(1, steps.length / Math.max(1, epochs.length));
  const perStep: Series = { name: 'train (per step)', points: steps.map((r) => [Number(r.step) / stepsPerEpoch, Number(r.loss)] as [number, number]), strokeWidth: 1, opacity: 0.45 };
  const losses: Series[] = [perStep, ...lossNames.map((k) => ({ name: k === 'train_loss' ? 'train (total)' : `train: ${k.replace(/^train_loss_/, '')}`, points: column(k), strokeWidth: k === 'train_loss' ? 2.5 : 1.5 }))];
  await svgToPng(lineChart('Training loss', 'epoch', losses.filter((s) => s.points.length), { yLabel: 'loss', nonNegative: true }), join(out, 'loss.png'));
  const maps: Series[] = [
    { name: 'validation mAP@[.5:.95] (held out)', points: column('val_map') },
    { name: 'validation mAP@0.5 (held out)', points: column('val_map50'), dashed: true },
  ];
  await svgToPng(lineChart('COCO mAP on the held-out validation split', 'epoch', maps.filter((s) => s.points.length), { yLabel: 'mAP', yMin: 0, yMax: 1 }), join(out, 'map.png'));

  // precision[t=0 (IoU .5), r, k, a=0 (all areas), m=last (100 dets)]
  const { coco } = run.report;
  const [T, R, K, A, M] = coco.counts;
  void T;
  const curves: Series[] = coco.perClass.map((c, k) => {
    const points: [number, number][] = [];
    for (let r = 0; r < R; r++) {
      const p = coco.precision[(((0 * R + r) * K + k) * A + 0) * M + (M - 1)];
      if (p >= 0) points.push([coco.params.recThrs[r], p]);
    }
    return { name: `${c.name} (AP50 ${c.ap50 < 0 ? 'n/a' : c.ap50.toFixed(3)})`, points };
  });
  await svgToPng(lineChart(`Precision-recall at IoU 0.5 (${run.testName} split, selected weights)`, 'recall', curves.filter((s) => s.points.length), { yLabel: 'precision', yMin: 0, yMax: 1, width: 760, height: 480 }), join(out, 'pr_curves.png'));

  const predicted: DetectionGridItem[] = run.samples.map((s) => ({ image: s.image, boxes: s.boxes, labels: s.labels, scores: s.scores }));
  const truth: DetectionGridItem[] = run.samples.map((s) => ({ image: s.image, boxes: s.truth.boxes, labels: s.truth.labels }));
  if (predicted.length) {
    await detectionGrid(predicted, join(out, 'predictions.png'));
    await detectionGrid(truth, join(out, 'ground_truth.png'));
  }
  for (const s of run.samples) s.image.dispose();
  await writeUltralyticsFiles(out, run, rows);
}

/** Ultralytics' files, for any detector: the numbers are its metrics of the final split's detections. */
async function writeUltralyticsFiles(out: string, run: DetectionReportRun, rows: Record<string, number | string>[]): Promise<void> {
  const table = resultsTable(rows);
  if (table.rows.length) {
    writeFileSync(join(out, 'results.csv'), formatResultsCsv(table));
    await svgToPng(resultsChart(table), join(out, 'results.png'));
  }
  const names = run.classes.slice(1);
  const { yolo, confusion } = run.report;
  const split = `(${run.testName} split, selected weights)`;
  await svgToPng(prCurveChart(yolo, names, `Precision-Recall Curve ${split}`), join(out, 'PR_curve.png'));
  for (const [metric, file] of [['F1', 'F1_curve.png'], ['Precision', 'P_curve.png'], ['Recall', 'R_curve.png']] as const) {
    await svgToPng(confidenceCurveChart(yolo, names, metric, `${metric}-Confidence Curve ${split}`), join(out, file));
  }
  await svgToPng(detectionConfusionChart(confusion, names, false, `Confusion Matrix ${split}`), join(out, 'confusion_matrix.png'));
  await svgToPng(detectionConfusionChart(confusion, names, true, `Confusion Matrix Normalized ${split}`), join(out, 'confusion_matrix_normalized.png'));
  if (run.labels) await svgToPng(labelsChart(run.labels, names), join(out, 'labels.png'));
  if (run.trainBatch?.length) {
    await detectionGrid(run.trainBatch, join(out, 'train_batch0.png'));
    for (const item of run.trainBatch) if (typeof item.image !== 'string') item.image.dispose();
  }
}
