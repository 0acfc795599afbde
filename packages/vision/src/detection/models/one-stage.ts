// What SSD, RetinaNet and FCOS share around their heads: the input checks torchvision makes in
// training, the backbone's feature maps as a list, the backbone weights the builders take, and the
// key upgrades torchvision applies when it loads files saved before 0.13.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import type { DetectionTarget, DetectorOptions, DetectorWeightsSpec } from './registry.js';

/** Feature maps of a backbone's output, in order (torchvision's `list(features.values())`). */
export function featureList(out: Tensor[] | Map<string, Tensor> | Tensor): Tensor[] {
  if (out instanceof torch.Tensor) return [out];
  return out instanceof Map ? [...out.values()] : out;
}

/** torchvision's train-mode target checks: one target per image, boxes [N, 4]. */
export function checkTargets(targets: DetectionTarget[] | undefined, count: number, where: string): DetectionTarget[] {
  if (!targets) throw new Error(`${where}: targets are needed in training mode (one { boxes, labels } per image), or call .eval() to detect`);
  if (targets.length !== count) throw new RangeError(`${where}: ${count} images but ${targets.length} targets; give one target per image`);
  targets.forEach((t, i) => {
    if (!(t.boxes instanceof torch.Tensor)) throw new TypeError(`${where}: targets[${i}].boxes should be a Tensor`);
    if (t.boxes.ndim !== 2 || t.boxes.shape[1] !== 4) throw new RangeError(`${where}: targets[${i}].boxes should be [N, 4], got shape [${t.boxes.shape}]`);
  });
  return targets;
}

/** torchvision's degenerate-box check after the transform: names the first box with x2 <= x1 or y2 <= y1. */
export function checkDegenerateBoxes(targets: DetectionTarget[], where: string): void {
  targets.forEach((t, i) => {
    const bad = torch.tidy(() => {
      const rows = t.boxes.narrow(1, 2, 2).le(t.boxes.narrow(1, 0, 2)).sum(1).gt(0).nonzero();
      return rows.shape[0] === 0 ? null : t.boxes.select(0, rows.toFlatArray()[0]).toFlatArray();
    });
    if (bad) throw new RangeError(`${where}: all bounding boxes should have positive height and width; found invalid box [${bad.join(', ')}] for target at index ${i}`);
  });
}

/**
 * The ImageNet weights tag torchvision's builder gives the backbone (weights_backbone): none when
 * COCO weights follow or none were asked for, `defaultTag` for `pretrainedBackbone: true`.
 */
export function backboneTag(pretrainedBackbone: DetectorOptions['pretrainedBackbone'], weights: DetectorWeightsSpec | null | unknown, defaultTag: string): string | false {
  if (weights || pretrainedBackbone === undefined || pretrainedBackbone === false) return false;
  return pretrainedBackbone === true ? defaultTag : pretrainedBackbone;
}

/**
 * A builder's model options from createDetector's: unknown names are refused (naming the builder
 * and what it takes), `detectionsPerImage` becomes torchvision's `detectionsPerImg`.
 * @param allowed the options the model class takes, besides the registry's
 */
export function oneStageOptions<T>(name: string, options: Record<string, unknown>, allowed: readonly string[]): T {
  const known = ['scoreThresh', 'nmsThresh', 'detectionsPerImage', ...allowed];
  const unknown = Object.keys(options).filter((k) => options[k] !== undefined && !known.includes(k));
  if (unknown.length > 0) throw new RangeError(`${name}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; it takes numClasses, pretrained, pretrainedBackbone, trainableBackboneLayers, ${known.join(', ')}`);
  const { detectionsPerImage, ...rest } = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...rest, ...(detectionsPerImage !== undefined && { detectionsPerImg: detectionsPerImage }) } as T;
}

/**
 * torchvision's FeaturePyramidNetwork version-2 upgrade (its _load_from_state_dict): files saved
 * before torchvision 0.13, such as the COCO weights of retinanet_resnet50_fpn and fcos_resnet50_fpn,
 * name the FPN's convs `inner_blocks.{i}.weight`; since then they are `inner_blocks.{i}.0.weight`.
 * @param prefix where the FPN sits in the detector's state dict
 */
export function upgradeFpnKeys(stateDict: Map<string, Tensor>, prefix = 'backbone.fpn.'): Map<string, Tensor> {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const legacy = new RegExp(`^(${escaped}(?:inner|layer)_blocks\\.\\d+)\\.(weight|bias)$`);
  return new Map([...stateDict].map(([k, v]) => [k.replace(legacy, '$1.0.$2'), v]));
}
