// torch.ops: operators by library namespace, as PyTorch's torch.ops
// (torch.ops.torchvision.roi_align is ops.torchvision.roiAlign here), and loadLibrary for others.
export { loadLibrary, loadedLibraries, findTorchvisionLibrary } from './library.js';
export * as torchvision from './generated/torchvision.js';
