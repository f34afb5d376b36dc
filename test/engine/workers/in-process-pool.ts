/**
 * A stand-in for `WorkerPool` whose "threads" are separate copies of the worker entry's module graph in this thread
 * (`vi.resetModules`), each with its own partitions and operator-kind registry, as a worker thread has. Tasks and
 * results are structured-cloned as between threads, and failures are mapped as `WorkerPool.run` maps them. It lets
 * tests run a kind defined in a test module (which a real worker thread, running the engine's bundled entry, cannot
 * import) through the worker protocol.
 *
 * @module
 */
import { vi } from 'vitest';
import { workerFailure, type WorkerPool } from '../../../engine/workers/pool.js';
import type { WorkerResult, WorkerTask } from '../../../engine/workers/protocol.js';

type Entry = (message: { task: WorkerTask }) => Promise<WorkerResult>;

/**
 * `size` in-process workers, each a fresh copy of `worker.ts` and of `modules` (imported after it, e.g. a test kind);
 * `setup` sees each copy's modules. `calls` counts the tasks run.
 *
 * @example
 * const pool = await inProcessPool(2, ['./pair-count-kind.js']);
 */
export async function inProcessPool(
  size: number,
  modules: readonly string[],
  setup?: (loaded: Record<string, unknown>[]) => void,
): Promise<WorkerPool & { calls: number }> {
  const entries: Entry[] = [];
  for (let i = 0; i < size; i++) {
    vi.resetModules();
    const worker = (await import('../../../engine/workers/worker.js')) as { default: Entry };
    const loaded: Record<string, unknown>[] = [];
    for (const m of modules) loaded.push((await import(/* @vite-ignore */ new URL(m, import.meta.url).href)) as Record<string, unknown>);
    setup?.(loaded);
    entries.push(worker.default);
  }
  vi.resetModules();
  const { Piscina } = await import('piscina');
  const unwrap = (r: unknown): WorkerResult =>
    (r !== null && typeof r === 'object' && Piscina.valueSymbol in r ? (r as Record<symbol, unknown>)[Piscina.valueSymbol] : r) as WorkerResult;
  let next = 0;
  const pool = {
    size,
    calls: 0,
    async run(index: number, task: WorkerTask): Promise<WorkerResult> {
      pool.calls++;
      try {
        return structuredClone(unwrap(await entries[index]!({ task: structuredClone(task) })));
      } catch (e) {
        throw workerFailure(structuredClone(e), index, task.type);
      }
    },
    runAny(task: WorkerTask): Promise<WorkerResult> {
      return pool.run(next++ % size, task);
    },
    async close(): Promise<void> {},
  };
  return pool as unknown as WorkerPool & { calls: number };
}
