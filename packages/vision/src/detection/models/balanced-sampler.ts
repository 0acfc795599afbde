// torchvision's BalancedPositiveNegativeSampler (models/detection/_utils.py): a random subset of
// positives and negatives per image, at most batchSizePerImage of them, positiveFraction positive.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';

export class BalancedPositiveNegativeSampler {
  constructor(
    readonly batchSizePerImage: number,
    readonly positiveFraction: number,
  ) {}

  /**
   * @param matchedIdxs per image, [N] labels: -1 ignored, 0 negative, >= 1 positive
   * @returns per image, uint8 masks [N] of the positives and of the negatives chosen
   */
  call(matchedIdxs: Tensor[]): [Tensor[], Tensor[]] {
    return torch.tidy(() => {
      const posIdx: Tensor[] = [];
      const negIdx: Tensor[] = [];
      for (const matched of matchedIdxs) {
        const positive = matched.ge(1).nonzero().view([-1]);
        const negative = matched.eq(0).nonzero().view([-1]);
        const numPos = Math.min(positive.numel(), Math.trunc(this.batchSizePerImage * this.positiveFraction));
        const numNeg = Math.min(negative.numel(), this.batchSizePerImage - numPos);
        // randperm from the global generator in torchvision's order, so a seeded run samples as torchvision does.
        const perm1 = torch.randperm(positive.numel(), { device: matched.device }).narrow(0, 0, numPos);
        const perm2 = torch.randperm(negative.numel(), { device: matched.device }).narrow(0, 0, numNeg);
        posIdx.push(mask(matched, positive.index([perm1])));
        negIdx.push(mask(matched, negative.index([perm2])));
      }
      return [posIdx, negIdx];
    });
  }
}

function mask(like: Tensor, indices: Tensor): Tensor {
  const out = torch.zerosLike(like, { dtype: 'uint8' });
  return out.indexPut_([indices], torch.tensor(1, { dtype: 'uint8', device: like.device }));
}
