// Vision Transformer (Dosovitskiy et al. 2020) as torchvision defines it. Property names are
// torchvision's, so its state dicts load as they are; timm's ViT files load through timmVitKey.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { stochasticDepth } from '../layers/stochastic-depth.js';
import { registerModel, IMAGENET_PREPROCESSING, type FeatureInfo, type ImageModel, type ModelOptions, type Preprocessing, type WeightsSpec } from './registry.js';

const F = nn.functional;
const LAYER_NORM_EPS = 1e-6;

/** torchvision's MLPBlock: Linear, GELU, Dropout, Linear, Dropout under keys '0' ... '4'. */
class MLPBlock extends nn.Sequential {
  constructor(inDim: number, mlpDim: number, dropout: number) {
    super(new nn.Linear(inDim, mlpDim), new nn.GELU(), new nn.Dropout({ p: dropout }), new nn.Linear(mlpDim, inDim), new nn.Dropout({ p: dropout }));
    for (const m of this.modules()) {
      if (m instanceof nn.Linear) {
        nn.init.xavierUniform_(m.weight);
        if (m.bias) nn.init.normal_(m.bias, 0, 1e-6);
      }
    }
  }
}

class EncoderBlock extends nn.Module {
  ln_1: nn.LayerNorm;
  self_attention: nn.MultiheadAttention;
  dropout: nn.Dropout;
  ln_2: nn.LayerNorm;
  mlp: MLPBlock;

  constructor(numHeads: number, hiddenDim: number, mlpDim: number, dropout: number, attentionDropout: number, private readonly dropPathRate: number) {
    super();
    this.ln_1 = new nn.LayerNorm(hiddenDim, { eps: LAYER_NORM_EPS });
    this.self_attention = new nn.MultiheadAttention(hiddenDim, numHeads, { dropout: attentionDropout, batchFirst: true });
    this.dropout = new nn.Dropout({ p: dropout });
    this.ln_2 = new nn.LayerNorm(hiddenDim, { eps: LAYER_NORM_EPS });
    this.mlp = new MLPBlock(hiddenDim, mlpDim, dropout);
  }

  /** @param input [N, S, hiddenDim] */
  forward(input: Tensor): Tensor {
    if (input.ndim !== 3) throw new RangeError(`EncoderBlock: expected (batch, sequence, hidden) input, got shape [${input.shape}]`);
    // A scope per block frees its intermediates as it returns (autograd keeps what backward needs).
    return torch.tidy(() => {
      let x = this.ln_1.forward(input);
      [x] = this.self_attention.forward(x, x, x, { needWeights: false });
      x = this.dropout.forward(x);
      // Stochastic depth (not in torchvision) drops whole residual branches per sample, as timm does.
      x = stochasticDepth(x, this.dropPathRate, 'row', this.training).add(input);
      const y = this.mlp.forward(this.ln_2.forward(x));
      return x.add(stochasticDepth(y, this.dropPathRate, 'row', this.training));
    });
  }
}

class Encoder extends nn.Module {
  posEmbedding: nn.Parameter;
  dropout: nn.Dropout;
  layers: nn.Sequential;
  ln: nn.LayerNorm;

  constructor(seqLength: number, numLayers: number, numHeads: number, hiddenDim: number, mlpDim: number, dropout: number, attentionDropout: number, dropPathRate: number) {
    super();
    // BERT's initialisation, drawn before the layers as torchvision does.
    this.posEmbedding = new nn.Parameter(torch.empty([1, seqLength, hiddenDim]).normal_({ std: 0.02 }));
    this.dropout = new nn.Dropout({ p: dropout });
    const layers = new Map<string, nn.Module>();
    for (let i = 0; i < numLayers; i++) {
      // Rates rise linearly with depth, 0 for the first block (timm's schedule).
      const rate = numLayers > 1 ? (dropPathRate * i) / (numLayers - 1) : dropPathRate;
      layers.set(`encoder_layer_${i}`, new EncoderBlock(numHeads, hiddenDim, mlpDim, dropout, attentionDropout, rate));
    }
    this.layers = new nn.Sequential(layers);
    this.ln = new nn.LayerNorm(hiddenDim, { eps: LAYER_NORM_EPS });
  }

