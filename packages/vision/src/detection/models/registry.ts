// The detector registry: one entry per torchvision detection builder, registered by the family's own
// file (faster-rcnn.ts registers the four fasterrcnn_*). `createDetector(name, options)` is the way in;
// it builds, loads COCO weights strictly (from the cache, see fetchDetectorWeights) and swaps the head.
import { existsSync } from 'node:fs';
import type { nn, Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { fetchWeights, weightsFile, weightsUrl, type FetchWeightsOptions } from '../../models/weights.js';
import type { WeightsSpec } from '../../models/registry.js';

/** One image's ground truth: boxes [N, 4] as (x1, y1, x2, y2) in pixels, labels [N] int64 (0 is background). */
export interface DetectionTarget {
  boxes: Tensor;
  labels: Tensor;
  [key: string]: Tensor;
}

/** One image's detections, in the input image's pixels: boxes [K, 4] xyxy, scores [K], labels [K] int64. */
export interface Detection {
  boxes: Tensor;
  scores: Tensor;
  labels: Tensor;
}

/**
 * What every registered detector is: torchvision's forward contract. In eval mode `forward(images)`
 * returns one Detection per image; in train mode `forward(images, targets)` returns the loss dict
 * (torchvision's keys, e.g. loss_classifier, loss_box_reg, loss_objectness, loss_rpn_box_reg).
 */
export interface Detector extends nn.Module {
  /** @param images [C, H, W] float images in [0, 1], each its own size */
  forward(images: Tensor[], targets?: DetectionTarget[]): Detection[] | Record<string, Tensor>;
  /** Classes the head predicts, background included (91 for COCO). */
  readonly numClasses: number;
  /** Replaces the class-dependent head for `numClasses` (background included), keeping the rest (fine-tuning). */
  replaceHead(numClasses: number): void;
  /** Renames or drops keys of an older file before it is loaded (torchvision's _load_from_state_dict upgrades). */
  adaptStateDict?(stateDict: Map<string, Tensor>): Map<string, Tensor>;
}

/** A COCO-trained weights file of a detector, as torchvision's `*_Weights` enums describe it. */
export interface DetectorWeightsSpec {
  /** 'coco_v1', torchvision's enum member name in lower case. */
  tag: string;
  url: string;
  /** Full SHA-256 when known; torchvision's file names carry its first 8 hex digits. */
  sha256?: string;
  /** Classes of the head the file carries, background included. */
  numClasses: number;
  /** Category names by label index, torchvision's (with its '__background__' and 'N/A' placeholders). */
  categories: readonly string[];
  /** COCO val2017 box mAP (percent), as torchvision publishes. */
  metrics: { boxMap: number };
  /** What torchvision's builder does to the model after loading this file (overwrite_eps for fasterrcnn_resnet50_fpn's). */
  afterLoad?: (model: Detector) => void;
}

/** Options every detector builder accepts (torchvision's builder arguments in camelCase); families add their own. */
export interface DetectorOptions {
  /** Classes, background included (torchvision's num_classes; default 91, COCO's). */
  numClasses?: number;
  /** true: the default COCO weights; a string: a weights tag of `detectorInfo(name).weights`, or a file path. */
  pretrained?: boolean | string;
  /**
   * ImageNet weights for the backbone when `pretrained` is not set: true for the ones torchvision's
   * builder uses (`detectorInfo(name).backbone`), or a tag / file path of the backbone's. Default
   * false (torchvision downloads them by default; Iris loads only what you ask for).
   */
  pretrainedBackbone?: boolean | string;
  /** Backbone stages left trainable, counted from the top (default: torchvision's, all when nothing is pretrained). */
  trainableBackboneLayers?: number;
  /** Shorter image side after resizing (torchvision's min_size). */
  minSize?: number | number[];
  /** Longest image side cap (torchvision's max_size). */
  maxSize?: number;
  /** Detections scoring below this are dropped (box_score_thresh for R-CNNs, score_thresh for one-stage). */
  scoreThresh?: number;
  /** IoU threshold of the final per-class NMS. */
  nmsThresh?: number;
  /** At most this many detections per image. */
  detectionsPerImage?: number;
  [option: string]: unknown;
}

export interface DetectorEntry {
  name: string;
  /** 'faster_rcnn', 'ssd', 'retinanet', 'fcos': the file in detection/models/ that defines it; 'yolo': yolo/. */
  family: string;
  /**
   * Builds the detector as torchvision's builder does. `weights` is the COCO file createDetector is
   * about to load (null for none): builders that change with it (FrozenBatchNorm2d, the default
   * trainable layers, no backbone weights) read it, as torchvision's builders read `weights`.
   */
  build: (options: DetectorOptions, weights: DetectorWeightsSpec | null) => Detector;
  /**
   * The classifier (models registry name) and ImageNet weights tag torchvision's builder takes as
   * weights_backbone; absent for detectors whose backbone is not a registered classifier (YOLO).
   */
  backbone?: { model: string; weights: string };
  /** COCO weights, by tag; the first is the default. */
  weights: DetectorWeightsSpec[];
  /** Parameters with the COCO weights' head (91 classes for torchvision's, 80 for Ultralytics'), as published; checked by tests. */
  paramCount: number;
  /**
   * Reads a weights file into a state dict, for files loadStateDictFile cannot read (Ultralytics'
   * .pt files are whole pickled models); createDetector uses it instead when present.
   */
  readWeights?: (path: string) => Map<string, Tensor>;
  /**
   * The classes (background included) of a weights file's head, where the file says (a YOLO's last
   * class conv): a file path is then built with that head and swapped for `numClasses`, so a
   * checkpoint fine-tunes to a new class count. Without it a file is built with `numClasses`.
   */
  classesInFile?: (stateDict: Map<string, Tensor>) => number | undefined;
}

const registry = new Map<string, DetectorEntry>();

export function registerDetector(entry: DetectorEntry): void {
  if (registry.has(entry.name)) throw new Error(`registerDetector: '${entry.name}' is registered twice`);
  registry.set(entry.name, entry);
}

/** Names of registered detectors, sorted; optionally those matching a glob-like filter ('fasterrcnn_*'). */
export function listDetectors(filter?: string): string[] {
  const names = [...registry.keys()].sort();
  if (!filter) return names;
  const pattern = new RegExp(`^${filter.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return names.filter((n) => pattern.test(n));
}

export function detectorInfo(name: string): DetectorEntry {
  const entry = registry.get(name);
  if (!entry) {
    const close = listDetectors().filter((n) => n.startsWith(name.slice(0, 4)));
    throw new Error(`unknown detector '${name}'${close.length ? `; did you mean ${close.slice(0, 5).join(', ')}?` : ''} (listDetectors() has them all)`);
  }
  return entry;
}

/** A detector's COCO weights: its default (first), or the one tagged `tag`. */
export function resolveDetectorWeights(name: string, tag?: string): DetectorWeightsSpec {
  const entry = detectorInfo(name);
  if (entry.weights.length === 0) throw new Error(`${name} has no COCO weights registered; train it, or load your own file with loadStateDict`);
  if (tag === undefined) return entry.weights[0];
  const spec = entry.weights.find((w) => w.tag === tag);
  if (!spec) throw new Error(`${name} has no weights tagged '${tag}'; it has ${entry.weights.map((w) => `'${w.tag}'`).join(', ')}`);
  return spec;
}

/** The classifier-weights view of a detector's file, for the shared download cache (models/weights.ts). */
function asWeightsSpec(spec: DetectorWeightsSpec): WeightsSpec {
  return { tag: spec.tag, url: spec.url, sha256: spec.sha256, numClasses: spec.numClasses };
}

/** Downloads a detector's COCO weights into the weights cache unless they are there (verified), and returns the path. */
export function fetchDetectorWeights(name: string, tag?: string, options: FetchWeightsOptions = {}): Promise<string> {
  return fetchWeights(asWeightsSpec(resolveDetectorWeights(name, tag)), undefined, options);
}

/** What createDetector knows about a detector it built: its name, its build options, the COCO weights loaded. */
export interface DetectorConfig {
  name: string;
  /** The options it was built with, without `pretrained` (numClasses is the head it has now). */
  options: DetectorOptions;
  weights: DetectorWeightsSpec | null;
}

const configs = new WeakMap<Detector, DetectorConfig>();

/**
 * Builds a registered detector: `createDetector('fasterrcnn_resnet50_fpn', { pretrained: true })`.
 * Synchronous: weights come from the cache (fetchDetectorWeights, or fetchWeights for the backbone's,
 * downloads them first). With `pretrained` the COCO file is loaded strictly, as torchvision does; a
 * different `numClasses` then gets a fresh head for that many classes on the COCO-trained rest (the
 * fine-tuning recipe of torchvision's tutorial; torchvision itself refuses the combination).
 */
export function createDetector(name: string, options: DetectorOptions = {}): Detector {
  const entry = detectorInfo(name);
  const { pretrained, ...given } = options;
  if (pretrained === undefined || pretrained === false) {
    const model = entry.build(given, null);
    configs.set(model, { name, options: given, weights: null });
    return model;
  }
  const isTag = pretrained === true || entry.weights.some((w) => w.tag === pretrained);
  if (!isTag && !existsSync(pretrained)) {
    const tags = entry.weights.map((w) => `'${w.tag}'`).join(', ') || 'none';
    throw new Error(`createDetector('${name}'): pretrained '${pretrained}' is neither a weights tag (it has ${tags}) nor an existing file`);
  }
  const spec = isTag ? resolveDetectorWeights(name, pretrained === true ? undefined : pretrained) : entry.weights[0];
  if (!spec) throw new Error(`createDetector('${name}'): it has no registered weights to build a file's architecture from`);
  const path = isTag ? weightsFile(asWeightsSpec(spec)) : (pretrained as string);
  if (isTag && !existsSync(path)) {
    throw new Error(
      `createDetector('${name}'): the '${spec.tag}' weights are not downloaded yet. Run \`await fetchDetectorWeights('${name}', '${spec.tag}')\` once: ` +
        `it downloads into the cache and verifies. Offline: download ${weightsUrl(asWeightsSpec(spec))} elsewhere and put it at ${path}`,
    );
  }
  // A registered file has COCO's head (swapped below when numClasses differs); a file path is built
  // with the head it has where the entry can tell, else with the one the caller says it has.
  const numClasses = given.numClasses ?? spec.numClasses;
  const stateDict = (entry.readWeights ?? loadStateDictFile)(path);
  const fileClasses = isTag ? spec.numClasses : (entry.classesInFile?.(stateDict) ?? numClasses);
  let model: Detector;
  try {
    model = entry.build({ ...given, numClasses: fileClasses, pretrainedBackbone: false }, spec);
  } catch (error) {
    for (const t of stateDict.values()) t.dispose();
    throw error;
  }
  try {
    model.loadStateDict(model.adaptStateDict ? model.adaptStateDict(stateDict) : stateDict);
  } catch (error) {
    throw new Error(`createDetector('${name}'): ${path} does not fit the model as built (build options ${JSON.stringify(given)}): ${(error as Error).message}`);
  } finally {
    for (const t of stateDict.values()) t.dispose();
  }
  if (isTag) spec.afterLoad?.(model);
  if (numClasses !== fileClasses) model.replaceHead(numClasses);
  configs.set(model, { name, options: { ...given, numClasses }, weights: isTag ? spec : null });
  return model;
}

/** The config of a detector built by createDetector; undefined for detectors constructed directly. */
export function detectorConfig(model: Detector): DetectorConfig | undefined {
  return configs.get(model);
}

/**
 * Swaps the class-dependent head for `numClasses` (background included) and keeps every other
 * weight: torchvision's fine-tuning tutorial (`model.roi_heads.box_predictor = FastRCNNPredictor(...)`).
 */
export function replaceHead(model: Detector, numClasses: number): Detector {
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new RangeError(`replaceHead: numClasses ${numClasses} should be an integer >= 2 (background included)`);
  model.replaceHead(numClasses);
  const config = configs.get(model);
  if (config) config.options = { ...config.options, numClasses };
  return model;
}

/** COCO's 91 category names by label, torchvision's _COCO_CATEGORIES ('N/A' for ids COCO skipped). */
export const COCO_CATEGORIES: readonly string[] = [
  '__background__', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
  'fire hydrant', 'N/A', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant',
  'bear', 'zebra', 'giraffe', 'N/A', 'backpack', 'umbrella', 'N/A', 'N/A', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis',
  'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
  'N/A', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot',
  'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed', 'N/A', 'dining table', 'N/A', 'N/A', 'toilet',
  'N/A', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator',
  'N/A', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
];

/** A torchvision COCO weights spec: the URL under download.pytorch.org/models/, its box mAP, the 91 categories. */
export function cocoWeights(file: string, boxMap: number, extra: Partial<DetectorWeightsSpec> = {}): DetectorWeightsSpec {
  return { tag: 'coco_v1', url: `https://download.pytorch.org/models/${file}`, numClasses: 91, categories: COCO_CATEGORIES, metrics: { boxMap }, ...extra };
}
