/**
 * Formats by name: `session.read.format('jsonl')`, `writeStream.format('delta')`. Connectors register providers; the
 * engine only sees the `BatchScan`, `StreamSource` and `StreamingSink` they return.
 *
 * @module
 */
import type { RecordBatch, Table } from 'apache-arrow';
import type { Schema } from '../types/data-type.js';
import type { OutputMode, SaveMode, StreamingSink } from './sink.js';
import type { BatchScan, StreamSource } from './source.js';

/** What `load()` passes a format. */
export interface ReadRequest {
  readonly format: string;
  /** The path given to `load(path)` (or the `path` option). */
  readonly path: string | null;
  /** The schema given with `.schema(…)`, if any. */
  readonly schema: Schema | null;
  readonly options: Readonly<Record<string, string>>;
}

/** What a writer passes a format. */
export interface WriteRequest {
  readonly format: string;
  readonly path: string | null;
  readonly options: Readonly<Record<string, string>>;
  readonly partitionBy: readonly string[];
  /** The schema of the rows the query will write (sinks check their required columns at start). */
  readonly schema?: Schema;
}

/** Services a streaming sink may use (the memory sink registers a table). */
export interface SinkServices {
  readonly queryName: string | null;
  registerTable(name: string, table: MemoryTableView): void;
  /** The checkpoint folder of the query, when it has one. */
  readonly checkpointLocation: string | null;
}

/** A named in-memory result (`session.table(name)`). */
export interface MemoryTableView {
  readonly schema: Schema;
  batches(): readonly RecordBatch[];
}

/** A streaming source and its schema, built once per `load()`; `make` is called once per query run. */
export interface StreamSourceFactory {
  readonly schema: Schema;
  readonly description: string;
  make(): StreamSource;
  /**
   * Throws (a typed error that names the input and the fix) when the source cannot start — its path does not exist —
   * so `start()` refuses the query at once instead of running one that waits forever. Called by every `start()`.
   */
  checkStart?(): void;
}

/** A format: any subset of batch read, stream read, stream write and batch write. */
export interface FormatProvider {
  readonly name: string;
  batchScan?(req: ReadRequest): BatchScan;
  streamSource?(req: ReadRequest): StreamSourceFactory;
  streamingSink?(req: WriteRequest, services: SinkServices, outputMode: OutputMode): StreamingSink;
  batchWrite?(req: WriteRequest & { readonly mode: SaveMode }, schema: Schema, data: Table): Promise<void>;
}

/** A format name nobody registered, or a format used in a direction it does not support. */
export class UnknownFormatError extends Error {
  override readonly name = 'UnknownFormatError';
}

/**
 * A name → provider map.
 *
 * @example
 * registry.register({ name: 'jsonl', batchScan: (req) => … });
 * registry.get('jsonl', 'batchScan');
 */
export class FormatRegistry {
  private readonly providers = new Map<string, FormatProvider>();

  register(p: FormatProvider): void {
    this.providers.set(p.name.toLowerCase(), p);
  }

  get<K extends Exclude<keyof FormatProvider, 'name'>>(name: string, capability: K): NonNullable<FormatProvider[K]> {
    const p = this.providers.get(name.toLowerCase());
    const what: Record<string, string> = {
      batchScan: 'session.read',
      streamSource: 'session.readStream',
      streamingSink: 'writeStream',
      batchWrite: 'df.write',
    };
    const able = [...this.providers.values()].filter((x) => x[capability]).map((x) => `'${x.name}'`);
    if (!p) {
      throw new UnknownFormatError(`Unknown format '${name}'. Formats for ${what[capability]}: ${able.join(', ') || '(none)'}.`);
    }
    const fn = p[capability];
    if (!fn) {
      throw new UnknownFormatError(`Format '${name}' cannot be used with ${what[capability]}. Formats that can: ${able.join(', ')}.`);
    }
    return fn.bind(p) as NonNullable<FormatProvider[K]>;
  }

  names(): string[] {
    return [...this.providers.keys()];
  }

  /** A registry with the same providers (sessions copy the default one). */
  copy(): FormatRegistry {
    const r = new FormatRegistry();
    for (const p of this.providers.values()) r.register(p);
    return r;
  }
}

/** The registry every new session starts from; connectors add themselves to it when imported. */
export const defaultFormats = new FormatRegistry();
