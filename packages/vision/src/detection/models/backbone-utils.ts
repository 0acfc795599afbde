// torchvision's detection backbones (models/detection/backbone_utils.py): a classifier from the model
// zoo cut after the stages a detector reads, with an FPN on top, its norm layers swapped
// (FrozenBatchNorm2d when pretrained) and its early stages frozen.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { FeaturePyramidNetwork, FrozenBatchNorm2d, LastLevelMaxPool, type ExtraFPNBlock } from '../../ops/index.js';
import type { NormLayer } from '../../layers/conv-norm-activation.js';
import { createModel } from '../../models/index.js';
import { InvertedResidual as InvertedResidualV2 } from '../../models/mobilenetv2.js';
import { InvertedResidual as InvertedResidualV3 } from '../../models/mobilenetv3.js';
import type { ResNet } from '../../models/resnet.js';

/** torchvision.ops.misc.FrozenBatchNorm2d as a norm layer, what pretrained detection backbones use. */
export const frozenBatchNorm2d: NormLayer = (numFeatures) => new FrozenBatchNorm2d(numFeatures);
/** nn.BatchNorm2d with PyTorch's defaults (eps 1e-5, momentum 0.1), what torchvision passes as norm_layer=nn.BatchNorm2d. */
export const batchNorm2d: NormLayer = (numFeatures) => new nn.BatchNorm2d(numFeatures);

/**
 * Replaces every BatchNorm2d below `module` by `normLayer(numFeatures)`, carrying over its weight,
 * bias and running statistics: torchvision builds the classifier with `norm_layer=` and loads its
 * weights into those layers, which gives the same model.
 */
export function replaceBatchNorm(module: nn.Module, normLayer: NormLayer): void {
  for (const parent of module.modules()) {
    const self = parent as unknown as Record<string, unknown>;
    for (const name of Object.keys(parent)) {
      const child = self[name];
      if (!(child instanceof nn.BatchNorm2d)) continue;
      const replacement = normLayer(child.numFeatures);
      const state = child.stateDict();
      replacement.loadStateDict(state, { strict: false });
      for (const t of [...state.values(), ...child.parameters(), ...child.buffers()]) t.dispose();
      self[name] = replacement;
    }
  }
}

/**
 * torchvision's IntermediateLayerGetter: the model's children in order, up to the last one whose
 * output is returned; `forward` returns those outputs under new names. The children keep their
 * names, so the state-dict keys are the classifier's ('conv1.weight', 'layer1.0.bn1.weight').
 */
export class IntermediateLayerGetter extends nn.Module {
  readonly returnLayers: Map<string, string>;

  /** @param returnLayers child name → output name ({ layer1: '0', layer2: '1' }) */
  constructor(model: nn.Module, returnLayers: Record<string, string>) {
    super();
    const children = model.namedChildren();
    const missing = Object.keys(returnLayers).filter((name) => !children.some(([key]) => key === name));
    if (missing.length > 0) {
      throw new RangeError(`IntermediateLayerGetter: return layers ${missing.map((n) => `'${n}'`).join(', ')} are not children of ${model.constructor.name} (it has ${children.map(([k]) => k).join(', ')})`);
    }
    this.returnLayers = new Map(Object.entries(returnLayers));
    const remaining = new Set(this.returnLayers.keys());
    for (const [name, child] of children) {
      if (remaining.size === 0) break;
      this.registerChild(name, child);
      remaining.delete(name);
    }
  }

  /** @param x [N, C, H, W] @returns the returned layers' outputs by their new names, in order */
  forward(x: Tensor): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, module] of this.childList()) {
      // A stage's intermediates (a ResNet layer's block outputs) are freed when it returns, as Python frees them.
      const input = x;
      x = torch.tidy(() => module.call(input));
      const as = this.returnLayers.get(name);
      if (as !== undefined) out.set(as, x);
    }
    return out;
  }
}

