/**
 * Where a worker thread's entry file is, whether sluice runs from its built package or from its TypeScript sources.
 *
 * @module
 */
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where one worker's entry is, relative to the module that starts it. */
export interface WorkerEntrySpec {
  /** `import.meta.url` of the module that starts the worker (it sits beside the worker's entry). */
  readonly here: string;
  /** The entry's file name without extension, e.g. `worker` for `worker.ts` / `worker.js`. */
  readonly name: string;
  /** The folder whose TypeScript sources the bundle is made of (a newer source makes the bundle stale). */
  readonly sourceDir: string;
  /** From sources, when esbuild is missing: a `.mjs` next to the entry that registers tsx and imports it. */
  readonly bootstrap?: string;
}

const bundles = new Map<string, string>();

/** Newest modification time of the TypeScript sources under `dir` (to know when a worker bundle is stale). */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The worker's entry file. From the built package: `<name>.js` (from the CLI's bundle: `<name>.mjs`). From TypeScript sources (tests, tsx): a bundle of
 * `<name>.ts` made once with esbuild into `node_modules/.cache/sluice/` (a thread then starts in ~100 ms instead of
 * compiling every module through tsx); if esbuild is missing, `bootstrap` (which registers tsx).
 *
 * @example
 * const file = workerEntryFile({ here: import.meta.url, name: 'worker', sourceDir: engineDir, bootstrap: 'worker-bootstrap.mjs' });
 * new Worker(file, { execArgv: workerExecArgv(process.execArgv) });
 */
export function workerEntryFile(spec: WorkerEntrySpec): string {
  if (!spec.here.endsWith('.ts')) {
    // The built package has `<name>.js` beside the module; the CLI's bundle (node_modules/.cache/sluice/cli.mjs, made
    // by engine/cli/bundle.js) has the worker's own bundle, `<name>.mjs`, beside it.
    const built = fileURLToPath(new URL(`./${spec.name}.js`, spec.here));
    return existsSync(built) ? built : fileURLToPath(new URL(`./${spec.name}.mjs`, spec.here));
  }
  const src = fileURLToPath(new URL(`./${spec.name}.ts`, spec.here));
  const known = bundles.get(src);
  if (known) return known;
  let entry: string;
  try {
    const require = createRequire(spec.here);
    const esbuild = require('esbuild') as typeof import('esbuild');
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const outDir = join(root, 'node_modules', '.cache', 'sluice');
    const out = join(outDir, `${spec.name}.mjs`);
    if (!existsSync(out) || statSync(out).mtimeMs < newestSource(spec.sourceDir)) {
      mkdirSync(outDir, { recursive: true });
      const built = esbuild.buildSync({ entryPoints: [src], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: out, logLevel: 'silent', write: false });
      // Written whole, then renamed: another process (a parallel test file) may be starting a thread from it.
      const tmp = `${out}.${process.pid}.tmp`;
      writeFileSync(tmp, built.outputFiles[0]!.contents);
      renameSync(tmp, out);
    }
    entry = out;
  } catch (e) {
    if (spec.bootstrap === undefined) throw e;
    entry = fileURLToPath(new URL(`./${spec.bootstrap}`, spec.here));
  }
  bundles.set(src, entry);
  return entry;
}

/** Node flags that load a module before the program: each takes the module as its value. */
const HOOK_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/** Whether a hook flag's module is tsx (`tsx`, `tsx/esm`, or a path inside a tsx package, as tsx's own CLI passes). */
function isTsx(module: string): boolean {
  const m = module.replace(/\\/g, '/');
  return m === 'tsx' || m.startsWith('tsx/') || m.includes('/tsx/');
}

/**
 * The Node flags a worker thread starts with: the parent's, minus the module hooks that load tsx.
 *
 * A worker runs plain JavaScript: the esbuild bundle, the built `worker.js`, or the bootstrap (which registers tsx
 * itself). Inheriting `--import tsx` lets piscina `require()` the worker through tsx's CommonJS hook, which loads
 * apache-arrow's CommonJS build instead of its ES module build and starts a module-hooks thread per worker (q5 at
 * parallelism 2: 2.5–2.6 → 2.8–2.9 M events/s, 6.5 → 5.8–6.0 s of CPU). Other flags (memory limits, `--cpu-prof`, a
 * user's own `--require`) stay.
 *
 * @example
 * workerExecArgv(['--import', 'tsx', '--max-old-space-size=8192']); // ['--max-old-space-size=8192']
 */
export function workerExecArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    if (eq > 0 && HOOK_FLAGS.has(a.slice(0, eq)) && isTsx(a.slice(eq + 1))) continue;
    if (HOOK_FLAGS.has(a) && i + 1 < argv.length && isTsx(argv[i + 1]!)) {
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}
