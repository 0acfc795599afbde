// iris bench train-step|resnet50-forward|vit-forward [--threads 2 ...]: runs a bench/ script, which
// times Iris and Python PyTorch side by side and prints the ratio.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, kebab, type CommandSpec, type ParsedCommand } from '../options.js';

const SCRIPTS: Record<string, string> = {
  'train-step': 'resnet18-train-step.js',
  'resnet50-forward': 'resnet50-forward.js',
  'vit-forward': 'vit-forward.js',
};

export const spec: CommandSpec = {
  name: 'bench',
  summary: 'Time Iris and Python PyTorch side by side and print the ratio.',
  description: 'The ratio is Iris / PyTorch (below 1 is faster). ' +
    `Benchmarks: ${Object.keys(SCRIPTS).join(', ')}. Options not given keep the script's defaults.`,
  usage: 'NAME [options]',
  positionals: true,
  options: {
    threads: { type: 'integer', min: 1, description: 'compute threads on both sides' },
    batch: { type: 'integer', min: 1, description: 'batch size' },
    size: { type: 'integer', min: 8, description: 'image size' },
    rounds: { type: 'integer', min: 1, description: 'alternating rounds of Iris and PyTorch bursts' },
    burst: { type: 'integer', min: 1, description: 'timed steps per burst' },
    warmup: { type: 'integer', min: 0, description: 'untimed steps first' },
    channelsLast: { type: 'boolean', description: 'channels-last memory format (train-step)' },
    precision: { type: 'string', choices: ['fp32', 'bf16'], description: 'autocast precision (train-step)' },
  },
  examples: ['iris bench train-step --threads 2', 'iris bench vit-forward --rounds 25'],
};

export async function benchCommand({ positional, values: flags, sources }: ParsedCommand): Promise<number> {
  const [name] = positional;
  const script = SCRIPTS[name ?? ''];
  if (!script) throw new UsageError(`iris bench NAME: one of ${Object.keys(SCRIPTS).join(', ')}`);
  // packages/cli/dist/src/commands -> the repository's bench/dist.
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..', 'bench', 'dist', script);
  if (!existsSync(path)) throw new Error(`${path} is missing; run 'npm run build' in the repository (benchmarks ship with the source tree, not the npm package)`);
  const args = Object.entries(flags).filter(([k]) => sources[k] !== 'default' && k !== 'config').map(([k, v]) => (v === true ? `--${kebab(k)}` : `--${kebab(k)}=${v}`));
  return spawnSync(process.execPath, [path, ...args], { stdio: 'inherit' }).status ?? 1;
}
