// iris bench train-step|resnet50-forward|vit-forward [--threads 2 ...]: runs a bench/ script, which
// times Iris and Python PyTorch side by side and prints the ratio.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, type ParsedArgs } from '../args.js';

const SCRIPTS: Record<string, string> = {
  'train-step': 'resnet18-train-step.js',
  'resnet50-forward': 'resnet50-forward.js',
  'vit-forward': 'vit-forward.js',
};

export async function benchCommand({ positional, flags }: ParsedArgs): Promise<number> {
  const [name] = positional;
  const script = SCRIPTS[name ?? ''];
  if (!script) throw new UsageError(`iris bench NAME: one of ${Object.keys(SCRIPTS).join(', ')}`);
  // packages/cli/dist/src/commands -> the repository's bench/dist.
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..', 'bench', 'dist', script);
  if (!existsSync(path)) throw new Error(`${path} is missing; run 'npm run build' in the repository (benchmarks ship with the source tree, not the npm package)`);
  const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const args = Object.entries(flags).map(([k, v]) => (v === true ? `--${kebab(k)}` : `--${kebab(k)}=${v}`));
  return spawnSync(process.execPath, [path, ...args], { stdio: 'inherit' }).status ?? 1;
}
