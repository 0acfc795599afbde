// torch.nn.utils.fusion for inference: a BatchNorm in eval mode is an affine map per channel, so
// it folds into the convolution before it (fuse_conv_bn_eval), and a model's conv→BN pairs can be
// folded all at once (what torch.ao.quantization.fuse_modules does for eval), leaving Identity.
import { Tensor } from '../../tensor.js';
import { noGrad } from '../../autograd.js';
import { tidy } from '../../scope.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { Conv2d } from '../modules/conv.js';
import { BatchNorm2d } from '../modules/batchnorm.js';
import { Identity } from '../modules/linear.js';
import { Sequential } from '../modules/container.js';

/**
 * PyTorch's `fuse_conv_bn_weights`: w' = w · γ/√(var+ε) per output channel, b' = (b − mean) · γ/√(var+ε) + β.
 * @returns [weight [O, I/g, kH, kW], bias [O]], new tensors in the weight's dtype
 */
export function fuseConvBnWeights(
  convWeight: Tensor,
  convBias: Tensor | null,
  runningMean: Tensor,
  runningVar: Tensor,
  eps: number,
  bnWeight: Tensor | null,
  bnBias: Tensor | null,
): [Tensor, Tensor] {
  return noGrad(() =>
    tidy(() => {
      const scale = runningVar.add(eps).rsqrt();
      const gamma = bnWeight ? scale.mul(bnWeight) : scale;
      const weight = convWeight.mul(gamma.reshape([-1, ...convWeight.shape.slice(1).map(() => 1)]).to({ dtype: convWeight.dtype }));
      const centred = convBias ? convBias.sub(runningMean) : runningMean.neg();
      const shifted = centred.mul(gamma);
      const bias = (bnBias ? shifted.add(bnBias) : shifted).to({ dtype: convWeight.dtype });
      return [weight.contiguous(), bias];
    }),
  );
}

function checkFoldable(conv: Conv2d, bn: BatchNorm2d, where: string): void {
  if (conv.training || bn.training) throw new Error(`${where}: fusion is only for eval mode (call model.eval() first): a training BatchNorm normalises with batch statistics`);
  if (!bn.runningMean || !bn.runningVar) throw new Error(`${where}: the BatchNorm has no running statistics (trackRunningStats: false), so it normalises with batch statistics and cannot be folded`);
  if (conv.outChannels !== bn.numFeatures) throw new RangeError(`${where}: the conv has ${conv.outChannels} output channels, the BatchNorm ${bn.numFeatures} features`);
}

/**
 * PyTorch's `torch.nn.utils.fusion.fuse_conv_bn_eval`: a new Conv2d (with a bias) computing
 * `bn(conv(x))` of the two eval-mode modules; the inputs are left as they are.
 */
export function fuseConvBnEval(conv: Conv2d, bn: BatchNorm2d): Conv2d {
  checkFoldable(conv, bn, 'fuseConvBnEval');
  const { inChannels, outChannels, kernelSize, stride, padding, dilation, groups, paddingMode } = conv;
  const fused = noGrad(
    () => new Conv2d(inChannels, outChannels, kernelSize, { stride, padding, dilation, groups, paddingMode, bias: true, dtype: conv.weight.dtype, device: conv.weight.device }),
  );
  const [weight, bias] = fuseConvBnWeights(conv.weight, conv.bias, bn.runningMean!, bn.runningVar!, bn.eps, bn.weight, bn.bias);
  fused.weight.dispose();
  fused.bias?.dispose();
  fused.weight = new Parameter(weight, conv.weight.requiresGrad);
  fused.bias = new Parameter(bias, conv.weight.requiresGrad);
  weight.dispose();
  bias.dispose();
  return fused.eval();
}

/** One conv→BN pair: where the BN sits (its parent and property) and the conv that feeds it. */
interface Pair {
  path: string;
  conv: Conv2d;
  parent: Module;
  bnProperty: string;
  bn: BatchNorm2d;
}

/** The conv whose output a module returns: a Conv2d, the last of a Sequential, or the last of a chain of Conv2d children (a separable conv). */
function finalConv(module: Module): Conv2d | null {
  if (module instanceof Conv2d) return module;
  const children = module.children();
  if (children.length === 0) return null;
  if (module instanceof Sequential) return finalConv(children[children.length - 1]);
  return children.every((c) => c instanceof Conv2d) ? (children[children.length - 1] as Conv2d) : null;
}

/** The property of `parent` that holds `child` (a Sequential's '0', '1', ... or a named field). */
function propertyOf(parent: Module, child: Module): string {
  const self = parent as unknown as Record<string, unknown>;
  const name = Object.keys(self).find((k) => self[k] === child);
  if (name === undefined) throw new Error(`fuseConvBn: ${parent.constructor.name} holds its ${child.constructor.name} under no property`);
  return name;
}

