import type { RecordBatch } from 'apache-arrow';
import type { Schema } from '../types/data-type.js';

/** A source's position: any JSON value the source chooses; stored verbatim in `offsets/N`. */
export type Offset = string | number | boolean | null | readonly Offset[] | { readonly [k: string]: Offset };

/** How much a trigger may read: Spark's ReadLimit. */
export type ReadLimit =
  | { readonly kind: 'all' }
  | { readonly kind: 'maxRows'; readonly max: number }
  | { readonly kind: 'maxFiles'; readonly max: number }
  | {
      readonly kind: 'minRows';
      readonly min: number;
      readonly max?: number;
      /** Run with fewer rows than `min` once this long has passed since the last batch. */
      readonly maxTriggerDelayMs: number;
    };

/** What the executor hands a source when a query starts. */
export interface SourceContext {
  /** `checkpoint/sources/<i>/`: the source's own metadata folder (created). */
  readonly metadataDir: string;
  /** The index of this source in plan order. */
  readonly index: number;
  /** The query's stable id. */
  readonly queryId: string;
}

/**
 * An unbounded input. The executor asks for the latest offset, logs it in `offsets/N` before reading (write-ahead),
 * then reads exactly `(start, end]`. A batch re-run after a crash asks `getBatch` for the same range again and must get
 * the same rows.
 */
export interface StreamSource {
  readonly schema: Schema;
  /** One line shown in progress (`sources[i].description`). */
  readonly description: string;
  /** Called once per run before any other call. */
  open?(ctx: SourceContext): Promise<void>;
  /**
   * The end offset of the next batch when it starts at `start` (null: from the beginning), respecting `limit`;
   * `null` (or `start` itself) when there is nothing new.
   */
  latestOffset(start: Offset | null, limit: ReadLimit): Promise<Offset | null>;
  /** The newest offset the source knows about, ignoring read limits (for lag metrics). */
  reportLatestOffset?(): Offset | null;
  /** The read limit the source's options ask for (e.g. `maxFilesPerTrigger`). */
  defaultReadLimit?(): ReadLimit;
  /** AvailableNow: fix the end of what will be read in this run. */
  prepareForAvailableNow?(): Promise<void>;
  /** The rows in `(start, end]` as batches in the canonical Arrow layout of `schema`. */
  getBatch(start: Offset | null, end: Offset): AsyncIterable<RecordBatch>;
  /** Everything up to `end` is processed and will not be asked for again. */
  commit?(end: Offset): Promise<void>;
  /** Per-batch numbers for progress (`sources[i].metrics`). */
  metrics?(end: Offset | null): Record<string, string>;
  /**
   * For sources that are told of new data (an in-process stream): calls `listener` when data arrives, so a query
   * idling with a `processingTime: 0` trigger starts the next batch at once instead of after `pollingDelayMs`.
   * Returns the unsubscribe function.
   */
  onNewData?(listener: () => void): () => void;
  stop?(): Promise<void>;
}

/** A bounded input for `session.read`: the rows it holds, in the canonical Arrow layout of `schema`. */
/** Lower-cased names of the columns a query reads from a bounded relation, or `all`. */
export type ReadColumns = ReadonlySet<string> | 'all';

export interface BatchScan {
  readonly schema: Schema;
  readonly description: string;
  /** True when `scan` skips decoding columns outside the set it is given (shown by `explain`). */
  readonly prunesColumns?: boolean;
  /**
   * Batches of `schema`. `columns` (lower-cased top-level names) lists what the query reads: a scan may leave every
   * other column null instead of decoding it (positions and types stay those of `schema`). A scan that meets
   * malformed input (the text readers) adds what it reads and finds to `stats`.
   */
  scan(columns?: ReadonlySet<string>, stats?: ScanStats): AsyncIterable<RecordBatch>;
  /**
   * The version of the data the next `scan` reads, for data that changes while a query runs (a Delta table read at
   * its newest version): a stream–static join reads its static side again when it changed. Absent: the data is
   * fixed for the run (read once).
   */
  dataVersion?(): Promise<number>;
}

/**
 * Counts of one read: rows produced, malformed rows met (kept in `_corrupt_record` in permissive mode) and malformed
 * rows dropped (`dropMalformed`).
 *
 * @example
 * const stats: ScanStats = { rows: 0, malformed: 0, dropped: 0 };
 * for await (const b of scan.scan(undefined, stats)) …; stats.malformed;
 */
export interface ScanStats {
  rows: number;
  malformed: number;
  dropped: number;
}
