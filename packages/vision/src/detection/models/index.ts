// Importing a family's file registers its detectors; this list is the whole detection zoo.
import './faster-rcnn.js';
import './ssd.js';
import './ssdlite.js';
import './retinanet.js';
import './fcos.js';
import './yolo/detector.js';

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
export { ImageList } from './image-list.js';
export { GeneralizedRCNNTransform, resizeImage, resizeBoxes, resizeScale, type GeneralizedRCNNTransformOptions } from './transform.js';
export { AnchorGenerator } from './anchor-utils.js';
export { BoxCoder } from './box-coder.js';
export { Matcher } from './matcher.js';
export { BalancedPositiveNegativeSampler } from './balanced-sampler.js';
export { RPNHead, RegionProposalNetwork, concatBoxPredictionLayers, permuteAndFlatten, type RPNHeadModule, type RegionProposalNetworkOptions, type TrainTest } from './rpn.js';
export { RoIHeads, fastrcnnLoss, type RoIHeadsOptions, type RoIPooler } from './roi-heads.js';
export { GeneralizedRCNN, type DetectionBackbone } from './generalized-rcnn.js';
export {
  BackboneWithFPN,
  IntermediateLayerGetter,
  SingleMapBackbone,
  resnetFpnBackbone,
  resnetFpnExtractor,
  mobilenetBackbone,
  mobilenetExtractor,
  replaceBatchNorm,
  validateTrainableLayers,
  frozenBatchNorm2d,
  batchNorm2d,
  type BackboneWithFPNOptions,
  type ResnetFpnBackboneOptions,
  type ResnetFpnExtractorOptions,
  type MobilenetBackboneOptions,
  type MobilenetExtractorOptions,
} from './backbone-utils.js';
export {
  FasterRCNN,
  TwoMLPHead,
  FastRCNNConvFCHead,
  FastRCNNPredictor,
  defaultAnchorGen,
  overwriteEps,
  fasterrcnnResnet50Fpn,
  fasterrcnnResnet50FpnV2,
  fasterrcnnMobilenetV3LargeFpn,
  fasterrcnnMobilenetV3Large320Fpn,
  type FasterRCNNOptions,
  type FasterRCNNBuilderOptions,
} from './faster-rcnn.js';
export { DefaultBoxGenerator, type DefaultBoxGeneratorOptions } from './default-boxes.js';
export { BoxLinearCoder } from './box-linear-coder.js';
export { upgradeFpnKeys } from './one-stage.js';
export {
  SSD,
  SSDHead,
  SSDScoringHead,
  SSDClassificationHead,
  SSDRegressionHead,
  SSDMatcher,
  SSDFeatureExtractorVGG,
  vggExtractor,
  retrieveOutChannels,
  ssd300Vgg16,
  type SSDOptions,
  type SSDHeadModule,
  type SSDHeadOutputs,
  type SSDBackbone,
  type SSD300Options,
} from './ssd.js';
export {
  SSDLiteHead,
  SSDLiteClassificationHead,
  SSDLiteRegressionHead,
  SSDLiteFeatureExtractorMobileNet,
  ssdliteMobilenetExtractor,
  ssdlite320MobilenetV3Large,
  type SSDLite320Options,
} from './ssdlite.js';
export {
  RetinaNet,
  RetinaNetHead,
  RetinaNetClassificationHead,
  RetinaNetRegressionHead,
  defaultAnchorGenerator,
  resnet50Backbone,
  retinanetResnet50Fpn,
  retinanetResnet50FpnV2,
  type RetinaNetOptions,
  type DenseHeadOutputs,
  type FpnBackbone,
  type BoxLossType,
} from './retinanet.js';
export { FCOS, FCOSHead, FCOSClassificationHead, FCOSRegressionHead, fcosResnet50Fpn, type FCOSOptions, type FCOSHeadOutputs } from './fcos.js';
export { YoloDetector, YOLO_VAL_SETTINGS, COCO80_NAMES, type YoloDetectorOptions, type YoloPrediction, type YoloLoss, type YoloLossFactory, type YoloLossGains } from './yolo/detector.js';
export { makeAnchors, dist2bbox, bbox2dist } from './yolo/anchors.js';
export { YoloDetectionLoss, type YoloLosses } from './yolo/loss.js';
export { TaskAlignedAssigner } from './yolo/assigner.js';
export { xywh2xyxy, decodeDetect, nonMaxSuppression, splitDetections, type NmsOptions } from './yolo/postprocess.js';
export { YOLO, YOLOV8, YOLO11, YOLO_NAMES, buildYolo, catLevels, type YoloName, type YoloOptions, type YoloScale } from './yolo/yolo.js';
