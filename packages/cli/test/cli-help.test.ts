// Every command explains itself from its option table: --help lists each option with its
// default, and a bad value is a usage error (exit 2) naming the flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kebab, type CommandSpec } from '../src/options.js';
import { trainSpec, PRESETS } from '../src/commands/train-options.js';
import { spec as evalSpec } from '../src/commands/eval.js';
import { spec as predictSpec } from '../src/commands/predict.js';
import { spec as modelsSpec } from '../src/commands/models.js';
import { spec as benchSpec } from '../src/commands/bench.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'iris.js');
const iris = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });

for (const spec of [trainSpec, evalSpec, predictSpec, modelsSpec, benchSpec] as CommandSpec[]) {
  test(`iris ${spec.name} --help lists every option with its default`, () => {
    const help = iris(spec.name, '--help');
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^usage: iris ${spec.name} `));
    const lines = help.stdout.split('\n');
    for (const [name, option] of Object.entries(spec.options)) {
      const flag = `--${kebab(name)}`;
      const at = lines.findIndex((l) => l.trimStart().startsWith(`${flag} `) || l.trimStart().startsWith(`${flag}[`) || l.trim() === flag);
      assert.ok(at >= 0, `${flag} is missing from iris ${spec.name} --help`);
      // Long flags put their text on the next line.
      const text = lines[at] + (/^\s{10,}\S/.test(lines[at + 1] ?? '') ? lines[at + 1] : '');
      const expected = option.defaultText ?? PRESETS.default[name] ?? option.default;
      if (spec === trainSpec && expected !== undefined) assert.ok(text.includes(`default: ${expected}`), `${flag}: '${text.trim()}' lacks 'default: ${expected}'`);
      else if (option.default !== undefined) assert.ok(text.includes(`default: ${option.default}`), `${flag}: '${text.trim()}' lacks 'default: ${option.default}'`);
      if (spec === trainSpec && name in PRESETS.quick && PRESETS.quick[name] !== expected) assert.ok(text.includes(`quick preset: ${PRESETS.quick[name]}`), `${flag}: '${text.trim()}' lacks the quick preset's value`);
      for (const choice of option.choices ?? []) assert.ok(lines[at].includes(choice), `${flag}: choice ${choice} not shown`);
    }
  });
}

test('iris help train, iris --help and the bash completion come from the same tables', () => {
  assert.equal(iris('help', 'train').stdout, iris('train', '--help').stdout);
  const top = iris('--help');
  assert.equal(top.status, 0);
  for (const name of ['train', 'eval', 'predict', 'models', 'bench']) assert.match(top.stdout, new RegExp(`^  ${name} `, 'm'));
  const completion = iris('completion', 'bash');
  assert.equal(completion.status, 0);
  assert.match(completion.stdout, /complete -o default -F _iris iris/);
  assert.match(completion.stdout, /--batch-size/);
  assert.match(completion.stdout, /--optimizer\) COMPREPLY=\(\$\(compgen -W "sgd adam adamw rmsprop auto"/);
});

test('a bad value is a usage error naming its flag (exit 2)', () => {
  const cases: Array<[string[], RegExp]> = [
    [['train', '--dataset', 'fashion-mnist', '--lr', 'abc'], /--lr abc: expected a number/],
    [['train', '--dataset', 'fashion-mnist', '--lr', '0'], /--lr 0: expected a number > 0/],
    [['train', '--dataset', 'fashion-mnist', '--epochs', '0'], /--epochs 0: expected a whole number >= 1/],
    [['train', '--dataset', 'fashion-mnist', '--batch-size', '12.5'], /--batch-size 12\.5: expected a whole number/],
    [['train', '--dataset', 'fashion-mnist', '--optimizer', 'sgdd'], /--optimizer sgdd: expected one of sgd, adam, adamw, rmsprop/],
    [['train', '--dataset', 'fashion-mnist', '--precision', 'int4'], /--precision int4: expected one of fp32, bf16, fp16/],
    [['train', '--dataset', 'fashion-mnist', '--val-split', '1.5'], /--val-split 1\.5: expected at most 0\.9/],
    [['train', '--dataset', 'fashion-mnist', '--optimzer', 'sgd'], /unknown option --optimzer \(did you mean --optimizer\?\)/],
    [['train', '--dataset', 'fashion-mnist', '--hflip=yes'], /--hflip is a switch/],
    [['train', '--dataset', 'fashion-mnist', '--lr'], /--lr needs a value/],
    [['train'], /--dataset is required/],
    [['predict', 'x.png', '--topk', 'three'], /--topk three: expected a number/],
    [['eval', '--run', 'r', '--split', 'train'], /--split train: expected one of test, validation/],
    [['models', 'list', '--jsn'], /unknown option --jsn \(did you mean --json\?\)/],
    [['bench', 'train-step', '--threads', '-1'], /--threads -1: expected a whole number >= 1/],
  ];
  for (const [args, message] of cases) {
    const run = iris(...args);
    assert.equal(run.status, 2, `iris ${args.join(' ')}: exit ${run.status}, ${run.stderr}`);
    assert.match(run.stderr, message, `iris ${args.join(' ')}`);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('--config files are checked like flags, and flags win over them', () => {
  const root = mkdtempSync(join(tmpdir(), 'iris-config-'));
  const bad = join(root, 'bad.json');
  writeFileSync(bad, JSON.stringify({ dataset: 'fashion-mnist', 'batch-size': 'many' }));
  const refused = iris('train', '--config', bad);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /--batch-size many \(in .*bad\.json\): expected a number/);
  const unknown = join(root, 'unknown.json');
  writeFileSync(unknown, JSON.stringify({ dataset: 'fashion-mnist', learningRate: 0.1 }));
  assert.match(iris('train', '--config', unknown).stderr, /unknown option 'learningRate'/);

  // A run's config.json is a valid --config file; --no-hflip and the flag over the file both land in it.
  const good = join(root, 'good.json');
  writeFileSync(good, JSON.stringify({ dataset: 'fashion-mnist', preset: 'quick', limit: 256, steps: 1, lr: 0.01, threads: 1 }));
  const out = join(root, 'run');
  const run = iris('train', '--config', good, '--lr', '0.002', '--no-hflip', '--out', out);
  assert.equal(run.status, 0, run.stderr);
  const recorded = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(recorded.lr, 0.002);
  assert.equal(recorded.hflip, false);
  assert.equal(recorded.limit, 256);
  assert.equal(recorded.optimizer, 'adamw', 'the preset filled what neither gave');
  const again = iris('train', '--config', join(out, 'config.json'));
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /resumed from/);
});
