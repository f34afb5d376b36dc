/**
 * `Session`: the entry point (Spark's SparkSession).
 *
 * @module
 */
import { Table, type RecordBatch } from 'apache-arrow';
import { fromArrowSchema, schemaOf, type Schema, type SchemaSpec } from '../types/data-type.js';
import { normalizeRecordBatch } from '../types/normalize.js';
import { batchFromRows, emptyBatch } from '../types/values.js';
import type { BatchScan } from '../io/source.js';
import { defaultFormats, type FormatRegistry, type MemoryTableView } from '../io/format-registry.js';
import type { StreamingRelationNode } from '../logical/plan.js';
import { AnalysisError } from '../logical/resolve-expr.js';
import { SystemClock, type Clock } from '../exec/clock.js';
import { StreamingQueryManager } from '../exec/streaming-query.js';
import { RuntimeConf } from './conf.js';
import { DataFrame } from './dataframe.js';
import { DataFrameReader, DataStreamReader } from './readers.js';
import { DataFrameWriter, DataStreamWriter } from './writers.js';

/** Options of a new session. */
export interface SessionOptions {
  /** Settings, e.g. `{ parallelism: 2, multipleWatermarkPolicy: 'max' }` (Spark's names accepted). */
  readonly conf?: Record<string, unknown>;
  /** The clock of processing-time triggers and batch timestamps (a `ManualClock` in tests). */
  readonly clock?: Clock;
}

/**
 * Reads data, builds DataFrames and runs streaming queries.
 *
 * @example
 * const session = new Session();
 * const df = session.createDataFrame([{ user: 'a', amount: 3 }], { user: 'string', amount: 'double' });
 * await df.groupBy('user').agg(sum('amount')).show();
 */
export class Session {
  readonly conf: RuntimeConf;
  readonly clock: Clock;
  /** Formats this session knows (a copy of the default registry). */
  readonly formats: FormatRegistry;
  /** Running streaming queries and listeners. */
  readonly streams = new StreamingQueryManager();
  private readonly tables = new Map<string, MemoryTableView>();

  constructor(options: SessionOptions = {}) {
    this.conf = new RuntimeConf(options.conf ?? {});
    this.clock = options.clock ?? new SystemClock();
    this.formats = defaultFormats.copy();
  }

  /** Reads bounded data. @example session.read.format('csv').option('header', 'true').load('a.csv') */
  get read(): DataFrameReader {
    return new DataFrameReader(this);
  }

  /** Reads unbounded data. @example session.readStream.format('kafka').option('subscribe', 'orders').load() */
  get readStream(): DataStreamReader {
    return new DataStreamReader(this);
  }

  /**
   * A DataFrame from plain objects (values converted to the schema; timestamps from `Date`, epoch ms or ISO strings)
   * or from Arrow data.
   *
   * @example
   * session.createDataFrame([{ user: 'a', ts: '2026-01-01T00:00:00Z' }], { user: 'string', ts: 'timestamp' });
   */
  createDataFrame(data: readonly Record<string, unknown>[] | Table | readonly RecordBatch[], schema?: SchemaSpec | Schema): DataFrame {
    if (data instanceof Table) return this.createDataFrameFromBatches(data.batches.map(normalizeRecordBatch));
    if (data.length > 0 && typeof (data[0] as RecordBatch).numRows === 'number' && (data[0] as RecordBatch).schema) {
      return this.createDataFrameFromBatches((data as RecordBatch[]).map(normalizeRecordBatch));
    }
    if (!schema) {
      throw new AnalysisError("createDataFrame(rows) needs a schema, e.g. createDataFrame(rows, { user: 'string', amount: 'double' }).");
    }
    const s = schemaOf(schema as SchemaSpec);
    return this.relationDataFrame(s, `LocalRelation (${data.length} rows)`, null, [batchFromRows(data as Record<string, unknown>[], s)]);
  }

  /** A DataFrame over canonical batches (internal and `foreachBatch`). */
  createDataFrameFromBatches(batches: readonly RecordBatch[], schema?: Schema): DataFrame {
    const sch = schema ?? this.schemaOfBatches(batches);
    const rows = batches.reduce((n, b) => n + b.numRows, 0);
    return this.relationDataFrame(sch, `LocalRelation (${rows} rows)`, null, batches.length > 0 ? batches : [emptyBatch(sch)]);
  }

  private schemaOfBatches(batches: readonly RecordBatch[]): Schema {
    if (batches.length === 0) throw new AnalysisError('Cannot build a DataFrame from zero batches without a schema.');
    // Canonical batches: read the sluice schema off the Arrow schema.
    return fromArrowSchema(batches[0]!.schema);
  }

  /** A named in-memory table (a memory sink's output). @example await session.table('counts').collect() */
  table(name: string): DataFrame {
    const view = this.tables.get(name);
    if (!view) {
      throw new AnalysisError(`Table or view '${name}' not found. Known tables: ${[...this.tables.keys()].join(', ') || '(none)'}.`);
    }
    const scan: BatchScan = {
      schema: view.schema,
      description: `MemoryTable[${name}]`,
      async *scan() {
        yield* view.batches();
      },
    };
    return this.relationDataFrame(view.schema, `MemoryTable[${name}]`, scan);
  }

  /** @internal registers a memory table */
  registerTable(name: string, view: MemoryTableView): void {
    this.tables.set(name, view);
  }

  /** @internal a DataFrame over a bounded relation */
  relationDataFrame(schema: Schema, description: string, scan: BatchScan | null, batches?: readonly RecordBatch[]): DataFrame {
    return new DataFrame(this, Object.freeze({ kind: 'relation', schema, description, ...(scan ? { scan } : {}), ...(batches ? { batches } : {}) }));
  }

  /** @internal a DataFrame over a streaming source */
  streamingDataFrame(n: Omit<StreamingRelationNode, 'kind'>): DataFrame {
    return new DataFrame(this, Object.freeze({ kind: 'streamingRelation', ...n }));
  }

  /** @internal */
  newWriter(df: DataFrame): DataFrameWriter {
    return new DataFrameWriter(this, df);
  }

  /** @internal */
  newStreamWriter(df: DataFrame): DataStreamWriter {
    return new DataStreamWriter(this, df);
  }

  /** Stops every streaming query of this session. @example await session.stop() */
  async stop(): Promise<void> {
    await this.streams.stopAll();
  }
}
