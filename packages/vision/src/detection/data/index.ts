// Detection data: readers (COCO, Pascal VOC, YOLO) into one dataset type, validation, converters,
// the detection collate, and the Fashion-MNIST scenes generator.
export { DetectionDataset, isDetectionTarget, type DetectionDatasetOptions, type DetectionDatasetInit } from './dataset.js';
export type { Category, ImageRecord, ObjectRecord, DetectionSampleTarget, DetectionBatch, OnInvalid, DetectionFormat } from './types.js';
export { DetectionDataError, IssueLog, formatIssue, summarize, type DataIssue, type IssueKind, type IssueAction, type IssueLogOptions } from './validate.js';
export type { ReadOptions } from './read-options.js';
export { readCoco, writeCoco, type CocoReadOptions, type CocoWriteOptions } from './coco.js';
export { readVoc, writeVoc, VOC_CLASSES, type VocReadOptions, type VocWriteOptions } from './voc.js';
export { readYolo, readYoloConfig, writeYoloLabels, writeYoloConfig, labelPath, type YoloConfig, type YoloWriteOptions } from './yolo.js';
export { convertDetectionDataset, type ConvertOptions, type ConvertResult } from './convert.js';
export { collateDetection } from './collate.js';
export { detectionDataset, detectionSplits, DETECTION_SPECS, type DetectionSpecOptions } from './spec.js';
export {
  makeFashionMnistScenes,
  ensureFashionMnistScenes,
  writeScenesPreview,
  scenesParams,
  scenesCacheDir,
  scenesCacheRoot,
  loadItems,
  sceneRng,
  SCENES_DEFAULTS,
  SCENES_VERSION,
  type FashionMnistScenesOptions,
  type ScenesParams,
} from './scenes.js';
export { renderScene, resizeBilinear, SCENE_MASK_THRESHOLD, SCENE_ALPHA_RAMP, SCENE_SHADE_BASE, type SceneObject, type ItemSource } from './scene-render.js';
export { drawDetections, detectionGrid, type DetectionGridItem } from './preview.js';
export { MosaicDataset, type MosaicDatasetOptions } from './mosaic-dataset.js';
