// The model registry: one entry per architecture variant, registered by the family's own file
// (models/resnet.ts registers resnet18 ... resnet152). `createModel(name)` is the only way in.
import type { nn } from '@iris/torch';

/** How a model's pretrained weights expect images: torchvision's weight transforms. */
export interface Preprocessing {
  /** Shorter side resized to this before the crop. */
  resizeSize: number;
  /** Centre crop (square). */
  cropSize: number;
  interpolation: 'bilinear' | 'bicubic' | 'nearest';
  mean: [number, number, number];
  std: [number, number, number];
}

export const IMAGENET_PREPROCESSING: Preprocessing = {
  resizeSize: 256,
  cropSize: 224,
  interpolation: 'bilinear',
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

/** A pretrained weights file. The download/cache/verify logic is in models/weights.ts. */
export interface WeightsSpec {
  /** 'imagenet1k_v1', as torchvision's enum member names in lower case. */
  tag: string;
  /** Where it is fetched from: an https URL, or 'hf://owner/repo/file' for a Hugging Face repo file. */
  url: string;
  /** Full SHA-256 when known; torchvision's file names carry its first 8 hex digits. */
  sha256?: string;
  /** For files whose key names differ from the model's (timm): maps a file key to a model key, or null to drop it. */
  keyMap?: (key: string) => string | null;
  /** Classes of the head the file carries. */
  numClasses: number;
  /** Reported accuracy on ImageNet-1k val (percent), as torchvision/timm publish. */
  metrics?: { top1: number; top5: number };
  /** How these weights expect images, when it differs from the entry's (which is its default weights'). */
  preprocessing?: Preprocessing;
}

/** Options every builder accepts; families add their own. */
export interface ModelOptions {
  numClasses?: number;
  inChannels?: number;
  /** Dropout before the classifier. */
  dropRate?: number;
  /** Stochastic depth rate, for families that have it. */
  dropPathRate?: number;
  /**
   * true: the default pretrained weights; a string: a weights tag from `modelInfo(name).weights`, or a file path.
   * Either way the model is built with the settings torchvision's builder takes for its weights
   * (`ModelEntry.pretrainedOptions`); `modelConfig(model).options` records what it was built with.
   */
  pretrained?: boolean | string;
  [option: string]: unknown;
}

/** One stage whose output a detection backbone can take (timm's feature_info). */
export interface FeatureInfo {
  /** The submodule whose output this is (a state-dict prefix, e.g. 'layer3'). */
  module: string;
  channels: number;
  /** Input size / feature size. */
  reduction: number;
}

/**
 * What every registered model is: an nn.Module whose forward is `forwardHead(forwardFeatures(x))`,
 * which makes fine-tuning (`resetClassifier`), feature extraction and detection backbones uniform.
 */
export interface ImageModel extends nn.Module {
  /** @param x [N, C, H, W] @returns the last feature map (before global pooling) */
  forwardFeatures(x: import('@iris/torch').Tensor): import('@iris/torch').Tensor;
  /** @param features the output of forwardFeatures @returns logits [N, numClasses] (or pooled features with preLogits) */
  forwardHead(features: import('@iris/torch').Tensor, options?: { preLogits?: boolean }): import('@iris/torch').Tensor;
  /** Outputs of the stages in `featureInfo`, shallow to deep. */
  forwardStages(x: import('@iris/torch').Tensor): import('@iris/torch').Tensor[];
  readonly featureInfo: FeatureInfo[];
  /** Replaces the classifier for `numClasses` outputs (0: identity, pooled features out). */
  resetClassifier(numClasses: number): void;
  readonly numClasses: number;
}

export interface ModelEntry {
  name: string;
  /** 'resnet', 'vit', ...: the file in models/ that defines it. */
  family: string;
  /** Builds the model as torchvision's builder does without weights, `options` over its defaults. */
  build: (options: ModelOptions) => ImageModel;
  /**
   * The settings torchvision's builder makes only when it is given weights, where they differ from
   * its defaults without (Inception v3's and GoogLeNet's transform_input, GoogLeNet's aux heads
   * left out): createModel puts them under the caller's options when `pretrained` is set.
   */
  pretrainedOptions?: (options: ModelOptions) => ModelOptions;
  /** Input [C, H, W] that the default configuration and weights use. */
  defaultInput: [number, number, number];
  preprocessing: Preprocessing;
  /** Pretrained weight files, by tag; the first is the default. */
  weights: WeightsSpec[];
  /** From the paper or the reference implementation, for 1000 classes; checked by tests. */
  paramCount: number;
}

const registry = new Map<string, ModelEntry>();

export function registerModel(entry: ModelEntry): void {
  if (registry.has(entry.name)) throw new Error(`registerModel: '${entry.name}' is registered twice`);
  registry.set(entry.name, entry);
}

/** Names of registered models, sorted; optionally those matching a glob-like filter ('resnet*'). */
export function listModels(filter?: string): string[] {
  const names = [...registry.keys()].sort();
  if (!filter) return names;
  const pattern = new RegExp(`^${filter.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return names.filter((n) => pattern.test(n));
}

export function modelInfo(name: string): ModelEntry {
  const entry = registry.get(name);
  if (!entry) {
    const close = listModels().filter((n) => n.startsWith(name.slice(0, 3)));
    throw new Error(`unknown model '${name}'${close.length ? `; did you mean ${close.slice(0, 5).join(', ')}?` : ''} (listModels() has them all)`);
  }
  return entry;
}
