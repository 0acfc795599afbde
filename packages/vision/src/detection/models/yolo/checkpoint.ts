// Ultralytics YOLO checkpoints (.pt: a torch.save of a whole pickled DetectionModel) read without running
// any of their code, and Iris's own safetensors form of the same model, which needs no pickle at all.
import { readFileSync } from 'node:fs';
import type { Tensor } from '@iris/torch';
import { isRawTensor, moduleStateDict, parseSafetensors, PickleClass, PickledObject, rawToTensor, readTorchCheckpoint, saveSafetensors, torchModuleClasses, type RawTensor } from '@iris/torch/io';
import { buildYolo, YOLO, YOLO11, YOLOV8, type YoloDefinition, type YoloName, type YoloScale } from './yolo.js';

/** A YOLO model's weights and what it needs to be built: from an Ultralytics .pt or an Iris safetensors file. */
export interface YoloWeights {
  /** By Ultralytics' module path (`model.0.conv.weight`, ...); floating tensors as float32. */
  stateDict: Map<string, Tensor>;
  names: string[];
  numClasses: number;
  stride: number[];
  family: YoloDefinition['family'];
  scale: YoloScale;
  modelName: YoloName;
  /** The floating dtype the file stored (Ultralytics saves float16). */
  dtype: string;
}

export interface UltralyticsCheckpoint extends YoloWeights {
  /** Which entry the weights came from. */
  use: 'ema' | 'model';
  /** The run's arguments (`train_args`), or {} when absent. */
  trainArgs: Record<string, unknown>;
  /** The last finished epoch; -1 in a final (stripped) checkpoint; null when absent. */
  epoch: number | null;
  /** The Ultralytics version that wrote it, when recorded. */
  version: string | null;
}

export interface ReadCheckpointOptions {
  /** The entry to read; default `ema` when present and not None, else `model` (Ultralytics' attempt_load_weights). */
  use?: 'ema' | 'model';
}

const ULTRALYTICS_MODULES = new Set(['ultralytics.nn.modules', 'ultralytics.nn.modules.conv', 'ultralytics.nn.modules.block', 'ultralytics.nn.modules.head']);
/** The layer classes of YOLOv8 / YOLO11 detection (under any of the module paths Ultralytics 8.x used). */
const YOLO_LAYER_CLASSES = new Set(['Conv', 'DWConv', 'Concat', 'Bottleneck', 'C2f', 'C3', 'C3k', 'C3k2', 'SPPF', 'Attention', 'PSABlock', 'C2PSA', 'DFL', 'Detect']);
/** The model itself, the trainer's args namespace, and a loss object an unstripped model may carry. */
const ULTRALYTICS_CLASSES = new Set([
  'ultralytics.nn.tasks.DetectionModel',
  'ultralytics.utils.IterableSimpleNamespace',
  // Ultralytics 8.0 kept its utilities under ultralytics.yolo.
  'ultralytics.yolo.utils.IterableSimpleNamespace',
  'ultralytics.utils.loss.v8DetectionLoss',
  'ultralytics.utils.loss.BboxLoss',
  'ultralytics.utils.loss.DFLoss',
  'ultralytics.utils.tal.TaskAlignedAssigner',
]);

/** The class allow-list of YOLO checkpoints: module classes become inert records; other globals fall to the default refusal. */
function yoloClasses(source: string): (module: string, name: string) => PickleClass | undefined {
  const made = new Map<string, PickleClass>();
  return (module, name) => {
    const qualified = `${module}.${name}`;
    if (torchModuleClasses.has(qualified) || ULTRALYTICS_CLASSES.has(qualified) || (ULTRALYTICS_MODULES.has(module) && YOLO_LAYER_CLASSES.has(name))) {
      if (!made.has(qualified)) made.set(qualified, new PickleClass(qualified));
      return made.get(qualified);
    }
    if (module === 'ultralytics' || module.startsWith('ultralytics.')) {
      throw new Error(`${source}: unknown architecture: class '${qualified}' is not part of Ultralytics YOLOv8/YOLO11 detection (only detection models load)`);
    }
    if (module.startsWith('torch.nn.modules.')) throw new Error(`${source}: refuses module class '${qualified}', which YOLOv8/YOLO11 detection does not use`);
    return undefined;
  };
}

function describe(value: unknown): string {
  if (value === null) return 'None';
  if (value instanceof PickledObject) return `a ${value.className}`;
  if (value instanceof Map) return 'a dict';
  if (Array.isArray(value)) return 'a list';
  return typeof value;
}

