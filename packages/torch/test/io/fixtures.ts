import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The @iris/torch package folder, found from wherever this file was compiled to (src tree or dist/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === '@iris/torch') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json named @iris/torch above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Debian's python3 has torch; the pyenv python3 first on PATH does not. */
const python = process.env.IRIS_PYTHON ?? '/usr/bin/python3';

/** Runs make_checkpoints.py into a fresh temp folder and returns it; `remove()` deletes it. */
export function makeCheckpointFixtures(): { dir: string; remove(): void } {
  const script = join(packageRoot(), 'test', 'io', 'make_checkpoints.py');
  const dir = mkdtempSync(join(tmpdir(), 'iris-io-'));
  try {
    execFileSync(python, [script, dir], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`${python} ${script} failed (the io tests need PyTorch and torchvision there):\n${stderr}`);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function readBytes(path: string): Uint8Array {
  const buffer = readFileSync(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