/**
 * The conv→BN pairs found from the module tree: neighbours in a Sequential (torchvision's
 * Conv2dNormActivation, VGG, DenseNet's stem) and named pairs in one module — `conv1`/`bn1`,
 * `conv`/`bn`, `skip`/`skipbn` — as torchvision's and timm's blocks name them.
 */
function findPairs(model: Module): Pair[] {
  const pairs: Pair[] = [];
  const usedConvs = new Set<Conv2d>();
  const add = (path: string, parent: Module, source: Module, bn: BatchNorm2d) => {
    const conv = finalConv(source);
    // A conv shared by two BNs, or a BN without running stats, cannot be folded.
    if (!conv || usedConvs.has(conv) || !bn.runningMean || !bn.runningVar || conv.outChannels !== bn.numFeatures) return;
    usedConvs.add(conv);
    pairs.push({ path, conv, parent, bnProperty: propertyOf(parent, bn), bn });
  };
  for (const [path, module] of model.namedModules()) {
    const children = module.namedChildren();
    const prefix = path ? `${path}.` : '';
    if (module instanceof Sequential) {
      for (let i = 1; i < children.length; i++) {
        const bn = children[i][1];
        if (bn instanceof BatchNorm2d) add(`${prefix}${children[i][0]}`, module, children[i - 1][1], bn);
      }
      continue;
    }
    const byKey = new Map(children);
    for (const [key, bn] of children) {
      if (!(bn instanceof BatchNorm2d)) continue;
      const convKey = [key.replace(/^bn/, 'conv'), key.replace(/bn$/, '')].find((k) => k !== key && byKey.has(k));
      if (convKey) add(`${prefix}${key}`, module, byKey.get(convKey)!, bn);
    }
  }
  return pairs;
}

/** What `fuseConvBn` did, and the way back. */
export interface FusedConvBn {
  /** The dotted paths of the BatchNorms folded away (now Identity). */
  readonly pairs: string[];
  /** Puts the original convs' parameters and the BatchNorms back, and frees the fused tensors. */
  restore(): void;
  /** Keeps the fused model for good and frees the original parameters and BatchNorm state. */
  commit(): void;
}

/**
 * Folds every conv→BN pair of an eval-mode model into its conv, in place: the conv gets the fused
 * weight and a bias, the BN becomes Identity, and the outputs stay those of the unfused model
 * (to rounding). `restore()` undoes it (an inference call on a model the caller still trains);
 * `commit()` frees what was replaced.
 */
export function fuseConvBn(model: Module): FusedConvBn {
  if (model.training) throw new Error(`fuseConvBn: ${model.constructor.name} is in training mode; call model.eval() first (a training BatchNorm normalises with batch statistics)`);
  const pairs = findPairs(model);
  const undo: { pair: Pair; weight: Parameter; bias: Parameter | null }[] = [];
  for (const pair of pairs) {
    const { conv, bn, parent, bnProperty } = pair;
    checkFoldable(conv, bn, `fuseConvBn: ${pair.path}`);
    const [weight, bias] = fuseConvBnWeights(conv.weight, conv.bias, bn.runningMean!, bn.runningVar!, bn.eps, bn.weight, bn.bias);
    const requiresGrad = conv.weight.requiresGrad;
    undo.push({ pair, weight: conv.weight, bias: conv.bias });
    conv.weight = new Parameter(weight, requiresGrad);
    conv.bias = new Parameter(bias, requiresGrad);
    weight.dispose();
    bias.dispose();
    (parent as unknown as Record<string, Module>)[bnProperty] = new Identity().eval();
  }
  let done = false;
  const finish = (fn: () => void) => {
    if (done) throw new Error('fuseConvBn: restore() or commit() was already called');
    done = true;
    fn();
  };
  return {
    pairs: pairs.map((p) => p.path),
    restore: () =>
      finish(() => {
        for (const { pair, weight, bias } of undo.reverse()) {
          pair.conv.weight.dispose();
          pair.conv.bias?.dispose();
          pair.conv.weight = weight;
          pair.conv.bias = bias;
          (pair.parent as unknown as Record<string, Module>)[pair.bnProperty] = pair.bn;
        }
      }),
    commit: () =>
      finish(() => {
        for (const { pair, weight, bias } of undo) {
          weight.dispose();
          bias?.dispose();
          for (const t of [...pair.bn.parameters(), ...pair.bn.buffers()]) t.dispose();
        }
      }),
  };
}
