// Locates libtorch for the native build: $LIBTORCH (a libtorch folder or a pip PyTorch folder),
// else Debian/Ubuntu's libtorch-dev under /usr. Prints the piece binding.gyp asks for.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const HELP = `Iris needs LibTorch to build its native addon, and none was found.
Get one of:
  - Debian/Ubuntu:  sudo apt-get install libtorch-dev
  - a LibTorch or pip PyTorch folder (it has include/ and lib/):  export LIBTORCH=/path/to/libtorch
then run 'npm install' again.`;

function multiarchLibDir() {
  for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib']) {
    if (existsSync(join(dir, 'libtorch.so'))) return dir;
  }
  return undefined;
}

export function findLibtorch() {
  const fromEnv = process.env.LIBTORCH;
  if (fromEnv) {
    const include = join(fromEnv, 'include');
    const lib = join(fromEnv, 'lib');
    if (!existsSync(join(include, 'torch', 'csrc', 'api', 'include')) || !existsSync(join(lib, 'libtorch.so'))) {
      throw new Error(`LIBTORCH=${fromEnv} is not a libtorch folder: expected ${include}/torch/csrc/api/include and ${lib}/libtorch.so.\n\n${HELP}`);
    }
    return { include, lib };
  }
  const lib = multiarchLibDir();
  if (lib && existsSync('/usr/include/torch/csrc/api/include')) return { include: '/usr/include', lib };
  throw new Error(HELP);
}

function main() {
  let found;
  try {
    found = findLibtorch();
  } catch (e) {
    console.error(`\n${e.message}\n`);
    process.exit(1);
  }
  const hasCuda = readdirSync(found.lib).includes('libtorch_cuda.so');
  const what = process.argv[2];
  if (what === 'include') console.log([found.include, join(found.include, 'torch', 'csrc', 'api', 'include')].join(' '));
  else if (what === 'libs') {
    const libs = ['-ltorch', '-ltorch_cpu', '-lc10'];
    if (hasCuda) libs.push('-ltorch_cuda', '-lc10_cuda');
    console.log([`-L${found.lib}`, `-Wl,-rpath,${found.lib}`, '-Wl,--no-as-needed', ...libs, '-Wl,--as-needed'].join(' '));
  } else if (what === 'std') {
    // LibTorch 2.x headers want a newer standard than 1.13's; both build with the one that fits.
    const version = readFileSync(join(found.include, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h'), 'utf8');
    const major = Number(/TORCH_VERSION_MAJOR\s+(\d+)/.exec(version)?.[1] ?? 1);
    console.log(major >= 2 ? '-std=c++20' : '-std=c++17');
  } else if (what === 'check') console.log(`libtorch: ${found.include} ${found.lib}${hasCuda ? ' (CUDA)' : ' (CPU)'}`);
  else {
    console.error('usage: libtorch.mjs include|libs|std|check');
    process.exit(2);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
