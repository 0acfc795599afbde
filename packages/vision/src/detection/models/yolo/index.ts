// Ultralytics YOLOv8 / YOLO11 detection (issue 10). Not yet in the detector registry: the
// Detector contract's eval forward (decoded detections) arrives with the inference pipeline.
export { Conv, DWConv, Bottleneck, C2f, C3, C3k, C3k2, SPPF, Attention, PSABlock, C2PSA, Concat, Upsample, DFL, Detect, type YoloConvOptions, type DetectOptions } from './blocks.js';
export { YOLO, YOLOV8, YOLO11, YOLO_NAMES, buildYolo, catLevels, makeDivisible, type YoloDefinition, type YoloName, type YoloOptions, type YoloScale, type LayerSpec, type ScaleSpec } from './yolo.js';
export { makeAnchors, dist2bbox, bbox2dist } from './anchors.js';
export { bboxCiou } from './box-iou.js';
export { TaskAlignedAssigner, selectCandidatesInGts, selectHighestOverlaps, type TaskAlignedAssignerOptions, type TaskAlignedAssignment } from './assigner.js';
export { YoloDetectionLoss, type YoloLossHyp, type YoloLossTarget, type YoloLosses, type YoloDetectionLossOptions } from './loss.js';
