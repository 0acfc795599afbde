// @iris/vision/ops: torchvision.ops 0.14 — box ops, RoI pooling, FPN, frozen BatchNorm and the
// detection losses. The RoI and NMS kernels are torchvision's own (torch.ops.torchvision).
export {
  nms,
  batchedNms,
  batchedNmsCoordinateTrick,
  batchedNmsVanilla,
  removeSmallBoxes,
  clipBoxesToImage,
  boxConvert,
  boxArea,
  boxIou,
  generalizedBoxIou,
  distanceBoxIou,
  completeBoxIou,
  masksToBoxes,
  checkBoxes,
  upcast,
  upcastNonFloat,
  type BoxFormat,
} from './boxes.js';
export { generalizedBoxIouLoss, distanceBoxIouLoss, completeBoxIouLoss, type BoxLossOptions } from './box-losses.js';
export { sigmoidFocalLoss, type LossReduction } from './focal-loss.js';
export { roiAlign, RoIAlign, type RoiAlignOptions } from './roi-align.js';
export { roiPool, RoIPool } from './roi-pool.js';
export { psRoiAlign, psRoiPool, PSRoIAlign, PSRoIPool } from './ps-roi.js';
export { convertBoxesToRoiFormat, checkRoiBoxes, type RoiBoxes } from './roi-format.js';
export { MultiScaleRoIAlign, LevelMapper, initLevelMapper, setupScales, multiscaleRoiAlign, type FeatureMaps } from './poolers.js';
export { FeaturePyramidNetwork, ExtraFPNBlock, LastLevelMaxPool, LastLevelP6P7, type FeaturePyramidNetworkOptions } from './feature-pyramid-network.js';
export { FrozenBatchNorm2d } from './frozen-batch-norm.js';
