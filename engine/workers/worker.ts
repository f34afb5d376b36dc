/**
 * A worker thread's entry (run by piscina): it owns one partition of each stateful operator it was given, keyed by
 * `opKey`, and answers `WorkerTask`s. State never moves between threads during a run.
 *
 * @module
 */
import '../physical/partitions/index.js';
import { operatorKind, type KeyedOperator, type KeyedOperatorSpec } from '../physical/partitions/keyed-operator.js';
import { checkTableNames, commitTables, keepPartitionTables, loadTables, purgeTables, snapshotTables } from '../state/keyed-state-io.js';
import type * as PiscinaModule from 'piscina';
import { lazyModule } from '../io/lazy-module.js';
import { fromWire, tablesFromWire, tablesToWire, toWire, wireTransferables, type WireBatch } from './wire.js';
import type { WorkerMessage, WorkerResult, WorkerTask } from './protocol.js';
import { joinBatches } from '../kernels/join-kernel.js';

// The calling thread imports this module for the inline path too: it loads piscina only in a worker (movable).
const piscina = lazyModule<typeof PiscinaModule>('piscina', import.meta.url);

const partitions = new Map<string, { op: KeyedOperator; spec: KeyedOperatorSpec; forceSnapshot: boolean }>();

function get(opKey: string) {
  const p = partitions.get(opKey);
  if (!p) throw new Error(`worker has no partition '${opKey}' (was it initialised?)`);
  return p;
}

/** The operator's map side (a 'map' or 'merge' task reaches only operators that have one). */
function mapSideOf(op: KeyedOperator) {
  if (!op.mapSide) throw new Error('a map-side task reached an operator without a map side');
  return op.mapSide;
}

async function handle(task: WorkerTask): Promise<WorkerResult> {
  switch (task.type) {
    case 'init': {
      const op = await operatorKind(task.spec).create(task.spec);
      checkTableNames(op.tables);
      partitions.set(task.opKey, { op, spec: task.spec, forceSnapshot: false });
      return { type: 'ok' };
    }
    case 'start':
      get(task.opKey).op.startBatch?.(task.info);
      return { type: 'ok' };
    case 'absorb':
      get(task.opKey).op.absorb(fromWire(task.batch), task.seqBase, task.info, task.input);
      return { type: 'ok' };
    case 'map': {
      const { op } = get(task.opKey);
      const side = mapSideOf(op);
      const r = side.partial(fromWire(task.batch), task.seqBase, task.info, task.partitions);
      const main = op.tables[0]!;
      const lateSchema = { fields: main.schema.fields.slice(0, main.keyCount) };
      return {
        type: 'partials',
        partials: r.partials.map((b) => (b ? toWire(b, side.partialSchema) : null)),
        lateKeys: r.lateKeys.map((b) => (b ? toWire(b, lateSchema) : null)),
        lateRows: r.lateRows,
        panes: r.panes === true,
      };
    }
    case 'merge': {
      const side = mapSideOf(get(task.opKey).op);
      side.absorbPartial(task.partial ? fromWire(task.partial) : null, task.lateKeys ? fromWire(task.lateKeys) : null, task.lateRows, task.info, task.panes);
      return { type: 'ok' };
    }
    case 'finish': {
      const { op } = get(task.opKey);
      const { output, metrics } = op.finish(task.info);
      return { type: 'finished', output: output ? toWire(output, op.outputSchema) : null, metrics };
    }
    case 'commit': {
      const p = get(task.opKey);
      await commitTables(p.op, task.dir, task.version, task.snapshot || p.forceSnapshot);
      p.op.onCommit?.(task.version);
      p.forceSnapshot = false;
      return { type: 'ok' };
    }
    case 'restore': {
      const p = get(task.opKey);
      const rows = await loadTables(p.op, task.dirs, task.version, new Set(task.fresh));
      p.op.restore(keepPartitionTables(p.op.tables, rows, task.partition, task.partitions));
      // A restore from another layout, or with new tables, must be followed by a full snapshot in this partition's folder.
      p.forceSnapshot = task.dirs.length !== 1 || task.fresh.length > 0;
      return { type: 'ok' };
    }
    case 'load': {
      const p = get(task.opKey);
      p.op.restore(tablesFromWire(task.tables));
      p.forceSnapshot = true;
      return { type: 'ok' };
    }
    case 'snapshot': {
      const { op } = get(task.opKey);
      return { type: 'tables', tables: tablesToWire(op.tables, snapshotTables(op)) };
    }
    case 'purge': {
      const p = get(task.opKey);
      await purgeTables(p.op.tables, task.dir, task.minVersion);
      return { type: 'ok' };
    }
    case 'drop':
      partitions.delete(task.opKey);
      return { type: 'ok' };
    case 'join': {
      const env = { batchTimestampMs: task.batchTimestampMs };
      const outputs = [...joinBatches(task.spec, [fromWire(task.left)], [fromWire(task.right)], env)].map((b) => toWire(b, task.spec.outputSchema));
      return { type: 'joined', outputs };
    }
  }
}

/** The wire batches a result carries. */
function resultBatches(r: WorkerResult): (WireBatch | null)[] {
  switch (r.type) {
    case 'partials':
      return [...r.partials, ...r.lateKeys];
    case 'finished':
      return [r.output];
    case 'tables':
      return r.tables.map((t) => t.rows);
    case 'joined':
      return [...r.outputs];
    case 'ok':
      return [];
  }
}

/**
 * A result whose batches' buffers move to the calling thread instead of being cloned: piscina transfers what a
 * `Piscina.move`d transferable names and posts its value. The buffers are this worker's fresh copies (`toWire`).
 *
 * @example
 * return movable({ type: 'finished', output: toWire(batch, schema), metrics });
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

