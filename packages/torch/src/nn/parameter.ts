import { native } from '../native.js';
import { Tensor } from '../tensor.js';
import { lazyOp } from '../dispatch.js';
import { keep } from '../scope.js';

const detachOp = lazyOp('aten::detach', '');

/**
 * PyTorch's `nn.Parameter`: a tensor that a Module registers as a parameter when it is assigned
 * to one of its properties. It shares `data`'s storage (as PyTorch's does), is a leaf that
 * requires grad by default, and is kept out of `tidy` scopes: a model outlives the scope that
 * built it.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    if (!(data instanceof Tensor)) throw new TypeError(`Parameter: expected a Tensor, got ${typeof data}`);
    super(native.callOp(detachOp(), data.handle));
    keep(this);
    if (requiresGrad) this.requiresGrad = true;
  }

  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }
}
