#!/usr/bin/env node
import { main } from '../dist/src/main.js';

const code = await main(process.argv.slice(2));
// Exit with the command's code even if something (a worker thread, a timer) would keep the
// process alive: a finished or failed command must never hang. Writes to a pipe are asynchronous,
// so stdout and stderr are flushed first (a large --json answer would otherwise be cut short).
const flushed = (stream) => new Promise((resolve) => (stream.writableNeedDrain ? stream.once('drain', resolve) : resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
await new Promise((resolve) => process.stdout.write('', resolve));
process.exit(code);
