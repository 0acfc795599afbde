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

/** libpython3.X.so for pip's torchvision: `$IRIS_LIBPYTHON`, else the system's or the Python prefix's beside a pip torch. */
function findLibpython(torchvisionPath: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.IRIS_LIBPYTHON) return env.IRIS_LIBPYTHON;
  // .../lib/python3.11/site-packages/torchvision/_C.so: that Python's version and its prefix's lib/.
  const site = /^(.*)\/python(3\.\d+)\/(?:site|dist)-packages\//.exec(torchvisionPath);
  const dirs = [...(site ? [site[1]] : []), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
  const wanted = site ? new RegExp(`^libpython${site[2].replace('.', '\\.')}\\.so(\\.1(\\.0)?)?$`) : /^libpython3\.\d+\.so(\.1(\.0)?)?$/;
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const name = readdirSync(dir).filter((f) => wanted.test(f)).sort()[0];
    if (name) return join(dir, name);
  }
  return undefined;
}

/**
 * Loads torchvision's op library. Pip's `_C.so` also links libtorch_python, which needs
 * Python's own symbols: when dlopen says so, libpython and pip torch's libtorch_python are
 * loaded first (Python is never started; only its symbols are needed to load).
 */
function loadTorchvisionLibrary(path: string, env: NodeJS.ProcessEnv = process.env): void {
  try {
    loadLibrary(path);
    return;
  } catch (e) {
    const message = (e as Error).message;
    if (!/libtorch_python|undefined symbol: _?Py/.test(message)) throw e;
    // pip's torch beside this torchvision, else the LIBTORCH the addon was pointed at.
    const torchPython =
      [join(dirname(dirname(resolve(path))), 'torch', 'lib'), ...(env.LIBTORCH ? [join(env.LIBTORCH, 'lib')] : [])].map((dir) => join(dir, 'libtorch_python.so')).find((p) => existsSync(p)) ??
      join(dirname(dirname(resolve(path))), 'torch', 'lib', 'libtorch_python.so');
    const python = findLibpython(resolve(path), env);
    if (!python || !existsSync(torchPython)) {
      throw new Error(
        `${message}\n${path} is pip's torchvision, which links libtorch_python and so needs ${python ? torchPython : "Python's shared library (libpython3.X.so)"}, ` +
          `and it was not found. Set IRIS_LIBPYTHON to the libpython3.X.so of the Python that has this torchvision, or point IRIS_TORCHVISION_LIB at a torchvision built for C++ (libtorchvision.so).`,
      );
    }
    loadLibrary(python);
    loadLibrary(torchPython);
    loadLibrary(path);
  }
}

/** Namespace → how to find and load its library, for the namespaces Iris loads on demand. */
const onDemand = new Map<string, { find: () => string; load: (path: string) => void }>([
  ['torchvision', { find: () => findTorchvisionLibrary(), load: (path) => loadTorchvisionLibrary(path) }],
]);
const onDemandLoaded = new Map<string, string>();

/**
 * Resolves an operator to an addon id; an op of a namespace in `onDemand` that the dispatcher
 * does not know yet loads that namespace's library first (once), so `torch.ops.torchvision.nms`
 * works without a setup call, and a library the user loaded already is never loaded twice.
 */
export function resolveOperator(name: string, overload: string): number {
  const namespace = name.slice(0, Math.max(0, name.indexOf('::')));
  const library = onDemand.get(namespace);
  if (!library) return native.resolveOp(name, overload);
  try {
    return native.resolveOp(name, overload);
  } catch (e) {
    if (onDemandLoaded.has(namespace)) throw e;
  }
  const path = library.find();
  library.load(path);
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
