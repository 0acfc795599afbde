#!/usr/bin/env node
import { main } from '../dist/src/main.js';

// Exit with the command's code even if something (a worker thread, a timer) would keep the
// process alive: a finished or failed command must never hang.
process.exit(await main(process.argv.slice(2)));
