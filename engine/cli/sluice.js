#!/usr/bin/env node
// The sluice command. Runs the CLI from dist/engine/cli/index.js when the package is built and the build is not older than
// the TypeScript sources; otherwise from the sources through tsx, registered in this process (no child process, so
// signals reach the CLI directly). SLUICE_FROM_SOURCE=1 forces the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const built = join(root, 'dist', 'engine', 'cli', 'index.js');
const source = join(root, 'engine', 'cli', 'index.ts');

function newestSource(dir) {
  let newest = 0;
  let entries = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function useBuild() {
  if (process.env.SLUICE_FROM_SOURCE === '1' || !existsSync(built)) return false;
  if (!existsSync(source)) return true;
  const builtAt = statSync(built).mtimeMs;
  return !['engine', 'connectors'].some((d) => newestSource(join(root, d)) > builtAt);
}

if (useBuild()) {
  await import(pathToFileURL(built).href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    if (existsSync(built)) {
      await import(pathToFileURL(built).href);
      process.exit(process.exitCode ?? 0);
    }
    process.stderr.write('sluice: dist/ is not built and tsx is not installed. Run `npm run build` (or `npm i -D tsx`).\n');
    process.exit(1);
  }
  register();
  await import(pathToFileURL(source).href);
}