  /** The token sequence with positions added, ready for the first block. */
  embed(input: Tensor): Tensor {
    return this.dropout.forward(input.add(this.posEmbedding));
  }

  forward(input: Tensor): Tensor {
    if (input.ndim !== 3) throw new RangeError(`Encoder: expected (batch, sequence, hidden) input, got shape [${input.shape}]`);
    return this.ln.forward(this.layers.forward(this.embed(input)));
  }
}

export interface VisionTransformerConfig {
  patchSize: number;
  numLayers: number;
  numHeads: number;
  hiddenDim: number;
  mlpDim: number;
}

export interface VisionTransformerOptions extends ModelOptions {
  /** Square input side the model is built for (default 224); a multiple of patchSize. */
  imageSize?: number;
  /** Overrides the variant's patch size. */
  patchSize?: number;
  /** Dropout after attention, in the MLP and on the embeddings (torchvision's `dropout`). */
  dropout?: number;
  /** Dropout on the attention weights. */
  attentionDropout?: number;
  /** Adds a Linear + Tanh before the head (torchvision's `heads.pre_logits`). */
  representationSize?: number | null;
}

/**
 * torchvision's VisionTransformer. `forwardFeatures` returns the normalised token sequence
 * [N, 1 + (imageSize/patchSize)², hiddenDim], class token first; `forwardHead` classifies the
 * class token. `forwardStages` returns the outputs of the blocks in `featureInfo` (a quarter,
 * half, three quarters and all of the depth, before the final LayerNorm), patch tokens only,
 * reshaped to [N, hiddenDim, imageSize/patchSize, imageSize/patchSize].
 */
export class VisionTransformer extends nn.Module implements ImageModel {
  conv_proj: nn.Conv2d;
  classToken: nn.Parameter;
  encoder: Encoder;
  heads: nn.Sequential;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly hiddenDim: number;
  readonly representationSize: number | null;
  readonly featureInfo: FeatureInfo[];
  numClasses: number;
  private readonly dropRate: number;
  private readonly stageIndices: number[];

  constructor(config: VisionTransformerConfig, options: VisionTransformerOptions = {}) {
    super();
    const { imageSize = 224, numClasses = 1000, inChannels = 3, dropout = 0, attentionDropout = 0, dropPathRate = 0, dropRate = 0 } = options;
    const patchSize = options.patchSize ?? config.patchSize;
    const { numLayers, numHeads, hiddenDim, mlpDim } = config;
    if (imageSize % patchSize !== 0) {
      throw new RangeError(`VisionTransformer: imageSize ${imageSize} is not a multiple of patchSize ${patchSize}; pick an imageSize divisible by it`);
    }
    this.imageSize = imageSize;
    this.patchSize = patchSize;
    this.hiddenDim = hiddenDim;
    this.representationSize = options.representationSize ?? null;
    this.numClasses = numClasses;
    this.dropRate = dropRate;
    this.conv_proj = new nn.Conv2d(inChannels, hiddenDim, patchSize, { stride: patchSize });
    this.classToken = new nn.Parameter(torch.zeros([1, 1, hiddenDim]));
    const seqLength = (imageSize / patchSize) ** 2 + 1;
    this.encoder = new Encoder(seqLength, numLayers, numHeads, hiddenDim, mlpDim, dropout, attentionDropout, dropPathRate);
    this.heads = this.buildHeads(numClasses);

    torch.noGrad(() => {
      const fanIn = inChannels * patchSize * patchSize;
      nn.init.truncNormal_(this.conv_proj.weight, 0, Math.sqrt(1 / fanIn));
      nn.init.zeros_(this.conv_proj.bias!);
      const preLogits = this.preLogitsLayer();
      if (preLogits) {
        nn.init.truncNormal_(preLogits.weight, 0, Math.sqrt(1 / preLogits.inFeatures));
        nn.init.zeros_(preLogits.bias!);
      }
      const head = this.heads.at(-1);
      if (head instanceof nn.Linear) {
        nn.init.zeros_(head.weight);
        nn.init.zeros_(head.bias!);
      }
    });

    this.stageIndices = [...new Set([1, 2, 3, 4].map((q) => Math.max(0, Math.round((numLayers * q) / 4) - 1)))];
    this.featureInfo = this.stageIndices.map((i) => ({ module: `encoder.layers.encoder_layer_${i}`, channels: hiddenDim, reduction: patchSize }));
  }

