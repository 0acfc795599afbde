// Importing a family's file registers its detectors; this list is the whole detection zoo.

export {
  registerDetector,
  listDetectors,
  detectorInfo,
  createDetector,
  detectorConfig,
  replaceHead,
  resolveDetectorWeights,
  fetchDetectorWeights,
  cocoWeights,
  COCO_CATEGORIES,
} from './registry.js';
export type { Detector, DetectorEntry, DetectorOptions, DetectorWeightsSpec, DetectorConfig, Detection, DetectionTarget } from './registry.js';
