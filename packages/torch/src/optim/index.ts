// Tensor methods are attached by this import; every entry point of the package makes it.
import '../generated/tensor-methods.js';
// torch.optim: optimizers (PyTorch 1.13's single-tensor algorithms) and `lrScheduler`.
export {
  Optimizer,
  type HyperParameters,
  type ParamGroup,
  type ParamGroupInput,
  type Params,
  type StateValue,
  type OptimizerStateDict,
} from './optimizer.js';
export { SGD, type SGDOptions, type SGDState } from './sgd.js';
export { Adam, type AdamOptions, type AdamState } from './adam.js';
export { AdamW } from './adamw.js';
export { RMSprop, type RMSpropOptions, type RMSpropState } from './rmsprop.js';
export * as lrScheduler from './lr_scheduler/index.js';