  private preLogitsLayer(): nn.Linear | null {
    const first = this.heads.at(0);
    return this.representationSize !== null && first instanceof nn.Linear ? first : null;
  }

  private buildHeads(numClasses: number): nn.Sequential {
    const heads = new Map<string, nn.Module>();
    let inFeatures = this.hiddenDim;
    if (this.representationSize !== null) {
      // Keep trained pre-logits when only the classifier is replaced.
      heads.set('pre_logits', this.heads ? this.heads.at(0) : new nn.Linear(this.hiddenDim, this.representationSize));
      heads.set('act', new nn.Tanh());
      inFeatures = this.representationSize;
    }
    heads.set('head', numClasses > 0 ? new nn.Linear(inFeatures, numClasses) : new nn.Identity());
    return new nn.Sequential(heads);
  }

  /** [N, C, H, W] → class token and patch tokens with positions, [N, 1 + H·W/p², hiddenDim]. */
  private embed(x: Tensor): Tensor {
    const [n, , h, w] = x.shape;
    if (h !== this.imageSize || w !== this.imageSize) {
      throw new RangeError(
        `VisionTransformer: input is ${h}x${w} but the model was built for ${this.imageSize}x${this.imageSize}; resize the input or build with { imageSize: ${h} } (interpolateEmbeddings adapts trained weights)`,
      );
    }
    const patches = this.conv_proj
      .forward(x)
      .reshape([n, this.hiddenDim, (h / this.patchSize) * (w / this.patchSize)])
      .permute([0, 2, 1]);
    return this.encoder.embed(torch.cat([this.classToken.expand([n, -1, -1]), patches], 1));
  }

  forwardFeatures(x: Tensor): Tensor {
    return this.encoder.ln.forward(this.encoder.layers.forward(this.embed(x)));
  }

  forwardStages(x: Tensor): Tensor[] {
    const grid = this.imageSize / this.patchSize;
    const stages: Tensor[] = [];
    let tokens = this.embed(x);
    const blocks = [...this.encoder.layers];
    for (let i = 0; i <= this.stageIndices[this.stageIndices.length - 1]; i++) {
      tokens = blocks[i].forward(tokens);
      if (this.stageIndices.includes(i)) {
        const n = tokens.shape[0];
        stages.push(tokens.narrow(1, 1, grid * grid).permute([0, 2, 1]).reshape([n, this.hiddenDim, grid, grid]));
      }
    }
    return stages;
  }

  /** @param features [N, S, hiddenDim] from forwardFeatures; preLogits returns the head's input. */
  forwardHead(features: Tensor, options: { preLogits?: boolean } = {}): Tensor {
    let x = features.select(1, 0);
    const head = this.heads.at(-1);
    for (const m of this.heads) if (m !== head) x = m.forward(x);
    if (this.dropRate > 0) x = F.dropout(x, { p: this.dropRate, training: this.training });
    return options.preLogits ? x : head.forward(x);
  }

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }

  resetClassifier(numClasses: number): void {
    this.numClasses = numClasses;
    this.heads = this.buildHeads(numClasses);
  }

  /**
   * The state dict with position embeddings trained for another image size resized to this
   * model's (`interpolateEmbeddings`, as torchvision users do by hand); otherwise unchanged.
   */
  adaptStateDict(stateDict: Map<string, Tensor>): Map<string, Tensor> {
    const own = this.encoder.posEmbedding.shape;
    const given = stateDict.get('encoder.pos_embedding');
    if (!given || given.shape.join() === own.join() || given.ndim !== 3 || given.shape[2] !== own[2]) return stateDict;
    return interpolateEmbeddings(stateDict, this.imageSize, this.patchSize);
  }

  /** Also loads position embeddings trained for another image size (see adaptStateDict). */
  override loadStateDict(stateDict: nn.StateDict, options: { strict?: boolean } = {}): nn.LoadStateDictResult {
    const source = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
    const adapted = this.adaptStateDict(source);
    try {
      return super.loadStateDict(adapted, options);
    } finally {
      if (adapted !== source) adapted.get('encoder.pos_embedding')!.dispose();
    }
  }
}

