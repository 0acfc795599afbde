export { clipGradNorm_, clipGradValue_ } from './clip-grad.js';
export { fuseConvBnEval, fuseConvBn, fuseConvBnWeights, type FusedConvBn } from './fusion.js';