/** Reads an Ultralytics YOLOv8 / YOLO11 detection checkpoint (.pt) without executing anything in it. */
export function readUltralyticsCheckpoint(path: string, options: ReadCheckpointOptions = {}): UltralyticsCheckpoint {
  return fromCheckpoint(readFileSync(path), path, options);
}

function fromCheckpoint(bytes: Uint8Array, path: string, options: ReadCheckpointOptions): UltralyticsCheckpoint {
  const fail = (reason: string): never => {
    throw new Error(`${path}: ${reason}`);
  };
  const top = readTorchCheckpoint(bytes, path, { findClass: yoloClasses(path) });
  const notUltralytics = 'not an Ultralytics checkpoint: expected a dict whose \'model\' or \'ema\' holds a DetectionModel';
  if (!(top instanceof Map)) return fail(`${notUltralytics}, found ${describe(top)}`);
  if (!top.has('model') && !top.has('ema')) {
    const keys = [...top.keys()].slice(0, 8).map((k) => `'${String(k)}'`);
    return fail(`${notUltralytics}; its keys are ${keys.join(', ') || 'none'}${top.size > 8 ? ', ...' : ''} (a plain state dict loads with loadStateDictFile)`);
  }
  const use = options.use ?? (top.get('ema') instanceof PickledObject ? 'ema' : 'model');
  const record = top.get(use);
  if (!(record instanceof PickledObject)) return fail(`${notUltralytics}; '${use}' holds ${describe(record)}`);
  if (record.className !== 'ultralytics.nn.tasks.DetectionModel') return fail(`unknown architecture: '${use}' is ${describe(record)}, not an ultralytics.nn.tasks.DetectionModel`);

  const { family, scale, yamlNc } = identify(record, fail);
  const layers = record.attr('_modules') instanceof Map ? (record.attr('_modules') as Map<unknown, unknown>).get('model') : undefined;
  const layerRecords = layers instanceof PickledObject && layers.attr('_modules') instanceof Map ? [...(layers.attr('_modules') as Map<unknown, unknown>).values()] : [];
  const detect = layerRecords[layerRecords.length - 1];
  if (!(detect instanceof PickledObject) || !detect.className.endsWith('.Detect')) return fail(`unknown architecture: the last layer is ${describe(detect)}, not a Detect head`);
  const detectNc = detect.attr('nc');
  const numClasses = typeof detectNc === 'number' ? detectNc : yamlNc;
  if (typeof numClasses !== 'number' || !Number.isInteger(numClasses) || numClasses < 1) return fail(`the model records no class count (Detect.nc or yaml 'nc')`);
  const names = readNames(record.attr('names'), numClasses, fail);
  const stride = readStride(record.attr('stride'), fail);

  const raw = moduleStateDict(record, path);
  const stateDict = new Map<string, Tensor>();
  let dtype = 'float32';
  for (const [key, tensor] of raw) {
    if (isFloating(tensor)) dtype = tensor.dtype;
    stateDict.set(key, toFloat32(tensor));
  }
  const epoch = top.get('epoch');
  const version = top.get('version');
  return {
    stateDict,
    names,
    numClasses,
    stride,
    family,
    scale,
    modelName: `${family}${scale}` as YoloName,
    dtype,
    use,
    trainArgs: toPlain(top.get('train_args') ?? new Map()) as Record<string, unknown>,
    epoch: typeof epoch === 'number' ? epoch : null,
    version: typeof version === 'string' ? version : null,
  };
}

