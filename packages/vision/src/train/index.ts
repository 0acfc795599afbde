export { Trainer, TrainingDivergedError, type TrainerOptions, type BatchSource, type FitResult } from './trainer.js';
export { ClassificationTask, type ClassificationTaskOptions, type ClassificationObserver } from './tasks/classification.js';
export type { TrainingTask, TaskContext, TrainLoss } from './tasks/task.js';
export { DetectionTask, type DetectionTaskOptions, type DetectionReport, type DetectionObserver } from './tasks/detection.js';
export { resolvePrecision, type Precision, type PrecisionPlan } from './precision.js';
export { saveCheckpoint, loadCheckpoint, type CheckpointParts } from './checkpoint.js';
export { ModelEma } from './ema.js';
export { ClassificationMetrics, type EvaluationReport, type ClassMetrics } from './metrics.js';
export { MetricsLog, EventFileWriter, encodeEvent, crc32c } from './metrics-log.js';
export { makeRecipeTransform, type RecipeTransformOptions } from './recipe-transforms.js';
export { depthGroups, fineTuneParamGroups, GradualUnfreezing, type DepthGroup, type FineTuneLrOptions } from './param-groups.js';
export {
  YOLO_DEFAULT_HYPERPARAMETERS,
  YoloSchedule,
  buildYoloOptimizer,
  resolveYoloOptimizer,
  yoloParamGroups,
  type YoloHyperparameters,
  type YoloOptimizerName,
  type YoloOptimizerSettings,
  type YoloOptimizerContext,
  type YoloScheduleOptions,
} from './yolo-recipe.js';
