// Ultralytics YOLOv8 / YOLO11 detection (issue 10). Not yet in the detector registry: the
// Detector contract's eval forward (decoded detections) arrives with the inference pipeline.
export { Conv, DWConv, Bottleneck, C2f, C3, C3k, C3k2, SPPF, Attention, PSABlock, C2PSA, Concat, Upsample, DFL, Detect, type YoloConvOptions, type DetectOptions } from './blocks.js';
export { YOLO, YOLOV8, YOLO11, YOLO_NAMES, buildYolo, catLevels, makeDivisible, type YoloDefinition, type YoloName, type YoloOptions, type YoloScale, type LayerSpec, type ScaleSpec } from './yolo.js';
export { readUltralyticsCheckpoint, readYoloSafetensors, readYoloWeights, loadYoloCheckpoint, saveYoloSafetensors, type UltralyticsCheckpoint, type YoloWeights, type ReadCheckpointOptions } from './checkpoint.js';
