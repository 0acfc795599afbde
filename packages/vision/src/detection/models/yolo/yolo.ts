// Ultralytics YOLOv8 and YOLO11 detection models, built from the same scaled layer lists as
// Ultralytics' ultralytics/cfg/models/v8/yolov8.yaml and 11/yolo11.yaml by the rules of its
// nn/tasks.py parse_model. The numbered layers live in `model` (a ModuleList), so parameter names
// are Ultralytics' module paths (model.0.conv.weight, ..., model.22.dfl.conv.weight).
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { C2f, C2PSA, C3k2, Concat, Conv, Detect, SPPF, Upsample } from './blocks.js';

type ModuleName = 'Conv' | 'C2f' | 'C3k2' | 'SPPF' | 'C2PSA' | 'Upsample' | 'Concat' | 'Detect';
/** One YAML row: [from, repeats, module, args]; from -1 is the previous layer. */
export type LayerSpec = [from: number | number[], repeats: number, module: ModuleName, args: unknown[]];

/** [depth multiple, width multiple, max channels] per scale, as the YAMLs' `scales`. */
export type ScaleSpec = [depth: number, width: number, maxChannels: number];

export interface YoloDefinition {
  family: 'yolov8' | 'yolo11';
  scales: Record<YoloScale, ScaleSpec>;
  backbone: LayerSpec[];
  head: LayerSpec[];
}

export type YoloScale = 'n' | 's' | 'm' | 'l' | 'x';

/** ultralytics/cfg/models/v8/yolov8.yaml. */
export const YOLOV8: YoloDefinition = {
  family: 'yolov8',
  scales: { n: [0.33, 0.25, 1024], s: [0.33, 0.5, 1024], m: [0.67, 0.75, 768], l: [1.0, 1.0, 512], x: [1.0, 1.25, 512] },
  backbone: [
    [-1, 1, 'Conv', [64, 3, 2]], // 0-P1/2
    [-1, 1, 'Conv', [128, 3, 2]], // 1-P2/4
    [-1, 3, 'C2f', [128, true]],
    [-1, 1, 'Conv', [256, 3, 2]], // 3-P3/8
    [-1, 6, 'C2f', [256, true]],
    [-1, 1, 'Conv', [512, 3, 2]], // 5-P4/16
    [-1, 6, 'C2f', [512, true]],
    [-1, 1, 'Conv', [1024, 3, 2]], // 7-P5/32
    [-1, 3, 'C2f', [1024, true]],
    [-1, 1, 'SPPF', [1024, 5]], // 9
  ],
  head: [
    [-1, 1, 'Upsample', [null, 2, 'nearest']],
    [[-1, 6], 1, 'Concat', [1]], // cat backbone P4
    [-1, 3, 'C2f', [512]], // 12
    [-1, 1, 'Upsample', [null, 2, 'nearest']],
    [[-1, 4], 1, 'Concat', [1]], // cat backbone P3
    [-1, 3, 'C2f', [256]], // 15 (P3/8)
    [-1, 1, 'Conv', [256, 3, 2]],
    [[-1, 12], 1, 'Concat', [1]], // cat head P4
    [-1, 3, 'C2f', [512]], // 18 (P4/16)
    [-1, 1, 'Conv', [512, 3, 2]],
    [[-1, 9], 1, 'Concat', [1]], // cat head P5
    [-1, 3, 'C2f', [1024]], // 21 (P5/32)
    [[15, 18, 21], 1, 'Detect', ['nc']],
  ],
};

/** ultralytics/cfg/models/11/yolo11.yaml. */
export const YOLO11: YoloDefinition = {
  family: 'yolo11',
  scales: { n: [0.5, 0.25, 1024], s: [0.5, 0.5, 1024], m: [0.5, 1.0, 512], l: [1.0, 1.0, 512], x: [1.0, 1.5, 512] },
  backbone: [
    [-1, 1, 'Conv', [64, 3, 2]], // 0-P1/2
    [-1, 1, 'Conv', [128, 3, 2]], // 1-P2/4
    [-1, 2, 'C3k2', [256, false, 0.25]],
    [-1, 1, 'Conv', [256, 3, 2]], // 3-P3/8
    [-1, 2, 'C3k2', [512, false, 0.25]],
    [-1, 1, 'Conv', [512, 3, 2]], // 5-P4/16
    [-1, 2, 'C3k2', [512, true]],
    [-1, 1, 'Conv', [1024, 3, 2]], // 7-P5/32
    [-1, 2, 'C3k2', [1024, true]],
    [-1, 1, 'SPPF', [1024, 5]], // 9
    [-1, 2, 'C2PSA', [1024]], // 10
  ],
  head: [
    [-1, 1, 'Upsample', [null, 2, 'nearest']],
    [[-1, 6], 1, 'Concat', [1]], // cat backbone P4
    [-1, 2, 'C3k2', [512, false]], // 13
    [-1, 1, 'Upsample', [null, 2, 'nearest']],
    [[-1, 4], 1, 'Concat', [1]], // cat backbone P3
    [-1, 2, 'C3k2', [256, false]], // 16 (P3/8)
    [-1, 1, 'Conv', [256, 3, 2]],
    [[-1, 13], 1, 'Concat', [1]], // cat head P4
    [-1, 2, 'C3k2', [512, false]], // 19 (P4/16)
    [-1, 1, 'Conv', [512, 3, 2]],
    [[-1, 10], 1, 'Concat', [1]], // cat head P5
    [-1, 2, 'C3k2', [1024, true]], // 22 (P5/32)
    [[16, 19, 22], 1, 'Detect', ['nc']],
  ],
};

