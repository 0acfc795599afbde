// A detection run folder (iris train --task detect) read back by iris eval and iris predict: the
// detector rebuilt from run.json with the selected weights, COCO evaluation of a split, and
// boxes on new images (drawn into the run folder, or printed as JSON).
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { DataLoader, decodeImage, imageToTensor } from '@iris/vision/data';
import { collateDetection, createDetector, detectionDataset, detectionGrid, drawDetections, formatCocoSummary, type Detection, type DetectionBatch, type Detector, type DetectorOptions } from '@iris/vision/detection';
import { DetectionPresetEval } from '@iris/vision/transforms';
import { Trainer, DetectionTask, type Precision } from '@iris/vision/train';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { UsageError } from '../options.js';
import { inferenceAutocast, recordedPrecision } from './run-files.js';

export interface DetectionRunInfo {
  task: 'detect';
  model: string;
  buildOptions: DetectorOptions;
  /** Options evaluation applies over buildOptions (a YOLO's validator settings); absent in older runs. */
  evalOptions?: Partial<DetectorOptions>;
  classes: string[];
  dataset: string;
  split: { valSplit: number; seed: number; limit: number | null; final: string };
}

/** Whether RUN/run.json is a detection run's. */
export function isDetectionRun(runDir: string): boolean {
  const path = join(runDir, 'run.json');
  return existsSync(path) && (JSON.parse(readFileSync(path, 'utf8')) as { task?: string }).task === 'detect';
}

export function openDetectionRun(runDir: string, weights?: string, overrides: Partial<DetectorOptions> = {}): { run: DetectionRunInfo; model: Detector } {
  const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as DetectionRunInfo;
  const model = createDetector(run.model, { ...run.buildOptions, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) });
  const weightsPath = weights ?? join(runDir, 'best.safetensors');
  if (!existsSync(weightsPath)) throw new UsageError(`${weightsPath}: no weights; the run may not have finished an epoch`);
  const stateDict = loadStateDictFile(weightsPath);
  model.loadStateDict(stateDict);
  for (const t of stateDict.values()) t.dispose();
  model.eval();
  return { run, model };
}

function runEvalOptions(runDir: string): Partial<DetectorOptions> {
  return (JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as DetectionRunInfo).evalOptions ?? {};
}

/** COCO evaluation of the run's selected weights on a split of its dataset (or another with the same classes). */
export async function evalDetectionRun(runDir: string, options: { weights?: string; dataset?: string; split?: string; batchSize: number; json: boolean; precision?: Precision }): Promise<number> {
  // The run's evaluation settings (a YOLO's are Ultralytics' validator's), so eval reproduces the run's numbers.
  const { run, model } = openDetectionRun(runDir, options.weights, runEvalOptions(runDir));
  const split = options.split === 'test' ? run.split.final : options.split ?? run.split.final;
  const data = await detectionDataset(options.dataset ?? run.dataset, split === 'validation' ? 'train' : split);
  if (data.classes.join('\n') !== run.classes.join('\n')) throw new UsageError(`iris eval: the dataset's classes (${data.classes.slice(1).join(', ')}) are not the run's (${run.classes.slice(1).join(', ')})`);
  const task = new DetectionTask({ classes: run.classes });
  const trainer = new Trainer({ model, task, optimizer: new torch.optim.SGD(model.parameters(), { lr: 1 }), maxSteps: 1, outDir: runDir, precision: options.precision ?? recordedPrecision(runDir).precision });
  const loader = new DataLoader<DetectionBatch>(data, { batchSize: options.batchSize, collate: collateDetection, transform: DetectionPresetEval() });
  const report = await trainer.evaluate(loader);
  await loader.close();
  const out = { split, samples: report.samples, map: report.map, map50: report.map50, map75: report.map75, stats: report.coco.stats, perClass: report.coco.perClass };
  writeFileSync(join(runDir, 'eval.json'), `${JSON.stringify(out, null, 2)}\n`);
  if (options.json) console.log(JSON.stringify(out, null, 2));
  else {
    console.log(`${report.samples} images of ${options.dataset ?? run.dataset} (${split}):`);
    console.log(formatCocoSummary(report.coco));
    for (const c of report.coco.perClass) console.log(`  ${c.name.padEnd(16)} AP ${c.ap.toFixed(3)}  AP50 ${c.ap50.toFixed(3)}  AP75 ${c.ap75.toFixed(3)}`);
  }
  return 0;
}

/** Boxes on image files: JSON, or images with the boxes drawn into `saveDir`, plus YOLO txt files when asked. */
export async function predictDetectionRun(runDir: string, files: string[], options: { weights?: string; json: boolean; scoreThresh?: number; saveDir?: string; saveTxt: boolean; precision?: Precision }): Promise<number> {
  const { run, model } = openDetectionRun(runDir, options.weights, { scoreThresh: options.scoreThresh });
  const autocast = inferenceAutocast(options.precision ?? recordedPrecision(runDir).precision);
  const saveDir = options.saveDir ?? join(runDir, 'predict');
  mkdirSync(saveDir, { recursive: true });
  const results: { file: string; width: number; height: number; detections: { label: string; index: number; score: number; box: number[] }[] }[] = [];
  const drawn: { image: string; boxes: number[][]; labels: string[]; scores: number[] }[] = [];
  for (const file of files) {
    const decoded = await decodeImage(file, { mode: 'rgb' });
    const { detections, width, height } = torch.noGrad(() =>
      torch.tidy(() => {
        const image: Tensor = imageToTensor(decoded).float().div(255);
        const [d] = autocast(() => model.forward([image])) as Detection[];
        const boxes = d.boxes.float().toFlatArray();
        const scores = d.scores.float().toFlatArray();
        const labels = d.labels.toFlatArray();
        return {
          width: image.shape[2],
          height: image.shape[1],
          detections: labels.map((index, k) => ({ label: run.classes[index] ?? String(index), index, score: scores[k], box: boxes.slice(4 * k, 4 * k + 4) })),
        };
      }),
    );
    results.push({ file, width, height, detections });
    drawn.push({ image: file, boxes: detections.map((d) => d.box), labels: detections.map((d) => d.label), scores: detections.map((d) => d.score) });
    const stem = basename(file, extname(file));
    writeFileSync(join(saveDir, `${stem}.png`), await drawDetections({ image: file, boxes: detections.map((d) => d.box), labels: detections.map((d) => d.label), scores: detections.map((d) => d.score) }, Math.max(width, height)));
    if (options.saveTxt) {
      // Ultralytics' --save-txt: class cx cy w h (normalized) score, classes counted from 0 without the background.
      const lines = detections.map((d) => {
        const [x1, y1, x2, y2] = d.box;
        return [d.index - 1, (x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height, d.score].map((v, i) => (i === 0 ? String(v) : v.toFixed(6))).join(' ');
      });
      writeFileSync(join(saveDir, `${stem}.txt`), lines.length ? `${lines.join('\n')}\n` : '');
    }
  }
  if (drawn.length > 1) await detectionGrid(drawn.slice(0, 16), join(saveDir, 'grid.png'));
  if (options.json) console.log(JSON.stringify(results, null, 2));
  else {
    for (const r of results) {
      console.log(`${r.file}: ${r.detections.length} objects`);
      for (const d of r.detections) console.log(`  ${d.label.padEnd(16)} ${d.score.toFixed(3)}  [${d.box.map((v) => v.toFixed(1)).join(', ')}]`);
    }
    console.log(`images with boxes: ${saveDir}`);
  }
  return 0;
}
