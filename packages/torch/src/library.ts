// Operator libraries outside ATen: torch.ops.loadLibrary (PyTorch's torch.ops.load_library), and
// torchvision's compiled C++ ops (torchvision::nms, roi_align, ...), found and loaded the first
// time one of its ops is resolved. Its kernels, autograd included, then run in the same
// dispatcher as every ATen op.
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { native } from './native.js';

const loaded = new Set<string>();

/**
 * Loads a shared library into the process, as PyTorch's `torch.ops.load_library`: its static
 * initializers register its operators into libtorch's dispatcher. Loading a path again is a no-op.
 */
export function loadLibrary(path: string): void {
  const full = resolve(path);
  if (loaded.has(full)) return;
  if (typeof native.loadLibrary !== 'function') {
    throw new Error('loadLibrary: the native addon was built before loadLibrary existed; rebuild it: npm run build:native -w @iris/torch');
  }
  native.loadLibrary(full);
  loaded.add(full);
}

/** Libraries loaded by `loadLibrary` (absolute paths), in load order. */
export function loadedLibraries(): string[] {
  return [...loaded];
}

const DEBIAN_TORCHVISION = '/usr/lib/python3/dist-packages/torchvision';

/** torchvision's op library in `dir`: `_C.so` (pip) or `_C.cpython-311-x86_64-linux-gnu.so` (Debian), whatever the Python tag. */
function opLibraryIn(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const name = readdirSync(dir)
    .filter((f) => /^_C(\..+)?\.so$/.test(f))
    .sort()[0];
  return name === undefined ? undefined : join(dir, name);
}

/** A pip PyTorch folder (site-packages/torch) rather than a LibTorch download: it is a Python package. */
function isPipTorch(dir: string): boolean {
  return basename(dir) === 'torch' && existsSync(join(dir, '__init__.py'));
}

/**
 * Where torchvision's C++ op library is: `$IRIS_TORCHVISION_LIB`; else the `_C*.so` of the pip
 * torchvision beside `$LIBTORCH` when that is a pip PyTorch folder; else Debian's
 * python3-torchvision. Throws, naming what to install, when none is there.
 */
export function findTorchvisionLibrary(env: NodeJS.ProcessEnv = process.env): string {
  const howTo =
    'Install torchvision built for this libtorch (' +
    native.version() +
    '):\n' +
    '  - Debian/Ubuntu (with libtorch-dev): sudo apt-get install python3-torchvision\n' +
    '  - a pip PyTorch (LIBTORCH=/path/to/site-packages/torch): pip install the torchvision release matching that torch, beside it\n' +
    "or set IRIS_TORCHVISION_LIB to the path of torchvision's op library (torchvision/_C*.so).";
  const fromEnv = env.IRIS_TORCHVISION_LIB;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`torchvision's op library: IRIS_TORCHVISION_LIB=${fromEnv} does not exist.\n${howTo}`);
    return fromEnv;
  }
  const looked: string[] = [];
  const libtorch = env.LIBTORCH;
  if (libtorch && isPipTorch(resolve(libtorch))) {
    const dir = join(dirname(resolve(libtorch)), 'torchvision');
    const found = opLibraryIn(dir);
    if (found) return found;
    looked.push(`${dir}/_C*.so (beside LIBTORCH=${libtorch})`);
  }
  const debian = opLibraryIn(DEBIAN_TORCHVISION);
  if (debian) return debian;
  looked.push(`${DEBIAN_TORCHVISION}/_C*.so (python3-torchvision)`);
  throw new Error(`torchvision's op library was not found (looked for ${looked.join(', ')}; IRIS_TORCHVISION_LIB is not set).\n${howTo}`);
}

/** Namespace → where its library is, for the namespaces Iris loads on demand. */
const onDemand = new Map<string, () => string>([['torchvision', () => findTorchvisionLibrary()]]);
const onDemandLoaded = new Map<string, string>();

/**
 * Resolves an operator to an addon id; an op of a namespace in `onDemand` that the dispatcher
 * does not know yet loads that namespace's library first (once), so `torch.ops.torchvision.nms`
 * works without a setup call, and a library the user loaded already is never loaded twice.
 */
export function resolveOperator(name: string, overload: string): number {
  const namespace = name.slice(0, Math.max(0, name.indexOf('::')));
  const find = onDemand.get(namespace);
  if (!find) return native.resolveOp(name, overload);
  try {
    return native.resolveOp(name, overload);
  } catch (e) {
    if (onDemandLoaded.has(namespace)) throw e;
  }
  const path = find();
  loadLibrary(path);
  onDemandLoaded.set(namespace, path);
  try {
    return native.resolveOp(name, overload);
  } catch {
    throw new Error(
      `${path} loaded, but registered no ${name}${overload ? `.${overload}` : ''} into this libtorch (${native.version()}): ` +
        `it was built for another libtorch. Install the ${namespace} that matches libtorch ${native.version()}, or set IRIS_TORCHVISION_LIB to its op library.`,
    );
  }
}
