// torch.ops.loadLibrary and torchvision's op library: dlopen's errors, the locator's order, the
// schemas the generator copies against the ones the library registers, loading on the first
// torchvision op, and the error that names what to install when the library is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as torch from '../src/index.js';
import { native } from '../src/native.js';
import { testSourceDir } from './helpers/python.js';

const { torchvisionSchemas } = (await import(pathToFileURL(join(dirname(testSourceDir()), 'ops', 'torchvision.mjs')).href)) as { torchvisionSchemas: string[] };
const indexUrl = new URL('../src/index.js', import.meta.url).href;
const DEBIAN_DIR = '/usr/lib/python3/dist-packages/torchvision';

/** Runs `code` (an ES module importing @iris/torch as `torch`) in a fresh Node with `env` changes; returns its stdout and status. */
function child(code: string, env: Record<string, string | undefined>): { stdout: string; stderr: string; status: number | null } {
  const full = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete full[k];
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import * as torch from ${JSON.stringify(indexUrl)};\n${code}`], { env: full, encoding: 'utf8', timeout: 120_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const CALL_NMS = `
try {
  const keep = torch.ops.torchvision.nms(torch.tensor([[0, 0, 2, 2], [0, 0, 2, 1.9], [5, 5, 6, 6]]), torch.tensor([0.9, 0.8, 0.7]), 0.5);
  console.log(JSON.stringify({ keep: keep.toFlatArray(), libraries: torch.ops.loadedLibraries() }));
} catch (e) {
  console.log(JSON.stringify({ error: e.message }));
}`;

function tempDir(): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'iris-ops-library-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

test('loadLibrary reports dlopen’s own error, naming the path', () => {
  assert.throws(() => torch.ops.loadLibrary('/nonexistent/libiris_missing.so'), /loadLibrary\(\/nonexistent\/libiris_missing\.so\): .*No such file or directory/);
  const dir = tempDir();
  try {
    const notElf = join(dir.path, 'not-a-library.so');
    writeFileSync(notElf, 'this is text, not an ELF shared object\n');
    assert.throws(() => torch.ops.loadLibrary(notElf), (e: Error) => e.message.startsWith(`loadLibrary(${notElf}): `) && /ELF|too short/.test(e.message));
  } finally {
    dir.cleanup();
  }
});

test('the locator: IRIS_TORCHVISION_LIB first, then the pip torchvision beside a pip LIBTORCH, then Debian’s python3-torchvision', () => {
  const dir = tempDir();
  try {
    const site = join(dir.path, 'site-packages');
    mkdirSync(join(site, 'torch', 'lib'), { recursive: true });
    writeFileSync(join(site, 'torch', '__init__.py'), '');
    mkdirSync(join(site, 'torchvision'));
    const pipLib = join(site, 'torchvision', '_C.so');
    writeFileSync(pipLib, '');
    const explicit = join(dir.path, 'my_C.so');
    writeFileSync(explicit, '');
    assert.equal(torch.ops.findTorchvisionLibrary({ IRIS_TORCHVISION_LIB: explicit, LIBTORCH: join(site, 'torch') }), explicit);
    assert.equal(torch.ops.findTorchvisionLibrary({ LIBTORCH: join(site, 'torch') }), pipLib);
    assert.throws(() => torch.ops.findTorchvisionLibrary({ IRIS_TORCHVISION_LIB: join(dir.path, 'missing.so') }), /IRIS_TORCHVISION_LIB=.*missing\.so does not exist/);
    // A LibTorch download (not a Python package) has no torchvision beside it: Debian's is next.
    rmSync(pipLib);
    const debian = torch.ops.findTorchvisionLibrary({});
    assert.match(debian, new RegExp(`^${DEBIAN_DIR}/_C\\..*\\.so$`));
    assert.equal(torch.ops.findTorchvisionLibrary({ LIBTORCH: join(site, 'torch') }), debian);
  } finally {
    dir.cleanup();
  }
});

test('the schemas the generator copies (ops/torchvision.mjs) are the ones torchvision registers', () => {
  const path = torch.ops.findTorchvisionLibrary();
  torch.ops.loadLibrary(path);
  torch.ops.loadLibrary(path);
  assert.equal(torch.ops.loadedLibraries().filter((p) => p === path).length, 1, 'a second load is a no-op');
  for (const text of torchvisionSchemas) {
    const name = /^([\w:]+)\(/.exec(text)![1];
    assert.equal(native.opSchema(native.resolveOp(name, '')), text, name);
  }
});

test('the first torchvision op loads the library by itself, and a library loaded before is not looked for again', () => {
  const fresh = JSON.parse(child(CALL_NMS, { IRIS_TORCHVISION_LIB: undefined }).stdout);
  assert.deepEqual(fresh.keep, [0, 2]);
  assert.equal(fresh.libraries.length, 1);
  assert.match(fresh.libraries[0], /torchvision\/_C.*\.so$/);
  // Loaded by hand first: the locator is never asked, so a wrong IRIS_TORCHVISION_LIB does not matter.
  const byHand = JSON.parse(child(`torch.ops.loadLibrary(${JSON.stringify(fresh.libraries[0])});\n${CALL_NMS}`, { IRIS_TORCHVISION_LIB: '/nonexistent/_C.so' }).stdout);
  assert.deepEqual(byHand.keep, [0, 2]);
});

test('a missing torchvision library is one clear error naming what to install and the variable to set', () => {
  const r = child(CALL_NMS, { IRIS_TORCHVISION_LIB: '/nonexistent/torchvision/_C.so' });
  assert.equal(r.status, 0, `the process ends normally: ${r.stderr}`);
  const { error } = JSON.parse(r.stdout);
  assert.match(error, /IRIS_TORCHVISION_LIB=\/nonexistent\/torchvision\/_C\.so does not exist/);
  assert.match(error, /apt-get install python3-torchvision/);
  assert.match(error, /pip install the torchvision release matching that torch/);
  assert.match(error, /set IRIS_TORCHVISION_LIB/);
  // A file that is not a library: dlopen's reason comes through.
  const dir = tempDir();
  try {
    const bogus = join(dir.path, '_C.so');
    writeFileSync(bogus, 'not a shared object');
    const bad = JSON.parse(child(CALL_NMS, { IRIS_TORCHVISION_LIB: bogus }).stdout);
    assert.match(bad.error, new RegExp(`loadLibrary\\(${bogus.replace(/[.]/g, '\\.')}\\): .*(ELF|too short)`));
  } finally {
    dir.cleanup();
  }
  // A library that needs Python's symbols (pip's torchvision links libtorch_python): the error says what to set.
  const torchPython = '/usr/lib/x86_64-linux-gnu/libtorch_python.so.1.13';
  if (existsSync(torchPython)) {
    const needsPython = JSON.parse(child(CALL_NMS, { IRIS_TORCHVISION_LIB: torchPython, IRIS_LIBPYTHON: undefined }).stdout);
    assert.match(needsPython.error, /undefined symbol: PyExc_/);
    assert.match(needsPython.error, /links libtorch_python .*Set IRIS_LIBPYTHON/);
  }
});
