// Fine-tuning by depth: a model's parameters cut into groups from the input to the classifier,
// for per-group learning rates (discriminative fine-tuning, timm's layer decay) and for
// unfreezing one group at a time from the top (ULMFiT's gradual unfreezing).
import type { nn } from '@iris/torch';
import type { ImageModel } from '../models/registry.js';

export interface DepthGroup {
  /** 'stem', a `featureInfo` module ('layer3', 'features.6', ...), or 'head'. */
  name: string;
  params: nn.Parameter[];
}

/**
 * The model's parameters in depth order: 'stem' (what comes before the first feature stage),
 * one group per `featureInfo` stage (with the blocks between it and the previous stage), and
 * 'head' (what follows the deepest stage: the classifier, and for some models a last conv or norm).
 * Groups with no parameters are left out. Registration order is the forward order in every
 * registered model, as in torchvision, so the cut follows the network.
 */
export function depthGroups(model: ImageModel): DepthGroup[] {
  const named = model.namedParameters();
  const stages = model.featureInfo.map((f) => f.module);
  // Which stage each parameter lies in (-1: none); the last parameter of a stage closes its group.
  const stageOf = named.map(([n]) => stages.findIndex((m) => n === m || n.startsWith(`${m}.`)));
  const lastIndex = stages.map((_, s) => stageOf.lastIndexOf(s));
  const firstStage = stageOf.indexOf(0);
  const groups: DepthGroup[] = [{ name: 'stem', params: [] }, ...stages.map((name) => ({ name, params: [] as nn.Parameter[] })), { name: 'head', params: [] }];
  const head = groups.length - 1;
  named.forEach(([, p], i) => {
    // A model without feature stages is all head.
    if (firstStage < 0) groups[head].params.push(p);
    else if (i < firstStage) groups[0].params.push(p);
    else {
      const s = lastIndex.findIndex((last) => i <= last);
      groups[s < 0 ? head : s + 1].params.push(p);
    }
  });
  return groups.filter((g) => g.params.length > 0);
}

export interface FineTuneLrOptions {
  /** The head's learning rate. */
  lr: number;
  /** Every group below the head trains at lr × this (default 1). */
  backboneLrScale?: number;
  /** Each group further from the head gets this factor once more (default 1: none). */
  layerDecay?: number;
}

/**
 * Optimizer param groups with per-depth learning rates: the head at `lr`, the group k steps
 * below it at lr × backboneLrScale × layerDecay^(k-1). Frozen parameters stay in their groups,
 * so unfreezing them later needs no new optimizer (a parameter without a gradient is skipped).
 */
export function fineTuneParamGroups(model: ImageModel, options: FineTuneLrOptions): { name: string; params: nn.Parameter[]; lr: number }[] {
  const { lr, backboneLrScale = 1, layerDecay = 1 } = options;
  if (!(backboneLrScale > 0) || !(layerDecay > 0)) throw new RangeError(`fineTuneParamGroups: backboneLrScale and layerDecay must be > 0, got ${backboneLrScale} and ${layerDecay}`);
  const groups = depthGroups(model);
  const headIndex = groups.findIndex((g) => g.name === 'head');
  const above = headIndex < 0 ? groups.length : headIndex;
  return groups.map((g, i) => ({ name: g.name, params: g.params, lr: i === headIndex ? lr : lr * backboneLrScale * layerDecay ** (above - i - 1) }));
}

/**
 * ULMFiT's gradual unfreezing: the head trains from the start, and every `every` epochs one more
 * group (from the top down) joins it, until the whole model trains. The state is a function of
 * the epoch alone, so a resumed run freezes exactly what the uninterrupted run did.
 */
export class GradualUnfreezing {
  private readonly groups: DepthGroup[];

  constructor(model: ImageModel, private readonly every = 1) {
    if (!(Number.isInteger(every) && every >= 1)) throw new RangeError(`GradualUnfreezing: every must be a whole number of epochs >= 1, got ${every}`);
    this.groups = depthGroups(model);
  }

  /** How many groups, counted from the top, train during `epoch` (0-based). */
  trainableGroups(epoch: number): number {
    return Math.min(this.groups.length, 1 + Math.floor(epoch / this.every));
  }

  /** Sets requiresGrad for `epoch`; returns the names of the groups that train. */
  apply(epoch: number): string[] {
    const trainable = this.trainableGroups(epoch);
    const first = this.groups.length - trainable;
    this.groups.forEach((g, i) => {
      for (const p of g.params) p.requiresGrad = i >= first;
    });
    return this.groups.slice(first).map((g) => g.name);
  }
}
