// Shared by the benchmarks: run the PyTorch side, summarise timings, print the ratio.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const PYTHON = process.env.IRIS_PYTHON ?? '/usr/bin/python3';

export function benchDir(): string {
  // Compiled to bench/dist/lib/; the Python scripts stay in bench/.
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/**
 * A PyTorch reference process that stays up between bursts: the benchmark alternates short bursts
 * of Iris and PyTorch, so both sides see the same machine (this 2-core VM's speed drifts by tens
 * of percent over a minute, more than the differences being measured).
 */
export class PythonBench {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly lines: AsyncIterator<string>;
  info: { torch: string; threads: number } = { torch: '', threads: 0 };

  constructor(script: string, args: unknown) {
    this.child = spawn(PYTHON, [join(benchDir(), script), JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  private async next(): Promise<any> {
    const { value, done } = await this.lines.next();
    if (done) throw new Error('the PyTorch benchmark process exited early');
    return JSON.parse(value);
  }

  async ready(): Promise<void> {
    this.info = await this.next();
  }

  async steps(count: number): Promise<number[]> {
    this.child.stdin.write(`steps ${count}\n`);
    return (await this.next()).times;
  }

  /** Any other request a script answers (`${command} ${count}`), its JSON reply as it is. */
  async request(command: string, count: number): Promise<any> {
    this.child.stdin.write(`${command} ${count}\n`);
    return this.next();
  }

  close(): void {
    this.child.stdin.end();
  }
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** `--name=value` flags over `defaults`; a flag's type is its default's (number, boolean, or string). */
export function parseArgs<T extends Record<string, number | boolean | string>>(defaults: T): T;
export function parseArgs(defaults: Record<string, number | boolean | string>): Record<string, number | boolean | string> {
  const out = { ...defaults };
  const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const options = Object.entries(defaults).map(([k, v]) => `--${kebab(k)}=${v}`).join(' ');
  // A usage mistake is a message and exit code 2, not a stack trace.
  const usage = (message: string): never => {
    console.error(`${message}\noptions (with their defaults): ${options}`);
    process.exit(2);
  };
  for (const arg of process.argv.slice(2)) {
    if (arg === '--help' || arg === '-h') {
      console.log(`options (with their defaults): ${options}`);
      process.exit(0);
    }
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(arg);
    if (!m) usage(`unknown argument ${arg}`);
    const key = m![1].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(key in defaults)) usage(`unknown option --${m![1]}`);
    const kind = typeof defaults[key];
    if (kind === 'string' && m![2] === undefined) usage(`--${m![1]} needs a value (--${m![1]}=...)`);
    out[key] = kind === 'string' ? m![2]! : m![2] === undefined ? true : kind === 'number' ? Number(m![2]) : m![2] === 'true';
  }
  return out;
}

export function report(name: string, irisMs: number[], torchMs: number[], extra = ''): void {
  const iris = median(irisMs);
  const ref = median(torchMs);
  console.log(`${name}: Iris ${iris.toFixed(2)} ms, PyTorch ${ref.toFixed(2)} ms (medians) -> ratio Iris/PyTorch ${(iris / ref).toFixed(3)}${extra}`);
}

/**
 * The alternating-burst timing every side-by-side benchmark uses: `rounds` times, `burst` Iris
 * passes of `step` then `burst` passes of the PyTorch process. Returns each side's times in ms.
 */
export async function alternateBursts(step: () => void, reference: PythonBench, options: { rounds: number; burst: number }): Promise<{ iris: number[]; ref: number[] }> {
  const iris: number[] = [];
  const ref: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < options.burst; i++) {
      const t0 = performance.now();
      step();
      iris.push(performance.now() - t0);
    }
    ref.push(...(await reference.steps(options.burst)));
  }
  return { iris, ref };
}