/** Ultralytics' make_divisible: the smallest multiple of `divisor` at or above x. */
export function makeDivisible(x: number, divisor = 8): number {
  return Math.ceil(x / divisor) * divisor;
}

/** Python's round (half to even), which parse_model's repeat count uses. */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The modules that take the repeat count as their `n` argument instead of being stacked n times. */
const REPEAT_MODULES = new Set<ModuleName>(['C2f', 'C3k2', 'C2PSA']);

interface BuiltLayer {
  module: nn.Module;
  from: number | number[];
  outChannels: number;
}

/** parse_model: channels scaled by width (capped, multiple of 8), repeats by depth, C3k blocks on m/l/x. */
function parseModel(def: YoloDefinition, scale: YoloScale, nc: number): { layers: BuiltLayer[]; save: Set<number> } {
  const [depth, width, maxChannels] = def.scales[scale];
  const ch: number[] = [3];
  // As parse_model: ch starts as [3] (the image) and is reset after layer 0, so ch[j] is layer j's output.
  const channelsOf = (f: number): number => (f === -1 ? ch[ch.length - 1] : ch[f]);
  const layers: BuiltLayer[] = [];
  const save = new Set<number>();
  // Ultralytics builds YOLOv8's legacy Detect unless the model has C3k2 (YOLO11).
  let legacy = true;
  [...def.backbone, ...def.head].forEach(([from, repeats, name, args], i) => {
    let n = repeats > 1 ? Math.max(pyRound(repeats * depth), 1) : repeats;
    const c1 = typeof from === 'number' ? channelsOf(from) : 0;
    const scaled = (c: number): number => makeDivisible(Math.min(c, maxChannels) * width, 8);
    let make: () => nn.Module;
    let c2: number;
    switch (name) {
      case 'Conv': {
        const [c, k, s] = args as [number, number, number];
        c2 = scaled(c);
        make = () => new Conv(c1, c2, { kernelSize: k, stride: s });
        break;
      }
      case 'C2f': {
        const [c, shortcut = false] = args as [number, boolean?];
        c2 = scaled(c);
        const reps = n;
        make = () => new C2f(c1, c2, { n: reps, shortcut });
        break;
      }
      case 'C3k2': {
        const [c, c3kArg = false, e = 0.5] = args as [number, boolean?, number?];
        legacy = false;
        c2 = scaled(c);
        const reps = n;
        const c3k = 'mlx'.includes(scale) ? true : c3kArg;
        make = () => new C3k2(c1, c2, { n: reps, c3k, e });
        break;
      }
      case 'SPPF': {
        const [c, k] = args as [number, number];
        c2 = scaled(c);
        make = () => new SPPF(c1, c2, k);
        break;
      }
      case 'C2PSA': {
        const [c] = args as [number];
        c2 = scaled(c);
        const reps = n;
        make = () => new C2PSA(c1, c2, { n: reps });
        break;
      }
      case 'Upsample':
        c2 = c1;
        make = () => new Upsample(args[1] as number, 'nearest');
        break;
      case 'Concat': {
        const f = from as number[];
        c2 = f.reduce((sum, j) => sum + channelsOf(j), 0);
        make = () => new Concat(args[0] as number);
        break;
      }
      case 'Detect': {
        const inputs = (from as number[]).map(channelsOf);
        c2 = 0;
        const isLegacy = legacy;
        make = () => new Detect(nc, inputs, { legacy: isLegacy });
        break;
      }
    }
    if (REPEAT_MODULES.has(name)) n = 1;
    const module = n > 1 ? new nn.Sequential(...Array.from({ length: n }, make)) : make();
    for (const f of typeof from === 'number' ? [from] : from) if (f !== -1) save.add(f);
    layers.push({ module, from, outChannels: c2 });
    if (i === 0) ch.length = 0;
    ch.push(c2);
  });
  return { layers, save };
}

export interface YoloOptions {
  /** Object classes, no background (Ultralytics' nc; default 80, COCO's). */
  numClasses?: number;
  /** Class names by id (Ultralytics' model.names); default '0', '1', .... */
  names?: string[];
}

/** The Ultralytics model names built here. */
export const YOLO_NAMES = ['yolov8n', 'yolov8s', 'yolov8m', 'yolov8l', 'yolov8x', 'yolo11n', 'yolo11s', 'yolo11m', 'yolo11l', 'yolo11x'] as const;
export type YoloName = (typeof YOLO_NAMES)[number];

