import { availableParallelism } from 'node:os';

/** Settings a session understands, with their defaults. */
export interface SessionConf {
  /** Worker threads for heavy operators (default: the number of cores). */
  parallelism: number;
  /** Run a batch without new data when the watermark moved, to emit and evict (default true). */
  noDataMicroBatches: boolean;
  /** How the watermarks of several inputs combine: 'min' (default, safe) or 'max'. */
  multipleWatermarkPolicy: 'min' | 'max';
  /** Checkpoint log entries and state versions kept (default 100). */
  minBatchesToRetain: number;
  /** Write a full state snapshot every N versions (default 10). */
  stateSnapshotInterval: number;
  /** Idle poll interval of a processing-time-0 trigger, ms (default 10). */
  pollingDelayMs: number;
  /** Minimum rows of a batch before it is split across workers (default 65536). */
  parallelThresholdRows: number;
  /**
   * A streaming query's stateful operator first runs on the calling thread, timed; it moves to the workers only if
   * its batches cost at least this many nanoseconds per input row there (default 150), whole: absorbing the rows,
   * emitting and committing its state, all of which the workers share after the move; handing rows to a worker costs
   * more than a cheaper operator saves. After the move its batches are timed on the workers too: if they cost at
   * least 10 % more per row than the last inline batches did, over a state of about the same size, the state moves
   * back for the rest of the run. 0: move as soon as a batch has `parallelThresholdRows` rows, and stay.
   */
  parallelMinRowNs: number;
  /** Emit an idle progress event at most this often, ms (default 10000). */
  noDataProgressEventIntervalMs: number;
}

const DEFAULTS: SessionConf = {
  parallelism: Math.max(1, availableParallelism()),
  noDataMicroBatches: true,
  multipleWatermarkPolicy: 'min',
  minBatchesToRetain: 100,
  stateSnapshotInterval: 10,
  pollingDelayMs: 10,
  parallelThresholdRows: 65536,
  parallelMinRowNs: 150,
  noDataProgressEventIntervalMs: 10_000,
};

/** Spark's names for the same settings. */
const SPARK_NAMES: Record<string, keyof SessionConf> = {
  'spark.sql.streaming.noDataMicroBatches.enabled': 'noDataMicroBatches',
  'spark.sql.streaming.multipleWatermarkPolicy': 'multipleWatermarkPolicy',
  'spark.sql.streaming.minBatchesToRetain': 'minBatchesToRetain',
  'spark.sql.streaming.stateStore.minDeltasForSnapshot': 'stateSnapshotInterval',
  'spark.sql.streaming.pollingDelay': 'pollingDelayMs',
  'spark.sql.streaming.noDataProgressEventInterval': 'noDataProgressEventIntervalMs',
  'spark.sql.shuffle.partitions': 'parallelism',
};

/** A setting that does not exist or has a value of the wrong kind. */
export class ConfError extends Error {
  override readonly name = 'ConfError';
}

/**
 * A session's settings: `session.conf.set('multipleWatermarkPolicy', 'max')`; Spark's names are accepted too.
 *
 * @example
 * const session = new Session({ conf: { parallelism: 2 } });
 * session.conf.get('noDataMicroBatches'); // true
 */
export class RuntimeConf {
  private readonly values: SessionConf;

  constructor(initial: Partial<Record<string, unknown>> = {}) {
    this.values = { ...DEFAULTS };
    for (const [k, v] of Object.entries(initial)) this.set(k, v);
  }

  /** A setting's value. @example conf.get('parallelism') */
  get<K extends keyof SessionConf>(key: K): SessionConf[K] {
    return this.values[key];
  }

  /** Changes a setting; validates the value. @example conf.set('minBatchesToRetain', 10) */
  set(key: string, value: unknown): this {
    const k = (SPARK_NAMES[key] ?? key) as keyof SessionConf;
    if (!(k in DEFAULTS)) {
      throw new ConfError(`Unknown setting '${key}'. Known settings: ${Object.keys(DEFAULTS).join(', ')}.`);
    }
    const def = DEFAULTS[k];
    let v: unknown = value;
    if (typeof def === 'number') {
      v = typeof value === 'string' ? Number(value.replace(/ms$/, '')) : value;
      const infiniteOk = k === 'parallelThresholdRows' && v === Infinity;
      if (typeof v !== 'number' || (!Number.isFinite(v) && !infiniteOk) || v < (k === 'pollingDelayMs' || k === 'parallelThresholdRows' || k === 'parallelMinRowNs' ? 0 : 1)) {
        throw new ConfError(`Setting '${key}' needs a positive number, got ${JSON.stringify(value)}.`);
      }
      if (k !== 'pollingDelayMs' && !infiniteOk) v = Math.floor(v as number);
    } else if (typeof def === 'boolean') {
      if (value === 'true' || value === 'false') v = value === 'true';
      if (typeof v !== 'boolean') throw new ConfError(`Setting '${key}' needs true or false, got ${JSON.stringify(value)}.`);
    } else if (k === 'multipleWatermarkPolicy') {
      v = String(value).toLowerCase();
      if (v !== 'min' && v !== 'max') {
        throw new ConfError(`multipleWatermarkPolicy must be 'min' or 'max', got ${JSON.stringify(value)}.`);
      }
    }
    (this.values as unknown as Record<string, unknown>)[k] = v;
    return this;
  }

  /** A copy of every setting. @example conf.getAll().parallelism */
  getAll(): SessionConf {
    return { ...this.values };
  }
}
