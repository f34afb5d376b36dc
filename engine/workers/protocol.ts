/**
 * Every message between the engine and its worker threads, as one typed union. Batches cross as raw column
 * buffers (`WireBatch`: the engine's typed-array columns) whose `ArrayBuffer`s are transferred, never cloned row
 * arrays.
 *
 * @module
 */
import type { BatchInfo, KeyedOperatorSpec, PartitionMetrics } from '../physical/partitions/keyed-operator.js';
import type { JoinSpec } from '../kernels/join-kernel.js';
import type { WireBatch, WireTables } from './wire.js';

/** Test-only: make the worker fail at the next task of a kind (`throw` an error, or `exit` the thread). */
export interface FaultSpec {
  /** The task kind(s) that fail. */
  readonly task: WorkerTask['type'] | readonly WorkerTask['type'][];
  readonly mode: 'throw' | 'exit';
}

export type WorkerTask =
  /** Creates (or replaces) the partition `opKey` owned by this worker, from its registered kind (`operatorKind`). */
  | { readonly type: 'init'; readonly opKey: string; readonly spec: KeyedOperatorSpec }
  | { readonly type: 'start'; readonly opKey: string; readonly info: BatchInfo }
  /** Raw rows of input `input` for this partition (small batches take this route). */
  | { readonly type: 'absorb'; readonly opKey: string; readonly batch: WireBatch; readonly seqBase: number; readonly info: BatchInfo; readonly input: number }
  /**
   * Map side: partial aggregation of a chunk, split by owner. Any worker that holds `opKey` (every worker after
   * `init`) takes it; it leaves the partition's state alone.
   */
  | { readonly type: 'map'; readonly opKey: string; readonly batch: WireBatch; readonly seqBase: number; readonly info: BatchInfo; readonly partitions: number }
  /** Reduce side: one chunk's partial result for this partition. */
  | {
      readonly type: 'merge';
      readonly opKey: string;
      readonly partial: WireBatch | null;
      readonly lateKeys: WireBatch | null;
      readonly lateRows: number;
      readonly info: BatchInfo;
      /** The partial is per (pane, key) (see `PartialResult.panes`). */
      readonly panes: boolean;
    }
  | { readonly type: 'finish'; readonly opKey: string; readonly info: BatchInfo }
  /** Writes state version `version` of every table to partition folder `dir` (see `commitTables`). */
  | { readonly type: 'commit'; readonly opKey: string; readonly dir: string; readonly version: number; readonly snapshot: boolean }
  /**
   * Loads version `version` of every table from the given partition folders, keeping the rows that hash to
   * `partition` of `partitions` (each table by its own partition key columns).
   */
  | {
      readonly type: 'restore';
      readonly opKey: string;
      readonly dirs: readonly string[];
      readonly version: number;
      readonly partition: number;
      readonly partitions: number;
      /** Tables new since the version was written: they start empty (and the next commit writes a full snapshot). */
      readonly fresh: readonly string[];
    }
  /** Loads every table's rows handed over by the engine (state moving from the main thread to workers). */
  | { readonly type: 'load'; readonly opKey: string; readonly tables: WireTables }
  /** Every table's rows of the partition (state moving back to the main thread). */
  | { readonly type: 'snapshot'; readonly opKey: string }
  | { readonly type: 'purge'; readonly opKey: string; readonly dir: string; readonly minVersion: number }
  | { readonly type: 'drop'; readonly opKey: string }
  /** One partition of a batch join (stateless): both sides' rows of the partition, joined by `HashJoiner`. */
  | { readonly type: 'join'; readonly spec: JoinSpec; readonly left: WireBatch; readonly right: WireBatch; readonly batchTimestampMs: number };

export type WorkerResult =
  | { readonly type: 'ok' }
  | { readonly type: 'partials'; readonly partials: (WireBatch | null)[]; readonly lateKeys: (WireBatch | null)[]; readonly lateRows: number; readonly panes: boolean }
  | { readonly type: 'finished'; readonly output: WireBatch | null; readonly metrics: PartitionMetrics }
  | { readonly type: 'tables'; readonly tables: WireTables }
  | { readonly type: 'joined'; readonly outputs: readonly WireBatch[] };

/** A task with its optional test fault. */
export interface WorkerMessage {
  readonly task: WorkerTask;
  readonly fault?: FaultSpec;
}
