// A YOLO behind Iris' Detector contract: images in, letterboxed and batched as Ultralytics'
// predictor does, decoded and NMS'd, boxes mapped back to each image. Labels follow the rest of
// Iris (0 is the background), so Ultralytics' class c is label c + 1; predict() gives its own ids.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { letterbox, letterboxBoxes, unletterboxBoxes, type LetterboxParams } from '../../../transforms/letterbox.js';
import { checkTargets } from '../one-stage.js';
import { COCO_CATEGORIES, registerDetector, type Detection, type DetectionTarget, type Detector, type DetectorOptions, type DetectorWeightsSpec } from '../registry.js';
import type { Detect } from './blocks.js';
import { decodeDetect, nonMaxSuppression, splitDetections } from './postprocess.js';
import { readYoloStateDict } from './checkpoint.js';
import { YoloDetectionLoss, type YoloLossHyp, type YoloLossTarget } from './loss.js';
import { buildYolo, YOLO_NAMES, type YOLO, type YoloName } from './yolo.js';

/** Loss gains (Ultralytics' hyp.box, hyp.cls, hyp.dfl: 7.5, 0.5, 1.5). */
export type YoloLossGains = YoloLossHyp;

/** What the detector needs of the YOLO loss (yolo/loss.ts, YoloDetectionLoss). */
export interface YoloLoss {
  /** @param levels Detect's training outputs per level */
  forward(levels: Tensor[], targets: YoloLossTarget[]): { loss_box: Tensor; loss_cls: Tensor; loss_dfl: Tensor };
}

export type YoloLossFactory = (detect: Detect, hyp?: YoloLossGains) => YoloLoss;

/** Ultralytics' v8DetectionLoss for the current head; a test may pass another (options.loss). */
const defaultLoss: YoloLossFactory = (detect, hyp) => new YoloDetectionLoss(detect, hyp);

export interface YoloDetectorOptions {
  /** Classes, background included (Iris' convention): Ultralytics' nc + 1. Default 81 (COCO's 80). */
  numClasses?: number;
  /** Side of the square input (Ultralytics' imgsz, 640); a multiple of 32. */
  imgsz?: number;
  /**
   * Eval: when every image of a batch has the same size, pad only to the next multiple of 32
   * instead of to imgsz x imgsz (Ultralytics' predictor, LetterBox auto). Default true.
   */
  rect?: boolean;
  /** Confidence threshold (Ultralytics' conf: 0.25 predicting, 0.001 validating). */
  scoreThresh?: number;
  /** NMS IoU threshold (Ultralytics' iou, 0.7). */
  nmsThresh?: number;
  /** Detections kept per image (Ultralytics' max_det, 300). */
  detectionsPerImage?: number;
  /** A box once per class above the threshold (Ultralytics' validator) instead of with its best class (its predictor). */
  multiLabel?: boolean;
  /** Class-agnostic NMS (Ultralytics' agnostic_nms). */
  agnostic?: boolean;
  /** Keep only these classes: Ultralytics' 0-based ids. */
  classes?: number[];
  /** Candidates into NMS (30000). */
  maxNms?: number;
  /** Class names by Ultralytics id (nc of them); default the weights' names, else 'class0', 'class1', ... */
  names?: string[];
  /** Loss gains for training. */
  hyp?: YoloLossGains;
  /** Builds the training loss for the current head. */
  loss?: YoloLossFactory;
}

/** Ultralytics' DetectionValidator settings (conf 0.001, iou 0.7, multi_label, max_det 300), for evaluation. */
export const YOLO_VAL_SETTINGS = { scoreThresh: 0.001, nmsThresh: 0.7, detectionsPerImage: 300, multiLabel: true } as const satisfies YoloDetectorOptions;

/** One image's predictions in Ultralytics' terms: boxes [K, 4] xyxy in its pixels, scores [K], labels [K] 0-based class ids, names[K]. */
export interface YoloPrediction {
  boxes: Tensor;
  scores: Tensor;
  labels: Tensor;
  names: string[];
}

const PAD_VALUE = 114 / 255;
const OPTION_NAMES = ['numClasses', 'imgsz', 'rect', 'scoreThresh', 'nmsThresh', 'detectionsPerImage', 'multiLabel', 'agnostic', 'classes', 'maxNms', 'names', 'hyp', 'loss'];

