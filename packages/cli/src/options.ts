// Each command declares its options once (name, type, default, choices, description); parsing,
// validation, `--help`, `--config` files and the run's config.json all come from that table.
// Node's util.parseArgs does the tokenising; this file adds types, defaults and help text.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';

export class UsageError extends Error {}

export type Value = string | number | boolean;

export interface OptionSpec {
  type: 'string' | 'number' | 'integer' | 'boolean';
  description: string;
  default?: Value;
  choices?: readonly string[];
  /** Smallest allowed value of a number; `exclusiveMin` makes it a strict bound. */
  min?: number;
  exclusiveMin?: boolean;
  max?: number;
  /** The value of a bare `--flag` for a string or number option (`--ema` means `--ema 0.999`). */
  implicit?: Value;
  /** The word shown after the flag in --help (e.g. FILE). */
  placeholder?: string;
  /** Does not change what a run computes (threads, output folder): left out when comparing runs. */
  runtime?: boolean;
  /** Only in --help's text: where the default comes from when it is not a constant. */
  defaultText?: string;
}

export type OptionTable = Record<string, OptionSpec>;

export interface CommandSpec {
  name: string;
  /** One line, for `iris --help`. */
  summary: string;
  /** More lines for the command's own --help. */
  description?: string;
  /** Named sets of values that fill options the user did not give (`--preset NAME`); `preset` picks one. */
  presets?: Record<string, Record<string, Value>>;
  /** What comes after `iris NAME` in the usage line, e.g. 'IMAGE|DIR... --run DIR'. */
  usage: string;
  options: OptionTable;
  /** Whether positional arguments are taken (commands with actions, or files). */
  positionals?: boolean;
  examples?: string[];
  /** Extra lines for --help, after the options. */
  notes?: string[];
}

export type Source = 'flag' | 'config' | 'default';

export interface ParsedCommand {
  positional: string[];
  /** Every option of the table that has a value: given, from --config, or its default. */
  values: Record<string, Value>;
  /** Where each value came from. */
  sources: Record<string, Source>;
  help: boolean;
}

export const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (name: string) => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Options every command has. */
const COMMON: OptionTable = {
  config: { type: 'string', placeholder: 'FILE', description: 'read options from a JSON file (a run\'s config.json works); flags win', runtime: true },
  help: { type: 'boolean', description: 'show this help', runtime: true },
};

export function allOptions(spec: CommandSpec): OptionTable {
  return { ...spec.options, ...COMMON };
}

/** Parses `argv` (the words after the command's name) against the command's table. */
export function parseCommand(spec: CommandSpec, argv: string[]): ParsedCommand {
  const table = allOptions(spec);
  const config: Parameters<typeof parseArgs>[0] & { options: Record<string, { type: 'string' | 'boolean' }> } = { args: withImplicitValues(table, argv), options: {}, strict: true, allowPositionals: true };
  for (const [name, option] of Object.entries(table)) {
    config.options[kebab(name)] = { type: option.type === 'boolean' ? 'boolean' : 'string' };
    // util.parseArgs of Node 20 has no negation: declare --no-X for each boolean.
    if (option.type === 'boolean') config.options[`no-${kebab(name)}`] = { type: 'boolean' };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    throw new UsageError(`iris ${spec.name}: ${describeParseError(spec, table, error as Error & { code?: string })}`);
  }
  const values: Record<string, Value> = {};
  const sources: Record<string, Source> = {};
  for (const [flag, raw] of Object.entries(parsed.values)) {
    if (raw === undefined) continue;
    const negated = flag.startsWith('no-') && !(camel(flag) in table);
    const name = camel(negated ? flag.slice(3) : flag);
    values[name] = negated ? false : checkValue(spec, name, table[name], raw as Value);
    sources[name] = 'flag';
  }
  if (typeof values.config === 'string') {
    for (const [name, value] of Object.entries(readConfigFile(spec, table, values.config))) {
      if (name in values) continue;
      values[name] = value;
      sources[name] = 'config';
    }
  }
  for (const [name, option] of Object.entries(table)) {
    if (name in values || option.default === undefined) continue;
    values[name] = option.default;
    sources[name] = 'default';
  }
  const help = values.help === true;
  delete values.help;
  delete sources.help;
  if (!spec.positionals && parsed.positionals.length && !help) {
    throw new UsageError(`iris ${spec.name}: unexpected argument '${parsed.positionals[0]}' (options start with --; see iris ${spec.name} --help)`);
  }
  return { positional: parsed.positionals, values, sources, help };
}

/**
 * A bare `--ema` (no value after it) becomes `--ema=0.999` for options with an implicit value, and
 * `--seed -1` becomes `--seed=-1` (util.parseArgs takes a leading dash for another option).
 */
function withImplicitValues(table: OptionTable, argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const option = arg.startsWith('--') && !arg.includes('=') ? table[camel(arg.slice(2))] : undefined;
    if (!option || option.type === 'boolean') {
      out.push(arg);
      continue;
    }
    const next = argv[i + 1];
    const negativeNumber = next !== undefined && /^-\d/.test(next);
    if (negativeNumber) out.push(`${arg}=${argv[++i]}`);
    else if (option.implicit !== undefined && (next === undefined || next.startsWith('-'))) out.push(`${arg}=${option.implicit}`);
    else out.push(arg);
  }
  return out;
}

