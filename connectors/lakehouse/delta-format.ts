/**
 * Registers the `delta` format: `session.read.format('delta')`, `session.readStream.format('delta')`,
 * `writeStream.format('delta')` and `df.write.format('delta')`.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { defaultFormats } from '../../engine/io/format-registry.js';
import type { Offset, ReadLimit, SourceContext, StreamSource } from '../../engine/io/source.js';
import type { Schema } from '../../engine/types/data-type.js';
import { DeltaOptionsError, DeltaTableNotFoundError } from './delta-errors.js';
import { schemaFromDeltaString, nullableSchema } from './delta-schema.js';
import { deltaSinkFromOptions, deltaWriteFromOptions } from './delta-sink.js';
import { deltaScanFromOptions, deltaSourceFromOptions, type DeltaSource } from './delta-source.js';

/** Options the engine adds for every sink; not the Delta connector's. */
const ENGINE_KEYS = new Set(['checkpointlocation', 'deadletterpath', 'path']);

function connectorOptions(options: Readonly<Record<string, string>>, path: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(options)) if (!ENGINE_KEYS.has(k.toLowerCase())) out[k] = v;
  const p = path ?? options['path'];
  if (!p) throw new DeltaOptionsError("The delta format needs a table path: load('lake/t'), save('lake/t') or .option('path', …).");
  out['path'] = p;
  return out;
}

/**
 * The table schema at a version, read synchronously from the JSON commits (the newest `metaData` at or before it),
 * so `load()` can return a DataFrame with its schema at once.
 *
 * @example
 * deltaSchemaSync('lake/sales'); // { fields: [...] }
 */
export function deltaSchemaSync(path: string, versionAsOf?: number): Schema {
  const logDir = join(path, '_delta_log');
  let names: string[];
  try {
    names = readdirSync(logDir);
  } catch {
    if (!existsSync(path)) {
      throw new DeltaTableNotFoundError(
        `Delta table '${path}' does not exist (no folder ${resolve(path)}). Check the path, or create the table first ` +
          `(df.write.format('delta').save('${path}')): a Delta source takes its schema from the table, so it must exist ` +
          `when the query is defined.`,
      );
    }
    throw new DeltaTableNotFoundError(`${path} is not a Delta table (no _delta_log folder). Write one first, or check the path.`);
  }
  const versions = names
    .map((n) => /^(\d{20})\.json$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((v) => versionAsOf === undefined || v <= versionAsOf)
    .sort((a, b) => b - a);
  for (const v of versions) {
    const text = readFileSync(join(logDir, `${String(v).padStart(20, '0')}.json`), 'utf8');
    for (const line of text.split('\n').reverse()) {
      if (!line.includes('"metaData"')) continue;
      const action = JSON.parse(line) as { metaData?: { schemaString?: string } };
      if (action.metaData?.schemaString) return nullableSchema(schemaFromDeltaString(action.metaData.schemaString, path));
    }
  }
  throw new DeltaOptionsError(`Cannot find the schema of Delta table ${path}${versionAsOf !== undefined ? ` at version ${versionAsOf}` : ''} in its JSON commits.`);
}

function project(schema: Schema, columns: string | undefined): Schema {
  if (!columns) return schema;
  const names = columns.trim().startsWith('[') ? (JSON.parse(columns) as string[]) : columns.split(',').map((c) => c.trim());
  return { fields: names.map((n) => schema.fields.find((f) => f.name === n) ?? schema.fields[0]!) };
}

/** A stream source that opens the table when the query starts. */
class LazyDeltaSource implements StreamSource {
  private inner: DeltaSource | null = null;
  constructor(
    readonly schema: Schema,
    private readonly options: Record<string, string>,
  ) {}
  get description(): string {
    return `DeltaSource[${this.options['path']}]`;
  }
  private get src(): DeltaSource {
    if (!this.inner) throw new Error('DeltaSource used before open()');
    return this.inner;
  }
  async open(_ctx: SourceContext): Promise<void> {
    this.inner = await deltaSourceFromOptions(this.options);
  }
  defaultReadLimit(): ReadLimit {
    return this.src.defaultReadLimit();
  }
  latestOffset(start: Offset | null, limit: ReadLimit): Promise<Offset | null> {
    return this.src.latestOffset(start, limit);
  }
  reportLatestOffset(): Offset | null {
    return this.src.reportLatestOffset();
  }
  getBatch(start: Offset | null, end: Offset): AsyncIterable<RecordBatch> {
    return this.src.getBatch(start, end);
  }
  metrics(end: Offset | null): Record<string, string> {
    return this.src.metrics(end);
  }
}

defaultFormats.register({
  name: 'delta',
  batchScan(req) {
    const options = connectorOptions(req.options, req.path);
    const version = options['versionAsOf'] !== undefined ? Number(options['versionAsOf']) : undefined;
    const schema = project(deltaSchemaSync(options['path']!, version), options['columns']);
    return {
      schema,
      description: `DeltaScan[${options['path']}${version !== undefined ? `@v${version}` : ''}]`,
      prunesColumns: true,
      // What it was read with, as a file scan has it: `df.toSpec()` writes the source from these.
      format: { name: 'delta' },
      path: options['path']!,
      options: { ...req.options },
      async *scan(columns?: ReadonlySet<string>) {
        const scan = await deltaScanFromOptions(options);
        yield* scan.scan(columns);
      },
      // A time-travel read is fixed; the newest version changes with each commit (a stream–static join re-reads it).
      ...(version === undefined
        ? {
            async dataVersion() {
              const { DeltaTable } = await import('./delta-table.js');
              return DeltaTable.forPath(options['path']!).version();
            },
          }
        : {}),
    };
  },
  streamSource(req) {
    const options = connectorOptions(req.options, req.path);
    const schema = project(deltaSchemaSync(options['path']!), options['columns']);
    return { schema, description: `DeltaSource[${options['path']}]`, make: () => new LazyDeltaSource(schema, options) };
  },
  streamingSink(req) {
    const options = connectorOptions(req.options, req.path);
    if (req.partitionBy.length > 0) options['partitionBy'] = req.partitionBy.join(',');
    return deltaSinkFromOptions(options);
  },
  async batchWrite(req, _schema, data) {
    const options = connectorOptions(req.options, req.path);
    if (req.partitionBy.length > 0) options['partitionBy'] = req.partitionBy.join(',');
    options['mode'] = req.mode;
    const { table, write } = deltaWriteFromOptions(options);
    await table.write(data.batches, write);
  },
});
