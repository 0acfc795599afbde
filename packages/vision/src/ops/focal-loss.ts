// torchvision.ops.sigmoid_focal_loss (RetinaNet, https://arxiv.org/abs/1708.02002).
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';

export type LossReduction = 'none' | 'mean' | 'sum';

export function checkReduction(fn: string, reduction: string): LossReduction {
  if (reduction !== 'none' && reduction !== 'mean' && reduction !== 'sum') throw new RangeError(`${fn}: reduction must be 'none', 'mean' or 'sum', got '${reduction}'`);
  return reduction;
}

/**
 * Binary cross-entropy scaled by (1 - p_t)^gamma, so easy examples weigh little, and by alpha for
 * positives (1 - alpha for negatives).
 * @param inputs logits, any shape
 * @param targets the same shape, 1 for positives and 0 for negatives
 * @param options alpha (default 0.25; negative: no weighting), gamma (default 2), reduction (default 'none')
 */
export function sigmoidFocalLoss(inputs: Tensor, targets: Tensor, options: { alpha?: number; gamma?: number; reduction?: LossReduction } = {}): Tensor {
  const { alpha = 0.25, gamma = 2 } = options;
  const reduction = checkReduction('sigmoidFocalLoss', options.reduction ?? 'none');
  return torch.tidy(() => {
    const p = inputs.sigmoid();
    const ceLoss = nn.functional.binaryCrossEntropyWithLogits(inputs, targets, { reduction: 'none' });
    const oneMinusTargets = targets.neg().add(1);
    const pT = p.mul(targets).add(p.neg().add(1).mul(oneMinusTargets));
    let loss = ceLoss.mul(pT.neg().add(1).pow(gamma));
    if (alpha >= 0) loss = targets.mul(alpha).add(oneMinusTargets.mul(1 - alpha)).mul(loss);
    if (reduction === 'mean') return loss.mean();
    if (reduction === 'sum') return loss.sum();
    return loss;
  });
}