/** Family and scale from the model's yaml dict, after checking its layer table is the stock one. */
function identify(record: PickledObject, fail: (reason: string) => never): { family: YoloDefinition['family']; scale: YoloScale; yamlNc: unknown } {
  const yaml = record.attr('yaml');
  if (!(yaml instanceof Map)) return fail(`unknown architecture: the DetectionModel has no yaml dict describing its layers`);
  const yamlFile = typeof yaml.get('yaml_file') === 'string' ? (yaml.get('yaml_file') as string) : '';
  const rows = [...asList(yaml.get('backbone')), ...asList(yaml.get('head'))];
  const moduleOf = (row: unknown): string => (Array.isArray(row) && typeof row[2] === 'string' ? row[2].replace(/^(torch\.)?nn\./, '') : '?');
  const fileFamily = /yolov8/i.test(yamlFile) ? 'yolov8' : /yolo11/i.test(yamlFile) ? 'yolo11' : undefined;
  const family = fileFamily ?? (rows.some((r) => moduleOf(r) === 'C3k2') ? 'yolo11' : rows.some((r) => moduleOf(r) === 'C2f') ? 'yolov8' : undefined);
  if (!family) return fail(`unknown architecture: yaml '${yamlFile || '(no yaml_file)'}' is neither YOLOv8 nor YOLO11 detection`);
  const def = family === 'yolov8' ? YOLOV8 : YOLO11;
  const expected = [...def.backbone, ...def.head];
  if (rows.length !== expected.length) return fail(`unknown architecture: its yaml has ${rows.length} layers, ${family} has ${expected.length}`);
  rows.forEach((row, i) => {
    const [from, repeats, module] = expected[i];
    const got = row as unknown[];
    if (moduleOf(row) !== module || JSON.stringify(got[0]) !== JSON.stringify(from) || got[1] !== repeats) {
      fail(`unknown architecture: yaml layer ${i} is [${JSON.stringify(got[0])}, ${String(got[1])}, ${moduleOf(row)}], ${family} has [${JSON.stringify(from)}, ${repeats}, ${module}]`);
    }
  });
  const scaleValue = yaml.get('scale');
  const scale = typeof scaleValue === 'string' && scaleValue !== '' ? scaleValue : /yolo(?:v8|11)([nsmlx])/i.exec(yamlFile)?.[1]?.toLowerCase();
  if (!scale || !(scale in def.scales)) return fail(`unknown architecture: scale ${JSON.stringify(scale ?? null)} is not one of ${family}'s ${Object.keys(def.scales).join(', ')}`);
  return { family, scale: scale as YoloScale, yamlNc: yaml.get('nc') };
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Ultralytics' names: a dict id -> name (or a list in early 8.0 files), one per class. */
function readNames(value: unknown, numClasses: number, fail: (reason: string) => never): string[] {
  if (value === undefined || value === null) return Array.from({ length: numClasses }, (_, i) => String(i));
  const byId = value instanceof Map ? value : Array.isArray(value) ? new Map(value.map((n, i) => [i, n])) : fail(`names is ${describe(value)}, not a dict of id -> name`);
  const names = Array.from({ length: numClasses }, (_, i) => {
    const name = byId.get(i);
    return typeof name === 'string' ? name : fail(`names has no class ${i} (it names ${byId.size} classes, the model has ${numClasses})`);
  });
  if (byId.size !== numClasses) fail(`names has ${byId.size} entries, the model has ${numClasses} classes`);
  return names;
}

function readStride(value: unknown, fail: (reason: string) => never): number[] {
  if (!isRawTensor(value)) return fail(`the model records no stride tensor (found ${describe(value)})`);
  const t = rawToTensor(value);
  const stride = t.toFlatArray();
  t.dispose();
  if (stride.join(',') !== '8,16,32') fail(`strides [${stride.join(', ')}] are not YOLO detection's [8, 16, 32]`);
  return stride;
}

function isFloating(t: RawTensor): boolean {
  return t.dtype === 'float16' || t.dtype === 'bfloat16' || t.dtype === 'float32' || t.dtype === 'float64';
}

function toFloat32(raw: RawTensor): Tensor {
  const t = rawToTensor(raw);
  if (!isFloating(raw) || raw.dtype === 'float32') return t;
  const f = t.float();
  t.dispose();
  return f;
}

/** Pickled values as JSON-like data: dicts with text keys become objects, namespaces their attributes. */
function toPlain(value: unknown): unknown {
  if (value instanceof PickledObject) return toPlain(value.attributes);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toPlain(v)]));
  if (value instanceof Set) return [...value].map(toPlain);
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'bigint') return value.toString();
  if (isRawTensor(value)) return { dtype: value.dtype, shape: value.shape };
  return value;
}

const SAFETENSORS_FORMAT = 'iris-yolo';

/**
 * Writes a YOLO model as safetensors with its metadata (family, scale, nc, names as JSON, stride), so
 * loading and export need no pickle. Tensors are stored as they are in the model (float32 by default).
 */
export function saveYoloSafetensors(model: YOLO, names: string[], path: string): void {
  if (names.length !== model.numClasses) throw new RangeError(`saveYoloSafetensors: ${names.length} names for ${model.name}'s ${model.numClasses} classes; pass one name per class`);
  const stateDict = model.stateDict();
  try {
    saveSafetensors(path, stateDict, {
      format: SAFETENSORS_FORMAT,
      family: model.name.slice(0, -1),
      scale: model.scale,
      nc: String(model.numClasses),
      names: JSON.stringify(names),
      stride: JSON.stringify(model.stride),
    });
  } finally {
    for (const t of stateDict.values()) t.dispose();
  }
}

/** Reads what saveYoloSafetensors wrote. */
export function readYoloSafetensors(path: string): YoloWeights {
  return fromSafetensors(readFileSync(path), path);
}

