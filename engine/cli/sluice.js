#!/usr/bin/env node
// The sluice command. Runs the CLI from dist/engine/cli/index.js when the package is built and the build is not older than
// the TypeScript sources; otherwise from the sources, bundled (engine/cli/bundle.js) or through tsx when esbuild is
// missing. No child process either way, so signals reach the CLI directly. SLUICE_FROM_SOURCE=1 forces tsx over the
// sources.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { newestSources, root, runSource } from './bundle.js';

const built = join(root, 'dist', 'engine', 'cli', 'index.js');
const source = join(root, 'engine', 'cli', 'index.ts');

function useBuild() {
  if (process.env.SLUICE_FROM_SOURCE === '1' || !existsSync(built)) return false;
  if (!existsSync(source)) return true;
  return newestSources() <= statSync(built).mtimeMs;
}

if (useBuild()) {
  await import(pathToFileURL(built).href);
} else if (!(await runSource(source, 'cli'))) {
  if (existsSync(built)) {
    await import(pathToFileURL(built).href);
    process.exit(process.exitCode ?? 0);
  }
  process.stderr.write('sluice: dist/ is not built and tsx is not installed. Run `npm run build` (or `npm i -D tsx`).\n');
  process.exit(1);
}
