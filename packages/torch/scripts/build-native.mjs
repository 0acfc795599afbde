// Builds the addon with node-gyp after checking libtorch, so a missing libtorch gives one clear
// message instead of a compiler error.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const check = spawnSync(process.execPath, [join(here, 'libtorch.mjs'), 'check'], { stdio: 'inherit' });
if (check.status !== 0) process.exit(1);
const nodeGyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const jobs = process.env.JOBS ?? 'max';
const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--jobs=${jobs}`], { cwd: pkg, stdio: 'inherit' });
process.exit(r.status ?? 1);