export interface BackboneWithFPNOptions {
  /** Levels after the pyramid (default LastLevelMaxPool, the 'pool' level). */
  extraBlocks?: ExtraFPNBlock;
  /** Norm layer of the FPN's convs (fasterrcnn_resnet50_fpn_v2: BatchNorm2d); default none. */
  normLayer?: NormLayer | null;
}

/** torchvision's BackboneWithFPN: `body` (IntermediateLayerGetter) then `fpn` (FeaturePyramidNetwork). */
export class BackboneWithFPN extends nn.Module {
  body: IntermediateLayerGetter;
  fpn: FeaturePyramidNetwork;

  /**
   * @param returnLayers child name → feature name, shallow to deep
   * @param inChannelsList channels of each returned layer
   * @param outChannels channels of every pyramid level (256 in torchvision's detectors)
   */
  constructor(backbone: nn.Module, returnLayers: Record<string, string>, inChannelsList: number[], readonly outChannels: number, options: BackboneWithFPNOptions = {}) {
    super();
    this.body = new IntermediateLayerGetter(backbone, returnLayers);
    this.fpn = new FeaturePyramidNetwork(inChannelsList, outChannels, { extraBlocks: options.extraBlocks ?? new LastLevelMaxPool(), normLayer: options.normLayer ?? null });
  }

  /** @param x [N, 3, H, W] @returns the pyramid by name ('0', '1', ..., 'pool') */
  forward(x: Tensor): Map<string, Tensor> {
    // The body's maps are freed once the pyramid is built (hundreds of MB at 800x1088).
    return torch.tidy(() => this.fpn.call(this.body.call(x)));
  }
}

/**
 * torchvision's _validate_trainable_layers: without pretrained weights every layer trains (and an
 * explicit count is overridden, with a warning); otherwise `defaultValue` unless given.
 */
export function validateTrainableLayers(isTrained: boolean, trainableBackboneLayers: number | undefined, maxValue: number, defaultValue: number): number {
  let layers = trainableBackboneLayers;
  if (!isTrained) {
    if (layers !== undefined && layers !== maxValue) {
      process.emitWarning(
        `Changing trainableBackboneLayers has no effect if neither pretrained nor pretrainedBackbone is set, falling back to trainableBackboneLayers=${maxValue} so that all layers are trainable`,
        'UserWarning',
      );
    }
    layers = maxValue;
  }
  layers ??= defaultValue;
  if (!Number.isInteger(layers) || layers < 0 || layers > maxValue) throw new RangeError(`trainableBackboneLayers should be an integer in [0, ${maxValue}], got ${layers}`);
  return layers;
}

/** Frees the parameters and buffers of the children a backbone leaves out (the classifier head). */
function disposeUnused(model: nn.Module, kept: nn.Module): void {
  const used = new Set<Tensor>([...kept.parameters(), ...kept.buffers()]);
  for (const t of [...model.parameters(), ...model.buffers()]) if (!used.has(t)) t.dispose();
}

export interface ResnetFpnExtractorOptions {
  /** Stages whose outputs feed the FPN, in [1, 4] (default all four). */
  returnedLayers?: number[];
  extraBlocks?: ExtraFPNBlock;
  /** Norm layer of the FPN's convs; default none. */
  normLayer?: NormLayer | null;
}

/**
 * torchvision's _resnet_fpn_extractor: freezes all but the last `trainableLayers` of
 * (conv1, layer1, ..., layer4) (5 also trains bn1), and puts an FPN over the returned stages.
 */