/**
 * Ultralytics' DetectionModel for YOLOv8 / YOLO11: `model` holds the numbered layers, the last a
 * Detect over P3, P4, P5 (strides 8, 16, 32).
 */
export class YOLO extends nn.Module {
  model: nn.ModuleList;
  readonly name: string;
  readonly scale: YoloScale;
  /** Class names by id, as Ultralytics' `model.names`. */
  names: string[];
  readonly stride = [8, 16, 32];
  /** Per layer, where its input comes from (-1: the previous layer), as Ultralytics' `m.f`. */
  readonly from: (number | number[])[];
  /** Channels of the maps Detect reads (P3, P4, P5 after the neck). */
  readonly featureChannels: number[];
  private readonly save: Set<number>;

  constructor(def: YoloDefinition, scale: YoloScale, options: YoloOptions = {}) {
    super();
    const { numClasses = 80 } = options;
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`YOLO: numClasses should be a positive integer (no background class), got ${numClasses}`);
    const names = options.names ?? Array.from({ length: numClasses }, (_, i) => String(i));
    if (names.length !== numClasses) throw new RangeError(`YOLO: ${names.length} names for ${numClasses} classes; pass one name per class`);
    if (!(scale in def.scales)) throw new RangeError(`YOLO: unknown scale '${scale}' for ${def.family}; it has ${Object.keys(def.scales).join(', ')}`);
    const { layers, save } = parseModel(def, scale, numClasses);
    this.name = `${def.family}${scale}`;
    this.scale = scale;
    this.names = [...names];
    this.model = new nn.ModuleList(layers.map((l) => l.module));
    this.from = layers.map((l) => l.from);
    this.save = save;
    this.featureChannels = (this.from[this.from.length - 1] as number[]).map((f) => layers[f].outChannels);
    this.detect.biasInit();
  }

  /** Object classes (Ultralytics' nc), read from Detect so a replaced class branch shows. */
  get numClasses(): number {
    return this.detect.nc;
  }

  get detect(): Detect {
    return this.model.at(this.model.length - 1) as Detect;
  }

  /** Runs the layers before Detect, keeping the outputs later layers read; returns the maps Detect reads. */
  private runLayers(x: Tensor): Tensor[] {
    const [, c, h, w] = x.shape;
    if (x.shape.length !== 4 || c !== 3) throw new RangeError(`${this.name}: expected images [B, 3, H, W], got [${x.shape.join(', ')}]`);
    const maxStride = this.stride[this.stride.length - 1];
    if (h % maxStride !== 0 || w % maxStride !== 0) {
      throw new RangeError(`${this.name}: image size ${h}x${w} should be a multiple of the stride ${maxStride} (letterbox it first, as Ultralytics does)`);
    }
    const outputs = new Map<number, Tensor>();
    const last = this.model.length - 1;
    let current = x;
    for (let i = 0; i < last; i++) {
      const f = this.from[i];
      const input = typeof f === 'number' ? (f === -1 ? current : outputs.get(f)!) : f.map((j) => (j === -1 ? current : outputs.get(j)!));
      const out = this.model.at(i).call(input as never) as Tensor;
      // The previous output is dropped unless a later layer reads it (Ultralytics' save list).
      if (current !== x && !this.save.has(i - 1)) current.dispose();
      current = out;
      if (this.save.has(i)) outputs.set(i, out);
    }
    // What Detect does not read is freed by the caller's tidy.
    return (this.from[last] as number[]).map((j) => (j === -1 ? current : outputs.get(j)!));
  }

  /** The P3, P4, P5 maps (strides 8, 16, 32) the neck hands to Detect, e.g. for another head. */
  forwardFeatures(x: Tensor): Tensor[] {
    return torch.tidy(() => this.runLayers(x));
  }

  /**
   * Ultralytics' training-mode output: per level [B, 4 * regMax + nc, H / s, W / s] (box DFL logits
   * then class logits). `catLevels` flattens them to [B, no, anchors] as Ultralytics' loss and
   * decode do.
   */
  forward(x: Tensor): Tensor[] {
    return torch.tidy(() => {
      const features = this.runLayers(x);
      const out = this.detect.call(features);
      for (const f of features) f.dispose();
      return out;
    });
  }
}

/** Concatenates Detect's per-level outputs into [B, no, sum of H_i * W_i] (8400 anchors at 640). */
export function catLevels(levels: Tensor[]): Tensor {
  return torch.tidy(() => {
    const [b, no] = levels[0].shape;
    return torch.cat(levels.map((l) => l.view([b, no, -1])), 2);
  });
}

/** Builds an Ultralytics model by name: `buildYolo('yolo11n', { numClasses: 10 })`. */
export function buildYolo(name: string, options: YoloOptions = {}): YOLO {
  const match = /^(yolov8|yolo11)([nsmlx])$/.exec(name);
  if (!match) throw new RangeError(`buildYolo: unknown model '${name}'; expected one of ${YOLO_NAMES.join(', ')}`);
  return new YOLO(match[1] === 'yolov8' ? YOLOV8 : YOLO11, match[2] as YoloScale, options);
}
