// torchvision.ops.poolers (0.14): MultiScaleRoIAlign pools each box from the FPN level its size
// picks (eq. 1 of the FPN paper), by roiAlign.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { boxArea } from './boxes.js';
import { roiAlign } from './roi-align.js';
import { convertBoxesToRoiFormat, pair } from './roi-format.js';

/** Feature maps by name, in order (an FPN's output, or a backbone's stages). */
export type FeatureMaps = Map<string, Tensor> | Record<string, Tensor>;

/**
 * Which pyramid level each box belongs to: floor(canonicalLevel + log2(sqrt(area) / canonicalScale) + eps),
 * clamped to [kMin, kMax], counted from kMin.
 */
export class LevelMapper {
  constructor(
    readonly kMin: number,
    readonly kMax: number,
    readonly canonicalScale = 224,
    readonly canonicalLevel = 4,
    readonly eps = 1e-6,
  ) {}

  /** @param boxlists one Tensor[L, 4] per image @returns int64 [sum L], level indices from 0 */
  call(boxlists: readonly Tensor[]): Tensor {
    return torch.tidy(() => {
      const s = torch.cat(boxlists.map((b) => boxArea(b))).sqrt();
      const eps = torch.tensor(this.eps, { dtype: s.dtype, device: s.device });
      const targetLevels = s.div(this.canonicalScale).log2().add(this.canonicalLevel).add(eps).floor().clamp(this.kMin, this.kMax);
      return targetLevels.to('int64').sub(this.kMin).to('int64');
    });
  }
}

export function initLevelMapper(kMin: number, kMax: number, canonicalScale = 224, canonicalLevel = 4, eps = 1e-6): LevelMapper {
  return new LevelMapper(kMin, kMax, canonicalScale, canonicalLevel, eps);
}

/** 2^round(log2(x)) with x rounded to float32 first, as torchvision's torch.tensor(x).log2().round(). */
function nearestPowerOfTwo(x: number): number {
  return 2 ** torch.tidy(() => torch.tensor(x).log2().round().item());
}

/** torchvision's _infer_scale: the feature map's scale against the image, from its height. */
function inferScale(feature: Tensor, originalSize: [number, number]): number {
  const [h] = feature.shape.slice(-2);
  return nearestPowerOfTwo(h / originalSize[0]);
}

/** torchvision's _setup_scales: each level's scale against the largest image, and the level mapper. */
export function setupScales(features: readonly Tensor[], imageShapes: readonly (readonly number[])[], canonicalScale: number, canonicalLevel: number): { scales: number[]; mapper: LevelMapper } {
  if (imageShapes.length === 0) throw new RangeError('MultiScaleRoIAlign: imageShapes is empty; pass the [height, width] of every image');
  const maxH = Math.max(0, ...imageShapes.map((s) => s[0]));
  const maxW = Math.max(0, ...imageShapes.map((s) => s[1]));
  const scales = features.map((f) => inferScale(f, [maxH, maxW]));
  const level = (scale: number) => Math.trunc(-torch.tidy(() => torch.tensor(scale).log2().item()));
  return { scales, mapper: initLevelMapper(level(scales[0]), level(scales[scales.length - 1]), canonicalScale, canonicalLevel) };
}

/** Pools every box (in image coordinates) from its level; all levels need the same channel count. */
export function multiscaleRoiAlign(features: readonly Tensor[], boxes: readonly Tensor[], outputSize: [number, number], samplingRatio: number, scales: number[], mapper: LevelMapper): Tensor {
  return torch.tidy(() => {
    const rois = convertBoxesToRoiFormat(boxes);
    if (features.length === 1) return roiAlign(features[0], rois, outputSize, { spatialScale: scales[0], samplingRatio });
    const levels = mapper.call(boxes);
    const first = features[0];
    const result = torch.zeros([rois.shape[0], first.shape[1], ...outputSize], { dtype: first.dtype, device: first.device });
    features.forEach((feature, level) => {
      torch.tidy(() => {
        const idxInLevel = levels.eq(level).nonzero().select(1, 0);
        const pooled = roiAlign(feature, rois.index([idxInLevel]), outputSize, { spatialScale: scales[level], samplingRatio });
        result.indexPut_([idxInLevel], pooled.to(result.dtype));
      });
    });
    return result;
  });
}

function featureList(x: FeatureMaps): [string, Tensor][] {
  return x instanceof Map ? [...x.entries()] : Object.entries(x);
}

/**
 * torchvision.ops.MultiScaleRoIAlign: RoI Align over several feature maps, each box from the
 * level its size picks. As torchvision 0.14, the scales are inferred from the first call's
 * feature and image sizes and kept for later calls.
 */
export class MultiScaleRoIAlign extends nn.Module {
  readonly featmapNames: string[];
  readonly outputSize: [number, number];
  readonly canonicalScale: number;
  readonly canonicalLevel: number;
  scales: number[] | null = null;
  mapLevels: LevelMapper | null = null;

  /**
   * @param featmapNames the feature maps to pool from
   * @param outputSize bins, [height, width] or one number
   * @param samplingRatio roiAlign's sampling points per bin side
   */
  constructor(
    featmapNames: readonly string[],
    outputSize: number | readonly number[],
    readonly samplingRatio: number,
    options: { canonicalScale?: number; canonicalLevel?: number } = {},
  ) {
    super();
    this.featmapNames = [...featmapNames];
    this.outputSize = pair(outputSize, 'MultiScaleRoIAlign');
    this.canonicalScale = options.canonicalScale ?? 224;
    this.canonicalLevel = options.canonicalLevel ?? 4;
  }

  /**
   * @param x feature maps by name, each [N, C, H_l, W_l]
   * @param boxes one Tensor[L, 4] per image, (x1, y1, x2, y2) in image coordinates
   * @param imageShapes [height, width] of each image before the backbone
   * @returns [sum L, C, outputSize[0], outputSize[1]]
   */
  forward(x: FeatureMaps, boxes: readonly Tensor[], imageShapes: readonly (readonly number[])[]): Tensor {
    // The maps in x's order, as torchvision's _filter_input.
    const filtered = featureList(x)
      .filter(([name]) => this.featmapNames.includes(name))
      .map(([, t]) => t);
    if (filtered.length === 0) {
      throw new RangeError(`MultiScaleRoIAlign: none of the feature maps ${JSON.stringify(this.featmapNames)} is in the input, which has ${JSON.stringify(featureList(x).map(([n]) => n))}`);
    }
    boxes.forEach((b, i) => {
      if (b.ndim !== 2 || b.shape[1] !== 4) throw new RangeError(`MultiScaleRoIAlign: boxes[${i}] must be a Tensor[L, 4], got shape [${b.shape.join(', ')}]`);
    });
    if (this.scales === null || this.mapLevels === null) {
      const { scales, mapper } = setupScales(filtered, imageShapes, this.canonicalScale, this.canonicalLevel);
      this.scales = scales;
      this.mapLevels = mapper;
    }
    return multiscaleRoiAlign(filtered, boxes, this.outputSize, this.samplingRatio, this.scales, this.mapLevels);
  }

  override toString(): string {
    return `MultiScaleRoIAlign(featmap_names=[${this.featmapNames.map((n) => `'${n}'`).join(', ')}], output_size=${nn.pyRepr(this.outputSize)}, sampling_ratio=${this.samplingRatio})`;
  }
}
