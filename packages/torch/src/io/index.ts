// Tensor methods are attached by this import; every entry point of the package makes it.
import '../generated/tensor-methods.js';
export { isRawTensor, numelOf, byteLengthOf, type RawTensor } from './raw.js';
export { parseSafetensors, serializeSafetensors, type Safetensors } from './safetensors.js';
export { readTorchCheckpoint, findStateDict, TorchStorage, TorchDType, type TorchCheckpointOptions } from './torch-checkpoint.js';
export { PickledObject, PickleClass, moduleStateDict, torchModuleClasses } from './pickled-object.js';
export { unpickle, PickleFunction, type UnpickleOptions } from './pickle.js';
export { ZipArchive, type ZipEntry } from './zip.js';
export { loadStateDictFile, loadCheckpointFile, saveSafetensors, rawToTensor, tensorToRaw } from './weights.js';
