// torchvision.ops.feature_pyramid_network (0.14): a top-down pathway with lateral 1×1 convs and
// 3×3 output convs over a backbone's feature maps, plus the extra levels detectors add (a max-pool
// 'pool' level for Faster R-CNN, P6/P7 for RetinaNet). Parameter names equal torchvision's
// ('inner_blocks.0.0.weight', 'layer_blocks.0.0.weight', 'extra_blocks.p6.weight'), so its state
// dicts load as they are.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { Conv2dNormActivation, type NormLayer } from '../layers/conv-norm-activation.js';
import type { FeatureMaps } from './poolers.js';

const F = nn.functional;

/** Names and maps, in order; an array is named '0', '1', ... as torchvision's IntermediateLayerGetter names them. */
function entries(x: FeatureMaps | readonly Tensor[]): [string[], Tensor[]] {
  const pairs: [string, Tensor][] = Array.isArray(x) ? (x as readonly Tensor[]).map((t, i) => [String(i), t]) : x instanceof Map ? [...x.entries()] : Object.entries(x as Record<string, Tensor>);
  return [pairs.map(([k]) => k), pairs.map(([, t]) => t)];
}

/** torchvision's ExtraFPNBlock: extends the FPN's results (and their names) from them and the backbone's maps. */
export abstract class ExtraFPNBlock extends nn.Module {
  /**
   * @param results the FPN's outputs, finest first
   * @param x the backbone's feature maps the FPN ran on
   * @param names the results' names
   */
  abstract override forward(results: Tensor[], x: Tensor[], names: string[]): [Tensor[], string[]];
}

/** A max-pool (kernel 1, stride 2) of the coarsest result, named 'pool' (Faster R-CNN's P6). */
export class LastLevelMaxPool extends ExtraFPNBlock {
  forward(results: Tensor[], _x: Tensor[], names: string[]): [Tensor[], string[]] {
    return [[...results, F.maxPool2d(results[results.length - 1], 1, { stride: 2, padding: 0 })], [...names, 'pool']];
  }
}

/** RetinaNet's P6 and P7: stride-2 3×3 convs on P5 (or C5 when the channel counts differ). */
export class LastLevelP6P7 extends ExtraFPNBlock {
  p6: nn.Conv2d;
  p7: nn.Conv2d;
  readonly useP5: boolean;

  constructor(inChannels: number, outChannels: number) {
    super();
    this.p6 = new nn.Conv2d(inChannels, outChannels, 3, { stride: 2, padding: 1 });
    this.p7 = new nn.Conv2d(outChannels, outChannels, 3, { stride: 2, padding: 1 });
    for (const conv of [this.p6, this.p7]) {
      nn.init.kaimingUniform_(conv.weight, { a: 1 });
      nn.init.constant_(conv.bias!, 0);
    }
    this.useP5 = inChannels === outChannels;
  }

  forward(p: Tensor[], c: Tensor[], names: string[]): [Tensor[], string[]] {
    const x = this.useP5 ? p[p.length - 1] : c[c.length - 1];
    const p6 = this.p6.call(x);
    const p7 = torch.tidy(() => this.p7.call(F.relu(p6)));
    return [[...p, p6, p7], [...names, 'p6', 'p7']];
  }
}

export interface FeaturePyramidNetworkOptions {
  /** Levels added after the top-down pathway (LastLevelMaxPool, LastLevelP6P7); default none. */
  extraBlocks?: ExtraFPNBlock | null;
  /** A norm layer after each conv (fasterrcnn_resnet50_fpn_v2 uses BatchNorm2d); default none, and the convs have biases. */
  normLayer?: NormLayer | null;
}

/**
 * torchvision.ops.FeaturePyramidNetwork. The input maps go finest first; every output has
 * `outChannels` channels and its input's size, and keeps its input's name.
 */
export class FeaturePyramidNetwork extends nn.Module {
  innerBlocks: nn.ModuleList;
  layerBlocks: nn.ModuleList;
  extraBlocks: ExtraFPNBlock | null;

  /**
   * @param inChannelsList channels of each input map, finest first
   * @param outChannels channels of every output map
   */
  constructor(
    readonly inChannelsList: readonly number[],
    readonly outChannels: number,
    options: FeaturePyramidNetworkOptions = {},
  ) {
    super();
    const normLayer = options.normLayer ?? null;
    this.innerBlocks = new nn.ModuleList();
    this.layerBlocks = new nn.ModuleList();
    for (const inChannels of inChannelsList) {
      if (inChannels === 0) throw new RangeError('FeaturePyramidNetwork: inChannels=0 is not supported');
      this.innerBlocks.append(new Conv2dNormActivation(inChannels, outChannels, { kernelSize: 1, padding: 0, normLayer, activationLayer: null }));
      this.layerBlocks.append(new Conv2dNormActivation(outChannels, outChannels, { kernelSize: 3, normLayer, activationLayer: null }));
    }
    // Before the extra blocks are attached, so their own initialisation stays theirs (as torchvision).
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) {
        nn.init.kaimingUniform_(m.weight, { a: 1 });
        if (m.bias) nn.init.constant_(m.bias, 0);
      }
    }
    const extra = options.extraBlocks ?? null;
    if (extra !== null && !(extra instanceof ExtraFPNBlock)) throw new TypeError(`FeaturePyramidNetwork: extraBlocks must be an ExtraFPNBlock, got ${(extra as object).constructor?.name}`);
    this.extraBlocks = extra;
  }

  /**
   * @param x the backbone's maps, finest first: a Map or object by name, or an array (named '0', '1', ...)
   * @returns the pyramid by name, finest first, then the extra levels ('pool', or 'p6', 'p7')
   */
  forward(x: FeatureMaps | readonly Tensor[]): Map<string, Tensor> {
    const [names, maps] = entries(x);
    if (maps.length !== this.innerBlocks.length) {
      throw new RangeError(`FeaturePyramidNetwork: got ${maps.length} feature maps (${names.join(', ')}), but it was built for ${this.innerBlocks.length} (inChannelsList [${this.inChannelsList.join(', ')}])`);
    }
    maps.forEach((m, i) => {
      if (m.ndim !== 4 || m.shape[1] !== this.inChannelsList[i]) {
        throw new RangeError(`FeaturePyramidNetwork: feature map '${names[i]}' has shape [${m.shape.join(', ')}], expected [N, ${this.inChannelsList[i]}, H, W]`);
      }
    });
    return torch.tidy(() => {
      const last = maps.length - 1;
      let lastInner: Tensor = this.innerBlocks.at(last).call(maps[last]);
      const results: Tensor[] = [this.layerBlocks.at(last).call(lastInner)];
      for (let idx = last - 1; idx >= 0; idx--) {
        const innerLateral: Tensor = this.innerBlocks.at(idx).call(maps[idx]);
        const innerTopDown = F.interpolate(lastInner, { size: innerLateral.shape.slice(-2), mode: 'nearest' });
        lastInner = innerLateral.add(innerTopDown);
        results.unshift(this.layerBlocks.at(idx).call(lastInner));
      }
      let outNames = names;
      let outMaps = results;
      if (this.extraBlocks) [outMaps, outNames] = this.extraBlocks.call(results, maps, [...names]);
      return new Map(outNames.map((name, i) => [name, outMaps[i]]));
    });
  }
}
