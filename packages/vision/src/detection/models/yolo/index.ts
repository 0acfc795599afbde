// Ultralytics YOLOv8 / YOLO11 detection (issue 10): blocks, models, post-processing, and the
// registered Detector (detector.ts registers yolov8n..x and yolo11n..x).
export { Conv, DWConv, Bottleneck, C2f, C3, C3k, C3k2, SPPF, Attention, PSABlock, C2PSA, Concat, Upsample, DFL, Detect, type YoloConvOptions, type DetectOptions } from './blocks.js';
export { YOLO, YOLOV8, YOLO11, YOLO_NAMES, buildYolo, catLevels, makeDivisible, type YoloDefinition, type YoloName, type YoloOptions, type YoloScale, type LayerSpec, type ScaleSpec } from './yolo.js';
export { xywh2xyxy, decodeDetect, nonMaxSuppression, splitDetections, type NmsOptions } from './postprocess.js';
export { YoloDetector, YOLO_VAL_SETTINGS, COCO80_NAMES, type YoloDetectorOptions, type YoloPrediction, type YoloLoss, type YoloLossFactory, type YoloLossGains } from './detector.js';
export { readUltralyticsCheckpoint, readYoloSafetensors, readYoloWeights, loadYoloCheckpoint, saveYoloSafetensors, type UltralyticsCheckpoint, type YoloWeights, type ReadCheckpointOptions } from './checkpoint.js';
export { makeAnchors, dist2bbox, bbox2dist } from './anchors.js';
export { bboxCiou } from './box-iou.js';
export { TaskAlignedAssigner, selectCandidatesInGts, selectHighestOverlaps, type TaskAlignedAssignerOptions, type TaskAlignedAssignment } from './assigner.js';
export { YoloDetectionLoss, type YoloLossHyp, type YoloLossTarget, type YoloLosses, type YoloDetectionLossOptions } from './loss.js';
export { exportYoloOnnx, YoloExportHead, type ExportYoloOptions } from './export.js';
