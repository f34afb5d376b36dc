/**
 * A worker thread's entry (run by piscina): it owns one partition of each stateful operator it was given, keyed by
 * `opKey`, and answers `WorkerTask`s. State never moves between threads during a run.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { makePartition, type PartitionOperator, type PartitionSpec } from '../physical/partitions/index.js';
import { partitionIds, rowsByPartition } from '../kernels/hash-kernel.js';
import { concatVecs, gatherBatch } from '../kernels/select-kernel.js';
import { StateStore } from '../state/state-store.js';
import { batchFromVecs, columnVec } from '../types/values.js';
import type * as PiscinaModule from 'piscina';
import { lazyModule } from '../io/lazy-module.js';
import { fromWire, toWire, wireTransferables, type WireBatch } from './wire.js';
import type { WorkerMessage, WorkerResult, WorkerTask } from './protocol.js';

// The calling thread imports this module for the inline path too: it loads piscina only in a worker (movable).
const piscina = lazyModule<typeof PiscinaModule>('piscina', import.meta.url);

const partitions = new Map<string, { op: PartitionOperator; spec: PartitionSpec; forceSnapshot: boolean }>();

function get(opKey: string) {
  const p = partitions.get(opKey);
  if (!p) throw new Error(`worker has no partition '${opKey}' (was it initialised?)`);
  return p;
}

/** Rows of `rows` whose partition keys hash to `partition` of `n`. */
export function keepPartition(op: PartitionOperator, rows: RecordBatch | null, partition: number, n: number): RecordBatch | null {
  if (rows === null || rows.numRows === 0) return null;
  if (n <= 1) return rows;
  const schema = op.stateSchema;
  const sel = rowsByPartition(partitionIds(op.partitionKeyColumns.map((c) => columnVec(rows, schema, c)), null, rows.numRows, n), n)[partition]!;
  return sel.length === 0 ? null : gatherBatch(rows, schema, sel);
}

/**
 * Writes state version `version` of one partition to `dir`: its delta (with any recorded eviction), then a full
 * snapshot when `snapshot` is true.
 *
 * @example
 * await commitState(op, 'ckpt/state/0/1', 8, false);
 */
export async function commitState(op: PartitionOperator, dir: string, version: number, snapshot: boolean): Promise<void> {
  const store = new StateStore(dir, op.stateSchema, op.stateKeyCount);
  await store.commit(version, op.takeDelta(), op.takeEviction?.() ?? null);
  if (snapshot) await store.snapshot(version, op.snapshot());
}

/** Loads version `version` of several partition folders into one batch of state rows. */
export async function loadState(op: PartitionOperator, dirs: readonly string[], version: number): Promise<RecordBatch | null> {
  const parts: (RecordBatch | null)[] = [];
  for (const dir of dirs) parts.push(await new StateStore(dir, op.stateSchema, op.stateKeyCount).load(version));
  return concatStateRows(op, parts);
}

/**
 * State rows of several partitions as one batch (null: none).
 *
 * @example
 * op.restore(concatStateRows(op, [rowsOfPartition0, rowsOfPartition1]));
 */
export function concatStateRows(op: PartitionOperator, batches: readonly (RecordBatch | null)[]): RecordBatch | null {
  const parts = batches.filter((b): b is RecordBatch => b !== null && b.numRows > 0);
  if (parts.length === 0) return null;
  if (parts.length === 1) return parts[0]!;
  const schema = op.stateSchema;
  return batchFromVecs(
    schema,
    schema.fields.map((_, i) => concatVecs(parts.map((b) => columnVec(b, schema, i)))),
    parts.reduce((s, b) => s + b.numRows, 0),
  );
}

