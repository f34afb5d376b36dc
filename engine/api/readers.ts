/**
 * `session.read` and `session.readStream`: choose a format, give options and a schema, `load()`.
 *
 * @module
 */
import { schemaOf, type Schema, type SchemaSpec } from '../types/data-type.js';
import type { ReadRequest } from '../io/format-registry.js';
import type { DataFrame } from './dataframe.js';
import type { Session } from './session.js';

function optionString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

abstract class ReaderBase<Self> {
  protected fmt: string | null = null;
  protected opts: Record<string, string> = {};
  protected givenSchema: Schema | null = null;

  constructor(protected readonly session: Session) {}

  /** The input format: `jsonl`, `csv`, `parquet`, `arrow`, `delta`, `kafka`, … @example .format('jsonl') */
  format(name: string): Self {
    this.fmt = name;
    return this as unknown as Self;
  }

  /** A format option (values are kept as strings, as Spark). @example .option('header', 'true') */
  option(key: string, value: unknown): Self {
    this.opts[key] = optionString(value);
    return this as unknown as Self;
  }

  /** Several options. @example .options({ mode: 'failFast', delimiter: ';' }) */
  options(o: Record<string, unknown>): Self {
    for (const [k, v] of Object.entries(o)) this.option(k, v);
    return this as unknown as Self;
  }

  /** The schema of the input (otherwise inferred where the format can). @example .schema({ user: 'string', ts: 'timestamp' }) */
  schema(s: SchemaSpec | Schema): Self {
    this.givenSchema = schemaOf(s as SchemaSpec);
    return this as unknown as Self;
  }

  protected request(path?: string): ReadRequest {
    if (!this.fmt) throw new Error("Choose a format first, e.g. session.read.format('jsonl').load(path).");
    return { format: this.fmt, path: path ?? this.opts['path'] ?? null, schema: this.givenSchema, options: { ...this.opts } };
  }
}

/**
 * Reads bounded data into a DataFrame.
 *
 * @example
 * const events = session.read.format('jsonl').schema({ user: 'string', amount: 'double', ts: 'timestamp' }).load('data/events/');
 */
export class DataFrameReader extends ReaderBase<DataFrameReader> {
  /** Builds the DataFrame; a path may be a file, a folder or a glob. @example .load('data/*.csv') */
  load(path?: string): DataFrame {
    const req = this.request(path);
    const scan = this.session.formats.get(req.format, 'batchScan')(req);
    return this.session.relationDataFrame(scan.schema, scan.description, scan);
  }
  /** Shorthand for `format('jsonl').load(path)`. @example session.read.json('a.jsonl') */
  json(path: string): DataFrame {
    return this.format('jsonl').load(path);
  }
  /** Shorthand for `format('csv').load(path)`. @example session.read.csv('a.csv') */
  csv(path: string): DataFrame {
    return this.format('csv').load(path);
  }
  /** Shorthand for `format('parquet').load(path)`. @example session.read.parquet('a.parquet') */
  parquet(path: string): DataFrame {
    return this.format('parquet').load(path);
  }
}

/**
 * Reads unbounded data into a streaming DataFrame.
 *
 * @example
 * const stream = session.readStream.format('jsonl').schema({ user: 'string', ts: 'timestamp' }).load('incoming/');
 */
export class DataStreamReader extends ReaderBase<DataStreamReader> {
  /** Builds the streaming DataFrame. @example .load('incoming/') */
  load(path?: string): DataFrame {
    const req = this.request(path);
    const factory = this.session.formats.get(req.format, 'streamSource')(req);
    return this.session.streamingDataFrame({
      schema: factory.schema,
      description: factory.description,
      sourceKey: factory,
      format: req.format,
      options: { ...req.options, ...(req.path ? { path: req.path } : {}) },
      make: () => factory.make(),
      ...(factory.checkStart ? { checkStart: () => factory.checkStart!() } : {}),
    });
  }
}
