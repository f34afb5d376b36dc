/**
 * The worker pool: one single-thread piscina pool per partition, so task `i` always reaches the thread that owns
 * partition `i`'s state (piscina alone would hand a task to any free thread). Map tasks, which hold no state, go to
 * the partitions round-robin.
 *
 * @module
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as PiscinaModule from 'piscina';
import type { Piscina } from 'piscina';
import { lazyModule } from '../io/lazy-module.js';
import type { FaultSpec, WorkerMessage, WorkerResult, WorkerTask } from './protocol.js';
import { EvaluationError } from '../kernels/expr-kernel.js';
import { AnalysisError } from '../logical/resolve-expr.js';
import { CorruptCheckpointError } from '../checkpoint/atomic-file.js';
import { MissingStateError } from '../state/state-store.js';

/** Error classes a worker's error keeps across the thread boundary (by name), so callers can catch them. */
const KNOWN_ERRORS: Record<string, new (message: string) => Error> = {
  EvaluationError,
  AnalysisError,
  CorruptCheckpointError,
  MissingStateError,
};

// Loaded with the first pool: a query that never leaves the calling thread does not load piscina.
const piscina = lazyModule<typeof PiscinaModule>('piscina', import.meta.url);

/** Test hook: the next task of the given kind fails in its worker (thrown error or thread exit). */
export const workerFaults: { next: FaultSpec | null } = { next: null };

/** A worker died or a task failed: the message and stack are the worker's. */
export class WorkerError extends Error {
  override readonly name = 'WorkerError';
}

let bundled: string | null = null;

/** Newest modification time of the engine's TypeScript sources (to know when a worker bundle is stale). */
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
 * The worker's entry file. From the built package: `worker.js`. From TypeScript sources (tests, tsx): a bundle of
 * `worker.ts` made once with esbuild into `node_modules/.cache/sluice/` (a thread then starts in ~100 ms instead of
 * compiling every module through tsx); if esbuild is missing, a bootstrap that registers tsx.
 */
function workerFile(): string {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    const built = fileURLToPath(new URL('./worker.js', here));
    // The CLI bundle (node_modules/.cache/sluice/cli.mjs, made by engine/cli/sluice.js) has the worker's bundle beside it.
    return existsSync(built) ? built : fileURLToPath(new URL('./worker.mjs', here));
  }
  if (bundled) return bundled;
  const src = fileURLToPath(new URL('./worker.ts', here));
  const engineDir = dirname(dirname(src));
  try {
    const require = createRequire(here);
    const esbuild = require('esbuild') as typeof import('esbuild');
    const outDir = join(dirname(engineDir), 'node_modules', '.cache', 'sluice');
    const out = join(outDir, 'worker.mjs');
    if (!existsSync(out) || statSync(out).mtimeMs < newestSource(engineDir)) {
      mkdirSync(outDir, { recursive: true });
      esbuild.buildSync({ entryPoints: [src], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: out, logLevel: 'silent' });
    }
    bundled = out;
  } catch {
    bundled = fileURLToPath(new URL('./worker-bootstrap.mjs', here));
  }
  return bundled;
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

/**
 * The options of each single-thread piscina pool: one long-lived thread, one task at a time, started with
 * `workerExecArgv(process.execArgv)`.
 *
 * @example
 * new Piscina(poolOptions('/path/to/worker.js'));
 */
export function poolOptions(filename: string, execArgv: readonly string[] = process.execArgv) {
  return { filename, minThreads: 1, maxThreads: 1, idleTimeout: 2 ** 31 - 1, concurrentTasksPerWorker: 1, execArgv: workerExecArgv(execArgv) };
}

/**
 * `size` worker threads, each reached by index.
 *
 * @example
 * const pool = new WorkerPool(2);
 * await pool.run(1, { type: 'drop', opKey: 'x' });
 * await pool.destroy();
 */
export class WorkerPool {
  private readonly pools: Piscina[];
  private next = 0;
  private closed = false;

  constructor(readonly size: number) {
    const filename = workerFile();
    const { Piscina: Pool } = piscina();
    this.pools = Array.from(
      { length: size },
      () => new Pool(poolOptions(filename)),
    );
  }

  /** Runs a task on worker `index`. */
  async run(index: number, task: WorkerTask, transfer: ArrayBuffer[] = []): Promise<WorkerResult> {
    if (this.closed) throw new WorkerError('The worker pool is shut down.');
    let fault: FaultSpec | undefined;
    const f = workerFaults.next;
    if (f && (f.task === task.type || (Array.isArray(f.task) && f.task.includes(task.type)))) {
      fault = { task: task.type, mode: f.mode };
      workerFaults.next = null;
    }
    const message: WorkerMessage = fault ? { task, fault } : { task };
    try {
      return (await this.pools[index]!.run(message, { transferList: transfer })) as WorkerResult;
    } catch (e) {
      const err = e as Error;
      // A known error thrown by the worker keeps its class and message; its stack is the worker's.
      const tagged = /^\[(\w+)\] ([\s\S]*)$/.exec(err.message ?? '');
      const Known = tagged ? KNOWN_ERRORS[tagged[1]!] : undefined;
      if (tagged) err.message = tagged[2]!;
      if (Known) {
        const k = new Known(err.message);
        if (err.stack) k.stack = `${err.stack}\n--- in worker ${index} ('${task.type}')`;
        throw k;
      }
      const w = new WorkerError(`Worker ${index} failed in '${task.type}': ${err.message}`, { cause: err });
      if (err.stack) w.stack = `${w.name}: ${w.message}\n--- worker stack ---\n${err.stack}`;
      throw w;
    }
  }

  /** Runs a stateless task on the next worker (round-robin). */
  runAny(task: WorkerTask, transfer: ArrayBuffer[] = []): Promise<WorkerResult> {
    const i = this.next;
    this.next = (this.next + 1) % this.size;
    return this.run(i, task, transfer);
  }

  /** Stops every thread. */
  async destroy(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.pools.map((p) => p.destroy().catch(() => {})));
  }
}
