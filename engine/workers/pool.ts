/**
 * The worker pool: one single-thread piscina pool per partition, so task `i` always reaches the thread that owns
 * partition `i`'s state (piscina alone would hand a task to any free thread). Map tasks, which hold no state, go to
 * the partitions round-robin.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import type * as PiscinaModule from 'piscina';
import type { Piscina } from 'piscina';
import { lazyModule } from '../io/lazy-module.js';
import type { FaultSpec, WorkerMessage, WorkerResult, WorkerTask } from './protocol.js';
import { EvaluationError } from '../kernels/expr-kernel.js';
import { AnalysisError } from '../logical/resolve-expr.js';
import { CorruptCheckpointError } from '../checkpoint/atomic-file.js';
import { MissingStateError } from '../state/state-store.js';
import { workerEntryFile, workerExecArgv } from './worker-entry.js';

export { workerExecArgv };

/** Error classes a worker's error keeps across the thread boundary (by name), so callers can catch them. */
const KNOWN_ERRORS: Record<string, (message: string) => Error> = {
  EvaluationError: (m) => new EvaluationError(m),
  AnalysisError: (m) => new AnalysisError(m),
  CorruptCheckpointError: (m) => new CorruptCheckpointError(m),
  MissingStateError: (m) => new MissingStateError(m),
};

/**
 * Adds an error class that keeps its class across the thread boundary (a module that defines errors a user catches,
 * e.g. an operator kind's): `make` builds it again from the worker's message.
 *
 * @example
 * registerWorkerError('TransformWithStateUserError', (m) => TransformWithStateUserError.fromMessage(m));
 */
export function registerWorkerError(name: string, make: (message: string) => Error): void {
  KNOWN_ERRORS[name] = make;
}

// Loaded with the first pool: a query that never leaves the calling thread does not load piscina.
const piscina = lazyModule<typeof PiscinaModule>('piscina', import.meta.url);

/** Test hook: the next task of the given kind fails in its worker (thrown error or thread exit). */
export const workerFaults: { next: FaultSpec | null } = { next: null };

/** A worker died or a task failed: the message and stack are the worker's. */
export class WorkerError extends Error {
  override readonly name = 'WorkerError';
  /** The class name of the error the worker threw (e.g. `ProcessorNotLoadableError`), or null (a thread that died). */
  workerErrorName: string | null = null;
}

/**
 * The error to throw for a task that failed in worker `index`: a known class (`KNOWN_ERRORS`, by the `[Name]` prefix
 * the worker puts on its messages) keeps its class and message, anything else becomes a `WorkerError` that names the
 * worker's class in `workerErrorName`; the stack is the worker's.
 *
 * @example
 * try { await pool.run(p, task); } catch (e) { throw workerFailure(e, p, task.type); }
 */
export function workerFailure(e: unknown, index: number, taskType: WorkerTask['type']): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  const tagged = /^\[(\w+)\] ([\s\S]*)$/.exec(err.message ?? '');
  const Known = tagged ? KNOWN_ERRORS[tagged[1]!] : undefined;
  if (tagged) err.message = tagged[2]!;
  if (Known) {
    const k = Known(err.message);
    if (err.stack) k.stack = `${err.stack}\n--- in worker ${index} ('${taskType}')`;
    return k;
  }
  const w = new WorkerError(`Worker ${index} failed in '${taskType}': ${err.message}`, { cause: err });
  w.workerErrorName = tagged ? tagged[1]! : null;
  if (err.stack) w.stack = `${w.name}: ${w.message}\n--- worker stack ---\n${err.stack}`;
  return w;
}

/** The worker's entry file: `worker.js` from the built package, a bundle of `worker.ts` from sources. */
function workerFile(): string {
  const engineDir = fileURLToPath(new URL('../', import.meta.url));
  return workerEntryFile({ here: import.meta.url, name: 'worker', sourceDir: engineDir, bootstrap: 'worker-bootstrap.mjs' });
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
      throw workerFailure(e, index, task.type);
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
