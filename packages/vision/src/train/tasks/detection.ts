// Object detection as torchvision's references train it: the detector's own loss dict (summed) in
// train mode, and COCO's bbox protocol (pycocotools' COCOeval, through cocoEvaluate) on evaluation,
// where AP@[.5:.95] selects the best epoch.
import * as torch from '@iris/torch';
import type { nn, Tensor } from '@iris/torch';
import type { DetectionBatch, DetectionSampleTarget } from '../../detection/data/types.js';
import { cocoEvaluate, type CocoEvalResult } from '../../detection/evaluate/coco-eval.js';
import { convertToCoco } from '../../detection/evaluate/convert.js';
import type { EvalPrediction, EvalTarget } from '../../detection/evaluate/arrays.js';
import { yoloMetrics, type YoloMetrics } from '../../detection/evaluate/yolo-metrics.js';
import { DetectionConfusionMatrix } from '../../detection/evaluate/detection-confusion.js';
import type { Detection, DetectionTarget, Detector } from '../../detection/models/registry.js';
import type { TaskContext, TrainingTask, TrainLoss } from './task.js';

export interface DetectionTaskOptions {
  /** Class names by label, 0 the background (a DetectionDataset's `classes`): names the per-class AP. */
  classes: readonly string[];
}

export interface DetectionReport {
  /** Images evaluated. */
  samples: number;
  /** COCO AP@[.5:.95], AP@.5 and AP@.75 (stats 0-2); -1 when there is no ground truth. */
  map: number;
  map50: number;
  map75: number;
  /** The whole COCOeval result: the 12 stats, per-class AP, precision/recall arrays. */
  coco: CocoEvalResult;
  /** Ultralytics' metrics of the same detections (P, R, mAP50, mAP50-95, curves); class index = label - 1. */
  yolo: YoloMetrics;
  /** Ultralytics' detection confusion matrix [K + 1][K + 1] (rows predicted, columns true, background last). */
  confusion: number[][];
}

/** Sees each evaluated batch: its images (as the model got them), targets and detections. */
export type DetectionObserver = (images: Tensor[], targets: DetectionSampleTarget[], detections: Detection[]) => void;

export class DetectionTask implements TrainingTask<DetectionBatch, DetectionReport, DetectionObserver> {
  readonly metric = 'map';
  readonly hasTrainAccuracy = false;

  constructor(readonly options: DetectionTaskOptions) {}

  trainLoss(model: nn.Module, batch: DetectionBatch, context: TaskContext): TrainLoss {
    const images = batch.images.map((image) => context.toDevice(image));
    // Crowd regions are not objects to learn (torchvision's references drop them from the targets);
    // they still count as ignore regions in the COCO evaluation.
    const targets: DetectionTarget[] = batch.targets.map((t) => {
      const keep = t.iscrowd.numel() > 0 && t.iscrowd.any().item() ? t.iscrowd.eq(0).nonzero().flatten() : undefined;
      return {
        boxes: context.toDevice(keep ? t.boxes.indexSelect(0, keep) : t.boxes),
        labels: context.toDevice(keep ? t.labels.indexSelect(0, keep) : t.labels),
      };
    });
    const losses = context.autocast(() => (model as Detector).forward(images, targets)) as Record<string, Tensor>;
    const names = Object.keys(losses);
    if (names.length === 0) throw new TypeError('DetectionTask: the model returned no losses in train mode; is it a registered detector (createDetector)?');
    const parts: Record<string, number> = {};
    let total: Tensor | undefined;
    for (const name of names) {
      const value = losses[name].float();
      parts[name] = value.item();
      total = total ? total.add(value) : value;
    }
    return { loss: total!, samples: images.length, parts };
  }

  async evaluate(model: nn.Module, data: AsyncIterable<DetectionBatch>, context: TaskContext, observe?: DetectionObserver): Promise<DetectionReport> {
    const targets: EvalTarget[] = [];
    const predictions: EvalPrediction[] = [];
    for await (const batch of data) {
      torch.noGrad(() =>
        torch.tidy(() => {
          const images = batch.images.map((image) => context.toDevice(image));
          const detections = context.autocast(() => (model as Detector).forward(images)) as Detection[];
          if (!Array.isArray(detections)) throw new TypeError('DetectionTask: the model returned losses in eval mode; call model.eval() first');
          observe?.(images, batch.targets, detections);
          batch.targets.forEach((t, i) => {
            targets.push({ boxes: floats(t.boxes), labels: t.labels.toFlatArray(), imageId: t.imageId, iscrowd: t.iscrowd.toFlatArray(), area: floats(t.area) });
            const d = detections[i];
            predictions.push({ boxes: floats(d.boxes), scores: floats(d.scores), labels: d.labels.toFlatArray() });
          });
        }),
      );
      this.disposeBatch(batch);
    }
    const categories = this.options.classes.slice(1).map((name, i) => ({ id: i + 1, name }));
    const { groundTruth, detections } = convertToCoco(targets, predictions, { categories });
    const coco = cocoEvaluate(groundTruth, detections);
    // Ultralytics has no crowd regions: its metrics see the other objects.
    const objects = targets.map(withoutCrowd);
    const numClasses = Math.max(1, this.options.classes.length - 1);
    const yolo = yoloMetrics(predictions, objects, { numClasses, labelOffset: 1 });
    const confusion = new DetectionConfusionMatrix(numClasses, { labelOffset: 1 }).process(predictions, objects).matrix;
    return { samples: targets.length, map: coco.stats[0], map50: coco.stats[1], map75: coco.stats[2], coco, yolo, confusion };
  }

  score(report: DetectionReport): number {
    return report.map;
  }

  logFields(report: DetectionReport): Record<string, number | undefined> {
    const [map, map50, map75, mapSmall, mapMedium, mapLarge, ar1, ar10, ar100] = report.coco.stats;
    const { precision, recall, map50: map50Yolo, map: mapYolo } = report.yolo;
    return { map, map50, map75, map_small: mapSmall, map_medium: mapMedium, map_large: mapLarge, ar1, ar10, ar100, precision, recall, map50_yolo: map50Yolo, map_yolo: mapYolo };
  }

  batchSize(batch: DetectionBatch): number {
    return batch.images.length;
  }

  disposeBatch(batch: DetectionBatch): void {
    for (const image of batch.images) image.dispose();
    for (const t of batch.targets) for (const v of Object.values(t)) if (typeof v === 'object' && v !== null && 'dispose' in v) (v as Tensor).dispose();
  }
}

/** The target without its crowd objects. */
function withoutCrowd(t: EvalTarget): EvalTarget {
  const crowd = Array.from(t.iscrowd as ArrayLike<number>);
  if (!crowd.some(Boolean)) return t;
  const boxes = t.boxes as Float32Array;
  const labels = Array.from(t.labels as ArrayLike<number>);
  const keep = crowd.flatMap((c, i) => (c ? [] : [i]));
  return { boxes: keep.flatMap((i) => Array.from(boxes.subarray(4 * i, 4 * i + 4))), labels: keep.map((i) => labels[i]) };
}

/** A float tensor's values as a Float32Array, so COCO's box arithmetic stays float32 as torchvision's is. */
function floats(t: Tensor): Float32Array {
  return Float32Array.from(t.float().toFlatArray());
}
