// torchvision's Matcher (models/detection/_utils.py): each prediction gets the ground-truth box it
// overlaps most, or a negative code when that overlap is too low.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';

export class Matcher {
  /** Prediction whose best quality is below lowThreshold: background. */
  static readonly BELOW_LOW_THRESHOLD = -1;
  /** Best quality in [lowThreshold, highThreshold): ignored by the losses. */
  static readonly BETWEEN_THRESHOLDS = -2;

  /**
   * @param highThreshold qualities >= this are matches
   * @param lowThreshold qualities below this are background; between the two, ignored
   * @param allowLowQualityMatches also match each ground truth to the predictions it overlaps most,
   *   even below the thresholds, so no ground-truth box goes unmatched (the RPN's setting)
   */
  constructor(
    readonly highThreshold: number,
    readonly lowThreshold: number,
    readonly allowLowQualityMatches = false,
  ) {
    if (lowThreshold > highThreshold) throw new RangeError(`Matcher: lowThreshold ${lowThreshold} should be <= highThreshold ${highThreshold}`);
  }

  /**
   * @param matchQualityMatrix [M, N] quality (IoU) of each (ground truth, prediction) pair
   * @returns [N] int64: the matched ground-truth index in [0, M), or BELOW_LOW_THRESHOLD / BETWEEN_THRESHOLDS
   */
  call(matchQualityMatrix: Tensor): Tensor {
    if (matchQualityMatrix.numel() === 0) {
      throw new Error(
        matchQualityMatrix.shape[0] === 0
          ? 'Matcher: no ground-truth boxes for one of the images during training'
          : 'Matcher: no proposal boxes for one of the images during training',
      );
    }
    return torch.tidy(() => {
      const [matchedVals, matches] = matchQualityMatrix.maxDim(0);
      const allMatches = this.allowLowQualityMatches ? matches.clone() : null;
      const below = matchedVals.lt(this.lowThreshold);
      const between = matchedVals.ge(this.lowThreshold).logicalAnd(matchedVals.lt(this.highThreshold));
      matches.maskedFill_(below, Matcher.BELOW_LOW_THRESHOLD);
      matches.maskedFill_(between, Matcher.BETWEEN_THRESHOLDS);
      if (allMatches) this.setLowQualityMatches_(matches, allMatches, matchQualityMatrix);
      return matches;
    });
  }

  /**
   * For each ground truth, the predictions it overlaps most (ties included) get their best match
   * back, even when it is low quality.
   */
  setLowQualityMatches_(matches: Tensor, allMatches: Tensor, matchQualityMatrix: Tensor): void {
    torch.tidy(() => {
      const highestForEachGt = matchQualityMatrix.amax({ dim: 1 });
      const pairs = matchQualityMatrix.eq(highestForEachGt.unsqueeze(1)).nonzero();
      const predIndsToUpdate = pairs.select(1, 1);
      matches.indexPut_([predIndsToUpdate], allMatches.index([predIndsToUpdate]));
    });
  }
}
