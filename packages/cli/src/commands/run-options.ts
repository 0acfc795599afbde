// Whether `iris train --out DIR` may continue the run already in DIR: only when the options it
// was started with (DIR/config.json) are the ones given now, or on purpose (--resume, --new).
import { existsSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, kebab, type CommandSpec, type Value } from '../options.js';

/** What a run folder's config.json holds: every option's resolved value (a valid --config file). */
export type RecordedOptions = Record<string, Value>;

export type ResumePlan =
  | { mode: 'fresh' }
  | { mode: 'resume'; values: Record<string, Value> }
  /** More epochs or steps than the run was started with: its schedule is rebuilt over the new length. */
  | { mode: 'extend'; values: Record<string, Value>; from: { epochs?: Value; steps?: Value } };

/** Options that set a run's length: changing them extends a run instead of making another one. */
const LENGTH = ['epochs', 'steps'] as const;

/** Files `iris train` writes into a run folder, removed by --new. */
const RUN_FILES = [/^last\.ckpt(\.tmp.*)?$/, /^best\.safetensors$/, /^metrics\.jsonl?$/, /^events\.out\.tfevents\./, /^predictions\.(csv|png)$/, /^(loss|accuracy|confusion_matrix)\.png$/, /^(run|config|splits)\.json$/];

/**
 * Decides how to treat `out`: start fresh (no checkpoint there, or --new), resume (same options),
 * extend (--resume with a larger --epochs/--steps), or refuse, naming each option that differs.
 * `given` holds the options the user gave (flags or --config), `values` all resolved ones.
 */
export function planResume(spec: CommandSpec, out: string, values: Record<string, Value>, given: Set<string>): ResumePlan {
  const checkpoint = join(out, 'last.ckpt');
  if (values.new === true && values.resume === true) throw new UsageError('iris train: --new and --resume contradict each other: --new discards the run in --out, --resume continues it');
  if (values.new === true) {
    if (existsSync(out)) for (const f of readdirSync(out)) if (RUN_FILES.some((p) => p.test(f))) rmSync(join(out, f), { force: true });
    return { mode: 'fresh' };
  }
  if (!existsSync(checkpoint)) {
    if (values.resume === true) throw new UsageError(`iris train --resume: ${out} holds no run to continue (no last.ckpt)`);
    return { mode: 'fresh' };
  }
  const recorded = readRecorded(out);
  if (values.resume === true) {
    // The recorded options, with what the user gave now on top (the run's length, runtime options).
    const merged: Record<string, Value> = {};
    for (const [name, value] of Object.entries(recorded)) if (name in spec.options) merged[name] = value;
    for (const name of given) if (name in values) merged[name] = values[name];
    merged.out = values.out;
    return decide(spec, out, recorded, merged, (name) => given.has(name), true);
  }
  return decide(spec, out, recorded, values, (name) => given.has(name), false);
}

function decide(spec: CommandSpec, out: string, recorded: RecordedOptions, values: Record<string, Value>, wasGiven: (name: string) => boolean, resume: boolean): ResumePlan {
  const names = new Set([...Object.keys(recorded), ...Object.keys(values)].filter((n) => n in spec.options && spec.options[n].runtime !== true && n !== 'preset'));
  const differ = [...names].filter((n) => !LENGTH.includes(n as (typeof LENGTH)[number]) && !same(recorded[n], values[n]));
  const lengths = LENGTH.filter((n) => !same(recorded[n], values[n]));
  const show = (v: Value | undefined) => (v === undefined ? '(not set)' : JSON.stringify(v));
  const lines = [...differ, ...lengths].map((n) => `  --${kebab(n)}: ${show(recorded[n])} in the run, ${show(values[n])} now${wasGiven(n) ? '' : ' (a default)'}`);
  if (differ.length === 0 && lengths.length === 0) return { mode: 'resume', values };
  const shorter = lengths.filter((n) => values[n] !== undefined && (recorded[n] === undefined || Number(values[n]) < Number(recorded[n])));
  if (differ.length === 0 && resume && shorter.length === 0) {
    return { mode: 'extend', values, from: { epochs: recorded.epochs, steps: recorded.steps } };
  }
  const hints = [
    `  iris train --out ${out} --resume${lengths.length && !shorter.length ? ' ' + lengths.map((n) => `--${kebab(n)} ${values[n]}`).join(' ') : ''}    continue that run with its own options${lengths.length && !shorter.length ? ', extended' : ''}`,
    `  add --new                  discard it and start afresh in ${out}`,
    '  or choose another --out',
  ];
  if (shorter.length) lines.push(`  (a run cannot be shortened: ${shorter.map((n) => `--${kebab(n)} ${values[n]}`).join(', ')} is less than it has already been given)`);
  const what = differ.length === 0 && !shorter.length ? 'was started with another length' : 'was started with other options';
  throw new UsageError(`iris train: the run in ${out} ${what}:\n${lines.join('\n')}\nTo go on:\n${hints.join('\n')}`);
}

function same(a: Value | undefined, b: Value | undefined): boolean {
  return a === b || (typeof a === 'number' && typeof b === 'number' && Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b)));
}

function readRecorded(out: string): RecordedOptions {
  const path = join(out, 'config.json');
  if (!existsSync(path)) throw new UsageError(`iris train: ${out} has a checkpoint (last.ckpt) but no config.json to compare options with; add --new to start afresh there, or choose another --out`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RecordedOptions;
  } catch (error) {
    throw new UsageError(`iris train: ${path}: ${(error as Error).message}; add --new to start afresh there`);
  }
}