async function handle(task: WorkerTask): Promise<WorkerResult> {
  switch (task.type) {
    case 'init':
      partitions.set(task.opKey, { op: makePartition(task.spec), spec: task.spec, forceSnapshot: false });
      return { type: 'ok' };
    case 'start':
      get(task.opKey).op.startBatch(task.info);
      return { type: 'ok' };
    case 'absorb':
      get(task.opKey).op.absorb(fromWire(task.batch), task.seqBase, task.info);
      return { type: 'ok' };
    case 'map': {
      const { op } = get(task.opKey);
      const r = op.partial(fromWire(task.batch), task.seqBase, task.info, task.partitions);
      const lateSchema = { fields: op.stateSchema.fields.slice(0, op.stateKeyCount) };
      return {
        type: 'partials',
        partials: r.partials.map((b) => (b ? toWire(b, op.partialSchema) : null)),
        lateKeys: r.lateKeys.map((b) => (b ? toWire(b, lateSchema) : null)),
        lateRows: r.lateRows,
        panes: r.panes === true,
      };
    }
    case 'merge': {
      get(task.opKey).op.absorbPartial(task.partial ? fromWire(task.partial) : null, task.lateKeys ? fromWire(task.lateKeys) : null, task.lateRows, task.info, task.panes);
      return { type: 'ok' };
    }
    case 'finish': {
      const { op } = get(task.opKey);
      const { output, metrics } = op.finish(task.info);
      return { type: 'finished', output: output ? toWire(output, op.outputSchema) : null, metrics };
    }
    case 'commit': {
      const p = get(task.opKey);
      await commitState(p.op, task.dir, task.version, task.snapshot || p.forceSnapshot);
      p.forceSnapshot = false;
      return { type: 'ok' };
    }
    case 'restore': {
      const p = get(task.opKey);
      const rows = await loadState(p.op, task.dirs, task.version);
      p.op.restore(keepPartition(p.op, rows, task.partition, task.partitions));
      // A restore from another layout must be followed by a full snapshot in this partition's folder.
      p.forceSnapshot = task.dirs.length !== 1;
      return { type: 'ok' };
    }
    case 'load': {
      const p = get(task.opKey);
      p.op.restore(task.rows ? fromWire(task.rows) : null);
      p.forceSnapshot = true;
      return { type: 'ok' };
    }
    case 'snapshot': {
      const { op } = get(task.opKey);
      const rows = op.snapshot();
      return { type: 'rows', rows: rows ? toWire(rows, op.stateSchema) : null };
    }
    case 'purge': {
      const p = get(task.opKey);
      await new StateStore(task.dir, p.op.stateSchema, p.op.stateKeyCount).purge(task.minVersion);
      return { type: 'ok' };
    }
    case 'drop':
      partitions.delete(task.opKey);
      return { type: 'ok' };
  }
}

/** The wire batches a result carries. */
function resultBatches(r: WorkerResult): (WireBatch | null)[] {
  switch (r.type) {
    case 'partials':
      return [...r.partials, ...r.lateKeys];
    case 'finished':
      return [r.output];
    case 'rows':
      return [r.rows];
    case 'ok':
      return [];
  }
}

/**
 * A result whose batches' buffers move to the calling thread instead of being cloned: piscina transfers what a
 * `Piscina.move`d transferable names and posts its value. The buffers are this worker's fresh copies (`toWire`).
 *
 * @example
 * return movable({ type: 'rows', rows: toWire(batch, schema) });
 */
export function movable(r: WorkerResult): WorkerResult {
  const buffers = wireTransferables(resultBatches(r));
  if (buffers.length === 0) return r;
  const { Piscina } = piscina();
  return Piscina.move({ [Piscina.transferableSymbol]: buffers, [Piscina.valueSymbol]: r } as never) as unknown as WorkerResult;
}

/** piscina's entry point. */
export default async function run(message: WorkerMessage): Promise<WorkerResult> {
  if (message.fault && message.fault.task === message.task.type) {
    if (message.fault.mode === 'exit') process.exit(3);
    throw new Error(`injected worker fault in '${message.task.type}' (test hook)`);
  }
  try {
    return movable(await handle(message.task));
  } catch (e) {
    // Structured cloning keeps an error's message and stack but not its class: carry the class name in the message.
    const err = e instanceof Error ? e : new Error(String(e));
    const wrapped = new Error(`[${err.name}] ${err.message}`);
    wrapped.stack = err.stack;
    throw wrapped;
  }
}

