// torchvision's detection collate, `lambda batch: tuple(zip(*batch))`: images keep their own
// sizes (the detector's transform resizes and batches them), one target per image.
import type { Sample } from '../../data/dataset.js';
import { isDetectionTarget } from './dataset.js';
import type { DetectionBatch, DetectionSampleTarget } from './types.js';

/** For the DataLoader: `new DataLoader(dataset, { batchSize: 4, collate: collateDetection })` yields `{ images, targets, indices }`. */
export function collateDetection(samples: Sample[]): DetectionBatch {
  const targets = samples.map((s, i) => {
    if (!isDetectionTarget(s.target)) throw new TypeError(`collateDetection: sample ${i} of the batch has no detection target { boxes, labels, ... }; is the dataset a detection dataset?`);
    return s.target as DetectionSampleTarget;
  });
  return { images: samples.map((s) => s.image), targets };
}
