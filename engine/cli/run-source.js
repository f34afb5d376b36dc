#!/usr/bin/env node
// Runs one of sluice's TypeScript entry files the way the sluice command runs its own: bundled once with esbuild, or
// through tsx when esbuild is missing (engine/cli/bundle.js). `npm run demo` is `node engine/cli/run-source.js
// engine/cli/demo.ts`, which starts ~3× faster than `tsx engine/cli/demo.ts`.
import { basename, extname, resolve } from 'node:path';
import { runSource } from './bundle.js';

const entry = process.argv[2];
if (!entry) {
  process.stderr.write('usage: node engine/cli/run-source.js <file.ts> [args…]\n');
  process.exit(2);
}
process.argv.splice(2, 1);
if (!(await runSource(resolve(entry), basename(entry, extname(entry))))) {
  process.stderr.write(`Cannot run ${entry}: neither esbuild nor tsx is installed.\n`);
  process.exit(1);
}
