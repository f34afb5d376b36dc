// Running sluice's TypeScript sources without compiling every module at run time: an entry file (the CLI, the demo)
// is bundled once with esbuild into node_modules/.cache/sluice/<name>.mjs, together with the workers (worker.mjs and
// parquet-decode-worker.mjs: workerEntryFile finds them beside the bundle), and rebuilt when a source is newer. Through tsx every module is compiled
// and loaded through tsx's loader thread: ~2.1 s of CPU to the first batch of a small `sluice run`, ~0.55 s bundled.
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The package's root folder. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Newest modification time of the TypeScript files below `dir` (0 when there are none). */
export function newestSource(dir) {
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

/** Newest modification time of the engine's and connectors' sources. */
export function newestSources() {
  return Math.max(newestSource(join(root, 'engine')), newestSource(join(root, 'connectors')));
}

/**
 * The bundle of `entry` (with the worker's beside it), made or refreshed now; null when esbuild is not installed.
 *
 * @example
 * bundleOf(join(root, 'engine', 'cli', 'index.ts'), 'cli'); // '…/node_modules/.cache/sluice/cli.mjs'
 */
export function bundleOf(entry, name) {
  let esbuild;
  try {
    esbuild = createRequire(import.meta.url)('esbuild');
  } catch {
    return null;
  }
  const outDir = join(root, 'node_modules', '.cache', 'sluice');
  const out = join(outDir, `${name}.mjs`);
  const newest = newestSources();
  for (const [from, to] of [
    [entry, out],
    [join(root, 'engine', 'workers', 'worker.ts'), join(outDir, 'worker.mjs')],
    [join(root, 'connectors', 'parquet', 'parquet-decode-worker.ts'), join(outDir, 'parquet-decode-worker.mjs')],
  ]) {
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
  return out;
}

/**
 * Runs the TypeScript `entry`: from its bundle, or through tsx registered in this process when esbuild is missing or
 * `SLUICE_FROM_SOURCE=1`. In this process either way, so signals reach it directly. False (and nothing ran) when
 * neither esbuild nor tsx is installed.
 *
 * @example
 * await runSource(join(root, 'engine', 'cli', 'demo.ts'), 'demo');
 */
export async function runSource(entry, name) {
  const bundle = process.env.SLUICE_FROM_SOURCE === '1' ? null : bundleOf(entry, name);
  if (bundle !== null) {
    // Stack traces (SLUICE_DEBUG=1) name the TypeScript sources, through the bundle's source map.
    if (process.env.SLUICE_DEBUG === '1') process.setSourceMapsEnabled(true);
    await import(pathToFileURL(bundle).href);
    return true;
  }
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    return false;
  }
  tsx.register();
  await import(pathToFileURL(entry).href);
  return true;
}
