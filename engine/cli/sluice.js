#!/usr/bin/env node
// The sluice command. Runs the CLI from dist/engine/cli/index.js when the package is built and the build is not older than
// the TypeScript sources; otherwise from the sources: bundled once with esbuild into node_modules/.cache/sluice/ (with
// the worker, rebuilt when a source is newer), or through tsx registered in this process when esbuild is missing. No
// child process either way, so signals reach the CLI directly. SLUICE_FROM_SOURCE=1 forces tsx over the sources.
// Through tsx every module is compiled and loaded through tsx's loader: ~1.1 s of CPU more than the bundle per process.
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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

let bundled = null;

function useBuild() {
  if (process.env.SLUICE_FROM_SOURCE === '1' || !existsSync(built)) return false;
  if (!existsSync(source)) return true;
  const builtAt = statSync(built).mtimeMs;
  return !['engine', 'connectors'].some((d) => newestSource(join(root, d)) > builtAt);
}

/**
 * The CLI and the worker bundled from the sources into node_modules/.cache/sluice/ (cli.mjs, worker.mjs: the worker
 * pool finds the worker beside the CLI), rebuilt when a source is newer; null when esbuild is not installed.
 */
function bundle() {
  let esbuild;
  try {
    esbuild = createRequire(import.meta.url)('esbuild');
  } catch {
    return null;
  }
  const outDir = join(root, 'node_modules', '.cache', 'sluice');
  const cli = join(outDir, 'cli.mjs');
  const newest = Math.max(newestSource(join(root, 'engine')), newestSource(join(root, 'connectors')));
  const entries = [
    [source, cli],
    [join(root, 'engine', 'workers', 'worker.ts'), join(outDir, 'worker.mjs')],
  ];
  for (const [from, to] of entries) {
    if (existsSync(to) && statSync(to).mtimeMs >= newest) continue;
    mkdirSync(outDir, { recursive: true });
    const r = esbuild.buildSync({
      entryPoints: [from],
      outfile: to,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      sourcemap: 'linked',
      sourcesContent: false,
      write: false,
      logLevel: 'silent',
    });
    // Written aside and renamed (the map first): processes started together never import a half-written bundle.
    for (const f of [...r.outputFiles].sort((a) => (a.path.endsWith('.map') ? -1 : 1))) {
      const tmp = `${f.path}.${process.pid}.tmp`;
      writeFileSync(tmp, f.contents);
      renameSync(tmp, f.path);
    }
  }
  return cli;
}

if (useBuild()) {
  await import(pathToFileURL(built).href);
} else if (process.env.SLUICE_FROM_SOURCE !== '1' && existsSync(source) && (bundled = bundle()) !== null) {
  // Stack traces (SLUICE_DEBUG=1) name the TypeScript sources, through the bundle's source map.
  if (process.env.SLUICE_DEBUG === '1') process.setSourceMapsEnabled(true);
  await import(pathToFileURL(bundled).href);
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