function describeParseError(spec: CommandSpec, table: OptionTable, error: Error & { code?: string }): string {
  const flag = /'(--?[^'\s]+)/.exec(error.message)?.[1];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
    const near = closest(flag.replace(/^--?/, ''), Object.keys(table).map(kebab));
    return `unknown option ${flag}${near ? ` (did you mean --${near}?)` : ''}; see iris ${spec.name} --help for the options`;
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    const option = table[camel(flag.replace(/^--?/, ''))];
    return option?.type === 'boolean' ? `${flag} is a switch and takes no value (use ${flag} or --no-${flag.slice(2)})` : `${flag} needs a value${option?.placeholder ? ` (${option.placeholder})` : ''}`;
  }
  return error.message;
}

/** The known name nearest to `name` by edit distance, if it is close enough to be a typo. */
function closest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** Converts and checks one value (a flag's text, or a config file's JSON value). */
export function checkValue(spec: CommandSpec, name: string, option: OptionSpec, raw: Value, origin = ''): Value {
  const where = `iris ${spec.name}: --${kebab(name)} ${String(raw)}${origin}`;
  switch (option.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw new UsageError(`${where}: expected true or false`);
    case 'string': {
      const text = String(raw);
      if (option.choices && !option.choices.includes(text)) throw new UsageError(`${where}: expected one of ${option.choices.join(', ')}`);
      return text;
    }
    case 'number':
    case 'integer': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n)) throw new UsageError(`${where}: expected a number`);
      if (option.type === 'integer' && !Number.isInteger(n)) throw new UsageError(`${where}: expected a whole number${option.min !== undefined ? ` >= ${option.min}` : ''}`);
      if (option.min !== undefined && (option.exclusiveMin ? n <= option.min : n < option.min)) {
        throw new UsageError(`${where}: expected a ${option.type === 'integer' ? 'whole number' : 'number'} ${option.exclusiveMin ? '>' : '>='} ${option.min}`);
      }
      if (option.max !== undefined && n > option.max) throw new UsageError(`${where}: expected at most ${option.max}`);
      return n;
    }
  }
}

/** A JSON object of options, keys in camelCase or kebab-case; each value checked as a flag's would be. */
function readConfigFile(spec: CommandSpec, table: OptionTable, path: string): Record<string, Value> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`iris ${spec.name}: --config ${path}: ${(error as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new UsageError(`iris ${spec.name}: --config ${path}: expected a JSON object of options`);
  const out: Record<string, Value> = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const name = camel(key);
    const option = table[name];
    if (!option || name === 'config' || name === 'help') throw new UsageError(`iris ${spec.name}: --config ${path}: unknown option '${key}'; see iris ${spec.name} --help`);
    if (value === null) continue;
    if (!['string', 'number', 'boolean'].includes(typeof value)) throw new UsageError(`iris ${spec.name}: --config ${path}: '${key}' must be a string, number or boolean`);
    out[name] = checkValue(spec, name, option, value as Value, ` (in ${path})`);
  }
  return out;
}

/** `iris NAME --help`: usage, every option with its type, default and choices. */
export function formatHelp(spec: CommandSpec): string {
  const presets = Object.entries(spec.presets ?? {});
  const defaultPreset = String(spec.options.preset?.default ?? '');
  /** 'default: 0.1; quick preset: 0.004' — the value each preset gives, where it differs from the default. */
  const defaults = (name: string, option: OptionSpec) => {
    const base = option.defaultText ?? spec.presets?.[defaultPreset]?.[name] ?? option.default;
    const value = (values: Record<string, Value>) => (name in values ? values[name] : option.default);
    const others = presets.filter(([p, values]) => p !== defaultPreset && value(values) !== base).map(([p, values]) => `${p} preset: ${value(values) ?? 'none'}`);
    return [base !== undefined ? `default: ${base}` : '', ...others].filter(Boolean).join('; ');
  };
  const rows = Object.entries(allOptions(spec)).map(([name, option]) => {
    const word = option.type === 'boolean' ? '' : ` ${option.placeholder ?? (option.type === 'string' ? (option.choices ? option.choices.join('|') : 'TEXT') : option.type === 'integer' ? 'N' : 'X')}`;
    const flag = `--${kebab(name)}${option.implicit !== undefined ? `[=${word.trim()}]` : word}`;
    const details = [
      defaults(name, option),
      option.type === 'boolean' && option.default === true ? `--no-${kebab(name)} turns it off` : '',
      option.implicit !== undefined ? `bare flag: ${option.implicit}` : '',
    ].filter(Boolean);
    return [flag, `${option.description}${details.length ? ` (${details.join('; ')})` : ''}`];
  });
  const width = Math.min(34, Math.max(...rows.map(([flag]) => flag.length)) + 2);
  const lines = [`usage: iris ${spec.name} ${spec.usage}`, '', spec.summary, ...(spec.description ? [spec.description] : []), '', 'options:'];
  for (const [flag, text] of rows) lines.push(flag.length + 2 > width ? `  ${flag}\n  ${' '.repeat(width)}${text}` : `  ${flag.padEnd(width)}${text}`);
  if (spec.notes?.length) lines.push('', ...spec.notes);
  if (spec.examples?.length) lines.push('', 'examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}
