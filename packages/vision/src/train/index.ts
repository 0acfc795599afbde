export { Trainer, TrainingDivergedError, type TrainerOptions, type BatchSource, type FitResult } from './trainer.js';
export { resolvePrecision, type Precision, type PrecisionPlan } from './precision.js';
export { saveCheckpoint, loadCheckpoint, type CheckpointParts } from './checkpoint.js';
export { ModelEma } from './ema.js';
export { ClassificationMetrics, type EvaluationReport, type ClassMetrics } from './metrics.js';
export { MetricsLog, EventFileWriter, encodeEvent, crc32c } from './metrics-log.js';
export { makeRecipeTransform, type RecipeTransformOptions } from './recipe-transforms.js';
export { depthGroups, fineTuneParamGroups, GradualUnfreezing, type DepthGroup, type FineTuneLrOptions } from './param-groups.js';