export function resnetFpnExtractor(backbone: ResNet, trainableLayers: number, options: ResnetFpnExtractorOptions = {}): BackboneWithFPN {
  if (!Number.isInteger(trainableLayers) || trainableLayers < 0 || trainableLayers > 5) throw new RangeError(`resnetFpnExtractor: trainableLayers should be in [0, 5], got ${trainableLayers}`);
  const layersToTrain = ['layer4', 'layer3', 'layer2', 'layer1', 'conv1'].slice(0, trainableLayers);
  if (trainableLayers === 5) layersToTrain.push('bn1');
  for (const [name, parameter] of backbone.namedParameters()) {
    if (layersToTrain.every((layer) => !name.startsWith(layer))) parameter.requiresGrad_(false);
  }
  const returnedLayers = options.returnedLayers ?? [1, 2, 3, 4];
  if (returnedLayers.length === 0 || Math.min(...returnedLayers) <= 0 || Math.max(...returnedLayers) >= 5) {
    throw new RangeError(`resnetFpnExtractor: each returned layer should be in [1, 4], got [${returnedLayers}]`);
  }
  const returnLayers = Object.fromEntries(returnedLayers.map((k, v) => [`layer${k}`, String(v)]));
  const inChannelsList = returnedLayers.map((k) => backbone.featureInfo[k - 1].channels);
  const out = new BackboneWithFPN(backbone, returnLayers, inChannelsList, 256, { extraBlocks: options.extraBlocks, normLayer: options.normLayer });
  disposeUnused(backbone, out.body);
  return out;
}

export interface ResnetFpnBackboneOptions {
  /** A ResNet of the model zoo: 'resnet50', 'resnext101_32x8d', ... */
  backboneName: string;
  /** ImageNet weights: true (its default), a tag, or a file; from the cache (fetchWeights downloads them). */
  weights?: boolean | string;
  /** The backbone's norm layer (default FrozenBatchNorm2d, as torchvision's resnet_fpn_backbone). */
  normLayer?: NormLayer;
  /** Trainable stages from the top, 0 to 5 (default 3). */
  trainableLayers?: number;
  /** Stages whose outputs feed the FPN, in [1, 4] (default all four). */
  returnedLayers?: number[];
  extraBlocks?: ExtraFPNBlock;
}

/** torchvision's resnet_fpn_backbone: a ResNet of the zoo with FrozenBatchNorm2d, frozen early stages and an FPN. */
export function resnetFpnBackbone(options: ResnetFpnBackboneOptions): BackboneWithFPN {
  const backbone = createModel(options.backboneName, options.weights ? { pretrained: options.weights } : {});
  if (!isResNet(backbone)) throw new TypeError(`resnetFpnBackbone: '${options.backboneName}' is not a ResNet of the model zoo (resnet18 ... wide_resnet101_2)`);
  replaceBatchNorm(backbone, options.normLayer ?? frozenBatchNorm2d);
  return resnetFpnExtractor(backbone, options.trainableLayers ?? 3, { returnedLayers: options.returnedLayers, extraBlocks: options.extraBlocks });
}

function isResNet(model: nn.Module): model is ResNet {
  return ['conv1', 'bn1', 'layer1', 'layer2', 'layer3', 'layer4'].every((name) => model.namedChildren().some(([k]) => k === name));
}

/** A feature extractor that returns one map with `outChannels` channels (torchvision's Sequential with out_channels). */
export class SingleMapBackbone extends nn.Sequential {
  constructor(
    readonly outChannels: number,
    ...modules: nn.Module[]
  ) {
    super(...modules);
  }
}

/** torchvision's _is_cn: an inverted residual block that starts a stage (its depthwise conv has stride 2). */
function startsStage(block: nn.Module): boolean {
  if (!(block instanceof InvertedResidualV2 || block instanceof InvertedResidualV3)) return false;
  const depthwise = block.modules().find((m): m is nn.Conv2d => m instanceof nn.Conv2d && m.groups > 1);
  if (!depthwise) return false;
  if (depthwise.dilation.some((d) => d > 1)) throw new RangeError('mobilenetExtractor: dilated MobileNets are not supported (their stages cannot be told from the blocks)');
  return depthwise.stride.some((s) => s > 1);
}

export interface MobilenetExtractorOptions {
  /** Stage indices whose outputs feed the FPN (default the last two). */
  returnedLayers?: number[];
  extraBlocks?: ExtraFPNBlock;
  /** Norm layer of the FPN's convs; default none. */
  normLayer?: NormLayer | null;
}

/**
 * torchvision's _mobilenet_extractor over a MobileNetV2/V3's `features`: stages begin at the stem,
 * at each strided block, and at the last conv; all blocks before the last `trainableLayers`
 * stages are frozen. With `fpn`, an FPN (256 channels) over the returned stages; without, a 1x1
 * conv to 256 channels on the last map.
 */
