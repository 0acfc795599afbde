// Flags and config files: `--lr 0.1`, `--lr=0.1`, `--no-ema`, `--config run.json` (flags win).
import { readFileSync } from 'node:fs';

export type Flags = Record<string, string | number | boolean>;

export interface ParsedArgs {
  positional: string[];
  flags: Flags;
}

function coerce(value: string): string | number | boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(value)) return Number(value);
  return value;
}

const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export function parseArgs(argv: string[]): ParsedArgs {
  const positional: string[] = [];
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0) flags[camel(arg.slice(2, eq))] = coerce(arg.slice(eq + 1));
    else if (arg.startsWith('--no-')) flags[camel(arg.slice(5))] = false;
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags[camel(arg.slice(2))] = coerce(argv[++i]);
    else flags[camel(arg.slice(2))] = true;
  }
  if (typeof flags.config === 'string') {
    const fromFile = JSON.parse(readFileSync(flags.config, 'utf8')) as Flags;
    for (const [k, v] of Object.entries(fromFile)) if (!(camel(k) in flags)) flags[camel(k)] = v;
  }
  return { positional, flags };
}

/** Throws on flags a command does not know, naming the known ones. */
export function checkFlags(command: string, flags: Flags, known: string[]): void {
  const allowed = new Set([...known, 'config', 'help']);
  const unknown = Object.keys(flags).filter((k) => !allowed.has(k));
  if (unknown.length) {
    const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new UsageError(`iris ${command}: unknown option ${unknown.map((k) => `--${kebab(k)}`).join(', ')}; options: ${known.map((k) => `--${kebab(k)}`).join(' ')}`);
  }
}

export class UsageError extends Error {}