/**
 * torchvision's `interpolate_embeddings`: resizes `encoder.pos_embedding` of a state dict trained
 * at another resolution to a model with `imageSize` and `patchSize` (bicubic over the position
 * grid, align_corners, class token kept). Returns a new Map sharing the other tensors.
 */
export function interpolateEmbeddings(
  stateDict: Map<string, Tensor>,
  imageSize: number,
  patchSize: number,
  options: { interpolationMode?: 'bicubic' | 'bilinear' | 'nearest'; resetHeads?: boolean } = {},
): Map<string, Tensor> {
  const posEmbedding = stateDict.get('encoder.pos_embedding');
  if (!posEmbedding) throw new Error("interpolateEmbeddings: the state dict has no 'encoder.pos_embedding'; is it a torchvision ViT state dict? (timm files: map keys with timmVitKey first)");
  const [n, seqLength, hiddenDim] = posEmbedding.shape;
  if (n !== 1 || posEmbedding.ndim !== 3) throw new RangeError(`interpolateEmbeddings: unexpected position embedding shape [${posEmbedding.shape}], expected [1, seq_length, hidden_dim]`);
  const newGrid = Math.floor(imageSize / patchSize);
  if (newGrid * newGrid + 1 === seqLength) return new Map(stateDict);
  const grid = Math.round(Math.sqrt(seqLength - 1));
  if (grid * grid !== seqLength - 1) throw new RangeError(`interpolateEmbeddings: ${seqLength - 1} position embeddings (besides the class token) do not form a square grid`);
  const mode = options.interpolationMode ?? 'bicubic';
  const resized = torch.tidy(() => {
    const token = posEmbedding.narrow(1, 0, 1);
    const image = posEmbedding.narrow(1, 1, seqLength - 1).permute([0, 2, 1]).reshape([1, hiddenDim, grid, grid]);
    const interpolated = F.interpolate(image, { size: newGrid, mode, ...(mode === 'nearest' ? {} : { alignCorners: true }) })
      .reshape([1, hiddenDim, newGrid * newGrid])
      .permute([0, 2, 1]);
    return torch.cat([token, interpolated], 1);
  });
  const out = new Map<string, Tensor>();
  for (const [k, v] of stateDict) {
    if (options.resetHeads && k.startsWith('heads')) continue;
    out.set(k, k === 'encoder.pos_embedding' ? resized : v);
  }
  return out;
}

const TIMM_BLOCK_KEYS: Record<string, string> = {
  norm1: 'ln_1',
  'attn.qkv.weight': 'self_attention.in_proj_weight',
  'attn.qkv.bias': 'self_attention.in_proj_bias',
  'attn.proj': 'self_attention.out_proj',
  norm2: 'ln_2',
  'mlp.fc1': 'mlp.0',
  'mlp.fc2': 'mlp.3',
};

const TIMM_TOP_KEYS: Record<string, string> = {
  cls_token: 'class_token',
  pos_embed: 'encoder.pos_embedding',
  'patch_embed.proj': 'conv_proj',
  norm: 'encoder.ln',
  head: 'heads.head',
};

/**
 * A timm ViT state-dict key as this model's (torchvision's) key: `blocks.3.attn.qkv.weight` →
 * `encoder.layers.encoder_layer_3.self_attention.in_proj_weight`. timm's fused qkv weight has
 * MultiheadAttention's in_proj layout (q, k, v rows), so tensors need no change. Keys it does not
 * know come back unchanged, so a strict load names them.
 */
export function timmVitKey(key: string): string {
  const rename = (rest: string, table: Record<string, string>): string | null => {
    for (const [from, to] of Object.entries(table)) {
      if (rest === from) return to;
      if (rest.startsWith(`${from}.`)) return to + rest.slice(from.length);
    }
    return null;
  };
  const block = /^blocks\.(\d+)\.(.+)$/.exec(key);
  if (block) {
    const renamed = rename(block[2], TIMM_BLOCK_KEYS);
    return renamed === null ? key : `encoder.layers.encoder_layer_${block[1]}.${renamed}`;
  }
  return rename(key, TIMM_TOP_KEYS) ?? key;
}

/** Checkpoints saved before torchvision 0.13 name the MLP's Linears linear_1 and linear_2. */
function torchvisionLegacyVitKey(key: string): string {
  return key.replace(/\.mlp\.linear_1\./, '.mlp.0.').replace(/\.mlp\.linear_2\./, '.mlp.3.');
}

