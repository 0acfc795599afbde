import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** An opaque libtorch tensor owned by JS; only the addon reads it. */
export type NativeTensor = { readonly __nativeTensor: unique symbol };

/** The addon's surface (native/*.cc). Kept narrow: ops go through `callOp`. */
export interface NativeBinding {
  resolveOp(name: string, overload: string): number;
  opSchema(id: number): string;
  callOp(id: number, ...args: unknown[]): any;
  callOpAsync(id: number, ...args: unknown[]): Promise<any>;
  fromBuffer(bytes: ArrayBufferView | ArrayBuffer, shape: number[], dtypeCode: number): NativeTensor;
  toBuffer(t: NativeTensor): ArrayBuffer;
  shape(t: NativeTensor): number[];
  strides(t: NativeTensor): number[];
  dtype(t: NativeTensor): number;
  device(t: NativeTensor): string;
  isContiguous(t: NativeTensor, memoryFormat?: number): boolean;
  item(t: NativeTensor): number | boolean;
  requiresGrad(t: NativeTensor): boolean;
  setRequiresGrad(t: NativeTensor, value: boolean): void;
  isLeaf(t: NativeTensor): boolean;
  gradFn(t: NativeTensor): string | null;
  grad(t: NativeTensor): NativeTensor | null;
  setGrad(t: NativeTensor, grad: NativeTensor | null): void;
  retainGrad(t: NativeTensor): void;
  backward(outputs: NativeTensor[], grads: (NativeTensor | null)[], retainGraph?: boolean, createGraph?: boolean): void;
  autogradGrad(
    outputs: NativeTensor[],
    inputs: NativeTensor[],
    gradOutputs: (NativeTensor | null)[],
    retainGraph: boolean | undefined,
    createGraph: boolean,
    allowUnused: boolean,
  ): (NativeTensor | null)[];
  isSame(a: NativeTensor, b: NativeTensor): boolean;
  nbytes(t: NativeTensor): number;
  dispose(t: NativeTensor): void;
  isDisposed(t: NativeTensor): boolean;
  liveTensors(): number;
  manualSeed(seed: number | bigint): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  isGradEnabled(): boolean;
  setGradEnabled(enabled: boolean): boolean;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(): void;
  version(): string;
  /** dlopen(path, RTLD_NOW | RTLD_GLOBAL); throws with dlerror()'s message. */
  loadLibrary(path: string): void;
  getRngState(device?: string): NativeTensor;
  setRngState(state: NativeTensor, device?: string): void;
  setAutocast(deviceType: string, enabled: boolean, dtypeCode?: number): boolean;
  cpuBf16Support(): NativeBf16Facts;
}

/** What `cpuBf16Support` reports (runtime.cc); `cpu.bf16Support` decides on it. */
export interface NativeBf16Facts {
  mkldnn: boolean;
  onednnIsa: string | null;
  onednnIsaCode: number | null;
  avx512Bf16: boolean;
  amxBf16: boolean;
  amxTile: boolean;
  osAvx512: boolean;
  osAmx: boolean;
}

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'binding.gyp'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('@iris/torch: cannot find the package folder (binding.gyp)');
    dir = parent;
  }
  return dir;
}

function loadBinding(): NativeBinding {
  const root = findPackageRoot();
  const path = join(root, 'build', 'Release', 'iris_torch.node');
  if (!existsSync(path)) {
    throw new Error(
      `@iris/torch: the native addon is not built (${path} is missing). Run 'npm install' (or 'npm run build:native -w @iris/torch'); it needs libtorch: apt-get install libtorch-dev, or export LIBTORCH=/path/to/libtorch.`,
    );
  }
  return createRequire(import.meta.url)(path) as NativeBinding;
}

export const native: NativeBinding = loadBinding();
