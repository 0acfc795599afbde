// Detection evaluation: COCO (pycocotools' COCOeval, bbox) and Pascal VOC mAP.
export { cocoEvaluate, COCO_STAT_NAMES, type CocoEvaluateOptions, type CocoEvalParams, type CocoEvalResult, type CocoClassResult } from './coco-eval.js';
export { formatCocoSummary } from './coco-summary.js';
export type { CocoGroundTruth, CocoImage, CocoCategory, CocoAnnotation, CocoDetection } from './coco-input.js';
export { convertToCoco, type ConvertToCocoOptions } from './convert.js';
export { vocEvaluate, type VocEvaluateOptions, type VocResult, type VocClassResult } from './voc-map.js';
export type { EvalTarget, EvalPrediction, BoxesLike, NumbersLike } from './arrays.js';
export { yoloMetrics, apPerClass, matchDetections, matchPredictions, computeAp, boxIouFloat32, YOLO_IOU_THRESHOLDS, type YoloMetrics, type YoloMetricsOptions, type MatchedPredictions } from './yolo-metrics.js';
export { DetectionConfusionMatrix, type DetectionConfusionOptions } from './detection-confusion.js';