function torchvisionWeights(file: string, top1: number, top5: number, tag = 'imagenet1k_v1', preprocessing?: Preprocessing): WeightsSpec {
  const spec: WeightsSpec = { tag, url: `https://download.pytorch.org/models/${file}`, keyMap: torchvisionLegacyVitKey, numClasses: 1000, metrics: { top1, top5 } };
  return preprocessing ? { ...spec, preprocessing } : spec;
}

// SWAG backbones with a linear head trained on ImageNet-1k at 224: bicubic, no resize margin.
// (The SWAG end-to-end weights need imageSize 384/512 builds, so they are not registered.)
const SWAG_LINEAR_PREPROCESSING: Preprocessing = { ...IMAGENET_PREPROCESSING, resizeSize: 224, interpolation: 'bicubic' };

function timmWeights(name: string, top1: number, top5: number): WeightsSpec {
  return { tag: 'augreg_in21k_ft_in1k', url: `hf://timm/${name}/model.safetensors`, keyMap: timmVitKey, numClasses: 1000, metrics: { top1, top5 } };
}

// timm's augreg ViTs: Inception-style normalisation, bicubic, crop_pct 0.9 (resize floor(224 / 0.9)).
const TIMM_AUGREG_PREPROCESSING: Preprocessing = { resizeSize: 248, cropSize: 224, interpolation: 'bicubic', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

const variants: {
  name: string;
  config: VisionTransformerConfig;
  paramCount: number;
  weights: WeightsSpec[];
  preprocessing: Preprocessing;
}[] = [
  {
    name: 'vit_b_16',
    config: { patchSize: 16, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072 },
    paramCount: 86_567_656,
    weights: [
      torchvisionWeights('vit_b_16-c867db91.pth', 81.072, 95.318),
      torchvisionWeights('vit_b_16_lc_swag-4e70ced5.pth', 81.886, 96.18, 'imagenet1k_swag_linear_v1', SWAG_LINEAR_PREPROCESSING),
    ],
    preprocessing: IMAGENET_PREPROCESSING,
  },
  {
    name: 'vit_b_32',
    config: { patchSize: 32, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072 },
    paramCount: 88_224_232,
    weights: [torchvisionWeights('vit_b_32-d86f8d99.pth', 75.912, 92.466)],
    preprocessing: IMAGENET_PREPROCESSING,
  },
  {
    name: 'vit_l_16',
    config: { patchSize: 16, numLayers: 24, numHeads: 16, hiddenDim: 1024, mlpDim: 4096 },
    paramCount: 304_326_632,
    weights: [
      torchvisionWeights('vit_l_16-852ce7e3.pth', 79.662, 94.638),
      torchvisionWeights('vit_l_16_lc_swag-4d563306.pth', 85.146, 97.422, 'imagenet1k_swag_linear_v1', SWAG_LINEAR_PREPROCESSING),
    ],
    preprocessing: { ...IMAGENET_PREPROCESSING, resizeSize: 242 },
  },
  {
    name: 'vit_s_16',
    config: { patchSize: 16, numLayers: 12, numHeads: 6, hiddenDim: 384, mlpDim: 1536 },
    paramCount: 22_050_664,
    weights: [timmWeights('vit_small_patch16_224.augreg_in21k_ft_in1k', 81.384, 96.136)],
    preprocessing: TIMM_AUGREG_PREPROCESSING,
  },
  {
    name: 'vit_ti_16',
    config: { patchSize: 16, numLayers: 12, numHeads: 3, hiddenDim: 192, mlpDim: 768 },
    paramCount: 5_717_416,
    weights: [timmWeights('vit_tiny_patch16_224.augreg_in21k_ft_in1k', 75.454, 92.844)],
    preprocessing: TIMM_AUGREG_PREPROCESSING,
  },
];

for (const v of variants) {
  registerModel({
    name: v.name,
    family: 'vit',
    build: (options) => new VisionTransformer(v.config, options as VisionTransformerOptions),
    defaultInput: [3, 224, 224],
    preprocessing: v.preprocessing,
    weights: v.weights,
    paramCount: v.paramCount,
  });
}