/** Ultralytics' YOLOv8 / YOLO11 as a registered Iris detector. */
export class YoloDetector extends nn.Module implements Detector {
  /** Ultralytics' numbered layers, so state-dict keys are its own (model.0.conv.weight, ..., model.23.dfl.conv.weight). */
  model: nn.ModuleList;
  readonly name: string;
  imgsz: number;
  rect: boolean;
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImage: number;
  multiLabel: boolean;
  agnostic: boolean;
  classes: number[] | undefined;
  maxNms: number;
  /** Class names by Ultralytics id. */
  names: string[];
  readonly hyp: YoloLossGains | undefined;
  // Private fields are not registered as submodules: the YOLO's layers are `model` above.
  readonly #net: YOLO;
  readonly #lossFactory: YoloLossFactory;
  #loss: YoloLoss | undefined;

  constructor(name: YoloName, options: YoloDetectorOptions = {}) {
    super();
    const { numClasses = 81, imgsz = 640, rect = true, scoreThresh = 0.25, nmsThresh = 0.7, detectionsPerImage = 300, multiLabel = false, agnostic = false, classes, maxNms = 30000, names, hyp, loss = defaultLoss } = options;
    checkNumClasses(name, numClasses);
    if (!Number.isInteger(imgsz) || imgsz <= 0 || imgsz % 32 !== 0) throw new RangeError(`${name}: imgsz should be a positive multiple of 32 (the largest stride), got ${imgsz}`);
    this.#net = buildYolo(name, { numClasses: numClasses - 1 });
    this.model = this.#net.model;
    this.name = name;
    this.imgsz = imgsz;
    this.rect = rect;
    this.scoreThresh = scoreThresh;
    this.nmsThresh = nmsThresh;
    this.detectionsPerImage = detectionsPerImage;
    this.multiLabel = multiLabel;
    this.agnostic = agnostic;
    this.classes = classes;
    this.maxNms = maxNms;
    this.hyp = hyp;
    this.#lossFactory = loss;
    this.names = this.checkNames(names ?? defaultNames(numClasses - 1));
  }

  /** The Ultralytics model itself: `yolo.call(x)` gives Detect's raw per-level outputs, `forwardFeatures` the P3-P5 maps. */
  get yolo(): YOLO {
    return this.#net;
  }

  /** Classes with the background: Ultralytics' nc + 1. */
  get numClasses(): number {
    return this.#net.numClasses + 1;
  }

  /** A fresh class branch for `numClasses - 1` object classes (Detect's cv3); backbone, neck and box branch stay. */
  replaceHead(numClasses: number): void {
    checkNumClasses(this.name, numClasses);
    this.#net.detect.replaceClasses(numClasses - 1);
    this.names = defaultNames(numClasses - 1);
    this.#loss = undefined;
  }