export function mobilenetExtractor(backbone: nn.Module & { features: nn.Sequential }, fpn: boolean, trainableLayers: number, options: MobilenetExtractorOptions = {}): BackboneWithFPN | SingleMapBackbone {
  const features = backbone.features;
  const blocks = [...features];
  const stageIndices = [0, ...blocks.flatMap((b, i) => (startsStage(b) ? [i] : [])), blocks.length - 1];
  const numStages = stageIndices.length;
  if (!Number.isInteger(trainableLayers) || trainableLayers < 0 || trainableLayers > numStages) {
    throw new RangeError(`mobilenetExtractor: trainableLayers should be in [0, ${numStages}], got ${trainableLayers}`);
  }
  const freezeBefore = trainableLayers === 0 ? blocks.length : stageIndices[numStages - trainableLayers];
  for (const b of blocks.slice(0, freezeBefore)) for (const p of b.parameters()) p.requiresGrad_(false);
  const outChannels = 256;
  const channelsOf = (index: number) => (blocks[index] as unknown as { outChannels: number }).outChannels;
  let out: BackboneWithFPN | SingleMapBackbone;
  if (fpn) {
    const returnedLayers = options.returnedLayers ?? [numStages - 2, numStages - 1];
    if (returnedLayers.length === 0 || Math.min(...returnedLayers) < 0 || Math.max(...returnedLayers) >= numStages) {
      throw new RangeError(`mobilenetExtractor: each returned layer should be in [0, ${numStages - 1}], got [${returnedLayers}]`);
    }
    const returnLayers = Object.fromEntries(returnedLayers.map((k, v) => [String(stageIndices[k]), String(v)]));
    const inChannelsList = returnedLayers.map((i) => channelsOf(stageIndices[i]));
    out = new BackboneWithFPN(features, returnLayers, inChannelsList, outChannels, { extraBlocks: options.extraBlocks, normLayer: options.normLayer });
  } else {
    // A 1x1 conv: a linear combination of the last map's channels, down to 256.
    out = new SingleMapBackbone(outChannels, features, new nn.Conv2d(channelsOf(blocks.length - 1), outChannels, 1));
  }
  disposeUnused(backbone, out);
  return out;
}

export interface MobilenetBackboneOptions {
  /** 'mobilenet_v3_large', 'mobilenet_v3_small' or 'mobilenet_v2' from the model zoo. */
  backboneName: string;
  /** ImageNet weights: true (its default), a tag, or a file; from the cache. */
  weights?: boolean | string;
  /** An FPN over the last two stages (true), or a 1x1 conv on the last map. */
  fpn: boolean;
  /** The backbone's norm layer (default FrozenBatchNorm2d, as torchvision's mobilenet_backbone). */
  normLayer?: NormLayer;
  /** Trainable stages from the top (default 2). */
  trainableLayers?: number;
  /** Stage indices whose outputs feed the FPN (default the last two). */
  returnedLayers?: number[];
  extraBlocks?: ExtraFPNBlock;
}

/** torchvision's mobilenet_backbone: a MobileNet of the zoo with FrozenBatchNorm2d, frozen early stages, and an FPN or a 1x1 conv. */
export function mobilenetBackbone(options: MobilenetBackboneOptions): BackboneWithFPN | SingleMapBackbone {
  const backbone = createModel(options.backboneName, options.weights ? { pretrained: options.weights } : {}) as unknown as nn.Module & { features?: nn.Sequential };
  if (!(backbone.features instanceof nn.Sequential)) throw new TypeError(`mobilenetBackbone: '${options.backboneName}' has no features stack; use a MobileNet (mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small)`);
  replaceBatchNorm(backbone, options.normLayer ?? frozenBatchNorm2d);
  return mobilenetExtractor(backbone as nn.Module & { features: nn.Sequential }, options.fpn, options.trainableLayers ?? 2, {
    returnedLayers: options.returnedLayers,
    extraBlocks: options.extraBlocks,
  });
}