function fromSafetensors(bytes: Uint8Array, path: string): YoloWeights {
  const fail = (reason: string): never => {
    throw new Error(`${path}: ${reason}`);
  };
  const { tensors, metadata } = parseSafetensors(bytes, path);
  if (metadata.format !== SAFETENSORS_FORMAT) return fail(`safetensors file without Iris YOLO metadata (format '${SAFETENSORS_FORMAT}'); write it with saveYoloSafetensors`);
  const family = metadata.family;
  if (family !== 'yolov8' && family !== 'yolo11') return fail(`unknown architecture: family ${JSON.stringify(family)}, expected yolov8 or yolo11`);
  const def = family === 'yolov8' ? YOLOV8 : YOLO11;
  if (!(metadata.scale in def.scales)) return fail(`unknown architecture: scale ${JSON.stringify(metadata.scale)}, expected one of ${Object.keys(def.scales).join(', ')}`);
  const numClasses = Number(metadata.nc);
  if (!Number.isInteger(numClasses) || numClasses < 1) return fail(`metadata nc ${JSON.stringify(metadata.nc)} is not a positive integer`);
  const names = parseJson(metadata.names, 'names', fail);
  if (!Array.isArray(names) || names.length !== numClasses || !names.every((n) => typeof n === 'string')) return fail(`metadata names should be a JSON list of ${numClasses} strings`);
  const stride = parseJson(metadata.stride, 'stride', fail);
  if (!Array.isArray(stride) || stride.join(',') !== '8,16,32') return fail(`metadata stride ${metadata.stride} is not [8, 16, 32]`);
  const stateDict = new Map<string, Tensor>();
  let dtype = 'float32';
  for (const [key, raw] of tensors) {
    if (isFloating(raw)) dtype = raw.dtype;
    stateDict.set(key, toFloat32(raw));
  }
  const scale = metadata.scale as YoloScale;
  return { stateDict, names, numClasses, stride, family, scale, modelName: `${family}${scale}` as YoloName, dtype };
}

function parseJson(text: string | undefined, what: string, fail: (reason: string) => never): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return fail(`metadata ${what} is not valid JSON`);
  }
}

/** True for safetensors files, which start with a little-endian header length then '{'. */
function isSafetensors(bytes: Uint8Array): boolean {
  return bytes.length >= 9 && bytes[8] === 0x7b;
}

/** Reads YOLO weights from an Ultralytics .pt or an Iris safetensors file, by content. */
export function readYoloWeights(path: string, options: ReadCheckpointOptions = {}): YoloWeights | UltralyticsCheckpoint {
  const bytes = readFileSync(path);
  return isSafetensors(bytes) ? fromSafetensors(bytes, path) : fromCheckpoint(bytes, path, options);
}

/**
 * The state dict of any YOLO weights file: an Ultralytics .pt, an Iris YOLO safetensors, or a plain
 * safetensors / torch state dict (a run's best.safetensors); what createDetector loads strictly.
 */
export function readYoloStateDict(path: string): Map<string, Tensor> {
  const bytes = readFileSync(path);
  if (isSafetensors(bytes)) {
    const { tensors, metadata } = parseSafetensors(bytes, path);
    if (metadata.format !== SAFETENSORS_FORMAT) return new Map([...tensors].map(([k, raw]) => [k, toFloat32(raw)]));
    return fromSafetensors(bytes, path).stateDict;
  }
  return fromCheckpoint(bytes, path, {}).stateDict;
}

/**
 * A YOLO model built from an Ultralytics .pt (or Iris safetensors) file: the architecture its record
 * names, the weights loaded strictly, the class names attached; in eval mode, as Ultralytics loads it.
 */
export function loadYoloCheckpoint(path: string, options: ReadCheckpointOptions = {}): YOLO {
  const weights = readYoloWeights(path, options);
  try {
    const model = buildYolo(weights.modelName, { numClasses: weights.numClasses, names: weights.names });
    try {
      model.loadStateDict(weights.stateDict);
    } catch (error) {
      for (const t of [...model.parameters(), ...model.buffers()]) t.dispose();
      // The module tree differs from the stock architecture; name the paths, not loadStateDict's strict option.
      const problems = (error as Error).message.split('\n').filter((line) => line.startsWith('  ')).map((line) => line.trim());
      throw new Error(`${path}: the weights do not fit ${weights.modelName} with ${weights.numClasses} classes: ${problems.join('; ')}`);
    }
    return model.eval();
  } finally {
    for (const t of weights.stateDict.values()) t.dispose();
  }
}