  /**
   * Eval: one Detection per image, boxes in its pixels, labels Ultralytics' class + 1. Train: the
   * YOLO loss terms { loss_box, loss_cls, loss_dfl }, images letterboxed to imgsz x imgsz.
   * @param images [3, H, W] float in [0, 1], each its own size
   * @param targets train mode: per image boxes [N, 4] xyxy in its pixels, labels [N] int64 in 1..nc
   */
  forward(images: Tensor[], targets?: DetectionTarget[]): Detection[] | Record<string, Tensor> {
    this.checkImages(images);
    if (this.training) {
      checkTargets(targets, images.length, this.name);
      targets!.forEach((t, i) => this.checkLabels(t.labels, i));
    }
    return torch.tidy(() => {
      const { batch, params } = this.letterboxBatch(images, this.training ? false : this.rect);
      const raw = this.#net.call(batch);
      // Under mixed precision only the network runs in bf16/fp16: the assigner, the losses and the
      // box decoding need float32 (bf16 has 8 bits: ±2 px at 640).
      const levels = raw.map((l) => l.float());
      return fullPrecision(() => {
        if (this.training) {
          const moved = targets!.map((t, i) => ({ boxes: letterboxBoxes(t.boxes, params[i]), classes: t.labels.sub(1) }));
          this.#loss ??= this.#lossFactory(this.#net.detect, this.hyp);
          return { ...this.#loss.forward(levels, moved) };
        }
        return this.postprocess(levels, params).map(({ boxes, scores, classes }) => ({ boxes, scores, labels: classes.add(1) }));
      });
    });
  }

  /** Ultralytics' predict: eval mode without gradients; labels are its 0-based class ids, with their names. */
  predict(images: Tensor[]): YoloPrediction[] {
    const wasTraining = this.training;
    this.eval();
    try {
      const detections = torch.noGrad(() => this.forward(images)) as Detection[];
      return detections.map(({ boxes, scores, labels }) => {
        const classes = torch.tidy(() => labels.sub(1));
        labels.dispose();
        return { boxes, scores, labels: classes, names: classes.toFlatArray().map((c) => this.names[c]) };
      });
    } finally {
      if (wasTraining) this.train();
    }
  }

  /** Decode, NMS and scale back: per image boxes in its pixels (clipped), scores and 0-based classes. */
  postprocess(levels: Tensor[], params: LetterboxParams[]): { boxes: Tensor; scores: Tensor; classes: Tensor }[] {
    return torch.tidy(() => {
      const rows = nonMaxSuppression(decodeDetect(this.#net.detect, levels), {
        confThres: this.scoreThresh,
        iouThres: this.nmsThresh,
        classes: this.classes,
        agnostic: this.agnostic,
        multiLabel: this.multiLabel,
        maxDet: this.detectionsPerImage,
        maxNms: this.maxNms,
      });
      return rows.map((r, i) => {
        const { boxes, scores, classes } = splitDetections(r);
        return { boxes: unletterboxBoxes(boxes, params[i]), scores, classes };
      });
    });
  }

  /**
   * Letterboxes every image to one shape (grey 114 padding, centred, enlarged or shrunk so the
   * longer side fits) and stacks them; with `rect` and equal sizes, only to the next multiple of 32.
   */
  letterboxBatch(images: Tensor[], rect: boolean): { batch: Tensor; params: LetterboxParams[] } {
    const [h0, w0] = images[0].shape.slice(-2);
    const auto = rect && images.every((img) => img.shape[1] === h0 && img.shape[2] === w0);
    return torch.tidy(() => {
      const boxed = images.map((img) => letterbox(img, { newShape: this.imgsz, auto, stride: 32, scaleup: true, paddingValue: PAD_VALUE }));
      return { batch: torch.stack(boxed.map((b) => b.image), 0), params: boxed.map((b) => b.params) };
    });
  }

  private checkImages(images: Tensor[]): void {
    if (!Array.isArray(images) || images.length === 0) throw new TypeError(`${this.name}: expected a non-empty array of images [3, H, W]`);
    images.forEach((img, i) => {
      if (!(img instanceof torch.Tensor) || img.ndim !== 3 || img.shape[0] !== 3) throw new RangeError(`${this.name}: images[${i}] should be [3, H, W], got ${img instanceof torch.Tensor ? `[${img.shape.join(', ')}]` : typeof img}`);
      if (img.dtype !== 'float32' && img.dtype !== 'float64' && img.dtype !== 'float16' && img.dtype !== 'bfloat16') {
        throw new TypeError(`${this.name}: images[${i}] is ${img.dtype}; give float images in [0, 1] (uint8 ones divided by 255)`);
      }
    });
  }

  private checkLabels(labels: Tensor, i: number): void {
    if (!(labels instanceof torch.Tensor) || labels.ndim !== 1) throw new RangeError(`${this.name}: targets[${i}].labels should be a Tensor [N]`);
    if (labels.numel() === 0) return;
    const values = labels.toFlatArray();
    const bad = values.find((v) => !Number.isInteger(v) || v < 1 || v >= this.numClasses);
    if (bad !== undefined) throw new RangeError(`${this.name}: targets[${i}] has label ${bad}; labels run 1..${this.numClasses - 1} (0 is the background, which YOLO does not predict)`);
  }

  private checkNames(names: string[]): string[] {
    const nc = this.numClasses - 1;
    if (!Array.isArray(names) || names.length !== nc) throw new RangeError(`${this.name}: names should give one name per class (${nc}), got ${Array.isArray(names) ? names.length : typeof names}`);
    return [...names];
  }
}

/** Runs fn with any enclosing autocast region turned off. */
function fullPrecision<T>(fn: () => T): T {
  return torch.autocast('cpu', () => torch.autocast('cuda', fn, { enabled: false }), { enabled: false });
}

function checkNumClasses(name: string, numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new RangeError(`${name}: numClasses ${numClasses} should be an integer >= 2 (background included: Ultralytics' nc + 1)`);
}

/** Ultralytics' names for a model without a dataset: class0, class1, ... */
function defaultNames(nc: number): string[] {
  return Array.from({ length: nc }, (_, i) => `class${i}`);
}

/** COCO's 80 names in Ultralytics' order (its coco.yaml): torchvision's list without the background and the unused ids. */
export const COCO80_NAMES: readonly string[] = COCO_CATEGORIES.filter((c) => c !== '__background__' && c !== 'N/A');

/** createDetector's options for a YOLO: Iris' registry names mapped, anything else refused by name. */
function yoloOptions(name: string, options: DetectorOptions, weights: DetectorWeightsSpec | null): YoloDetectorOptions {
  const { pretrained: _pretrained, pretrainedBackbone, ...rest } = options;
  if (pretrainedBackbone !== undefined && pretrainedBackbone !== false) throw new RangeError(`${name}: has no ImageNet classifier backbone (pretrainedBackbone); use pretrained for its COCO weights`);
  const unknown = Object.keys(rest).filter((k) => rest[k] !== undefined && !OPTION_NAMES.includes(k));
  if (unknown.length > 0) throw new RangeError(`${name}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; it takes pretrained, ${OPTION_NAMES.join(', ')} (imgsz in place of minSize/maxSize)`);
  const given = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as YoloDetectorOptions;
  const numClasses = given.numClasses ?? weights?.numClasses ?? 81;
  // The file's names apply while its head does.
  const names = given.names ?? (weights && weights.numClasses === numClasses ? weights.categories.slice(1) : undefined);
  return { ...given, numClasses, names };
}

/** Published COCO val2017 box mAP50-95 (percent) of Ultralytics' release weights, at 640. */
const COCO_MAP: Record<YoloName, number> = {
  yolov8n: 37.3,
  yolov8s: 44.9,
  yolov8m: 50.2,
  yolov8l: 52.9,
  yolov8x: 53.9,
  yolo11n: 39.5,
  yolo11s: 47.0,
  yolo11m: 51.5,
  yolo11l: 53.4,
  yolo11x: 54.7,
};

/** Parameters with 80 classes, as Ultralytics' model summaries print them (the yolov8.yaml / yolo11.yaml comments). */
const PARAM_COUNT: Record<YoloName, number> = {
  yolov8n: 3_157_200,
  yolov8s: 11_166_560,
  yolov8m: 25_902_640,
  yolov8l: 43_691_520,
  yolov8x: 68_229_648,
  yolo11n: 2_624_080,
  yolo11s: 9_458_752,
  yolo11m: 20_114_688,
  yolo11l: 25_372_160,
  yolo11x: 56_966_176,
};

for (const name of YOLO_NAMES) {
  registerDetector({
    name,
    family: 'yolo',
    build: (options, weights) => new YoloDetector(name, yoloOptions(name, options, weights)),
    weights: [
      {
        tag: 'coco',
        url: `https://github.com/ultralytics/assets/releases/download/v8.3.0/${name}.pt`,
        numClasses: 81,
        categories: ['__background__', ...COCO80_NAMES],
        metrics: { boxMap: COCO_MAP[name] },
      },
    ],
    paramCount: PARAM_COUNT[name],
    readWeights: readYoloStateDict,
    // Detect's last class convs (model.N.cv3.0.2) have nc outputs: an Ultralytics checkpoint fine-tunes to another class count.
    classesInFile: (stateDict) => {
      const key = [...stateDict.keys()].find((k) => /^model\.\d+\.cv3\.0\.2\.weight$/.test(k));
      return key ? stateDict.get(key)!.shape[0] + 1 : undefined;
    },
  });
}
