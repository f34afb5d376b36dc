/**
 * Reading a Delta table: `DeltaScan` (a `BatchScan` for `session.read`) and `DeltaSource` (a `StreamSource` that
 * tails the table's commits).
 *
 * The source's offset `{ version, index }` is the next data file to read: file `index` of the `add` actions with
 * `dataChange: true` of commit `version`, in commit order. `latestOffset` walks commits forward from the start,
 * taking at most `maxFilesPerTrigger` files; `getBatch(start, end)` reads exactly the files in between. Commits that
 * only rewrite files (`optimize`: `dataChange: false`) add nothing. A commit that removes data (overwrite,
 * `replaceWhere`, delete) stops the stream unless `ignoreDeletes`/`ignoreChanges` is set, as in Spark: the source
 * only appends.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { Schema } from '../../engine/types/data-type.js';
import { padColumns } from '../../engine/types/values.js';
import type { BatchScan, Offset, ReadLimit, StreamSource } from '../../engine/io/source.js';
import type { AddAction } from './delta-actions.js';
import { DeltaOptionsError, DeltaSchemaMismatchError } from './delta-errors.js';
import { parseDeltaOptions } from './delta-options.js';
import type { PartitionPredicate } from './delta-predicate.js';
import { nullableSchema } from './delta-schema.js';
import { DeltaTable } from './delta-table.js';

/** The source's position: the next file to read. */
export type DeltaOffset = {
  readonly version: number;
  readonly index: number;
};

/** Options of `DeltaSource.open`. */
export interface DeltaSourceOptions {
  readonly path: string;
  /** Files per micro-batch at most; default 1000 (Spark's). */
  readonly maxFilesPerTrigger?: number;
  /** First commit to read: a version, or `'latest'` (only commits after the query starts); default 0. */
  readonly startingVersion?: number | 'latest';
  /** Skip commits that remove data instead of failing. */
  readonly ignoreDeletes?: boolean;
  /** Skip removals and read the files such commits add. */
  readonly ignoreChanges?: boolean;
  /** Columns to read; default all. */
  readonly columns?: readonly string[];
}

/** Spark's default `maxFilesPerTrigger`. */
export const DEFAULT_MAX_FILES_PER_TRIGGER = 1000;

/**
 * Tails a Delta table: each micro-batch reads the data files committed since the last one.
 *
 * @example
 * const src = await DeltaSource.open({ path: '/lake/events', maxFilesPerTrigger: 10 });
 * const end = await src.latestOffset(null, src.defaultReadLimit());
 * for await (const b of src.getBatch(null, end!)) rows += b.numRows;
 */
export class DeltaSource implements StreamSource {
  readonly description: string;
  private latestKnown: DeltaOffset | null = null;

  private constructor(
    readonly table: DeltaTable,
    readonly schema: Schema,
    private readonly tableSchema: Schema,
    private readonly schemaString: string,
    private readonly partitionColumns: readonly string[],
    private readonly columns: readonly string[],
    private readonly startVersion: number,
    private readonly options: DeltaSourceOptions,
  ) {
    this.description = `DeltaSource[${table.path}]`;
  }

  /**
   * Opens the table (which must exist: its schema is the source's).
   *
   * @example
   * const src = await DeltaSource.open({ path: '/lake/events', startingVersion: 'latest' });
   */
  static async open(options: DeltaSourceOptions): Promise<DeltaSource> {
    const table = DeltaTable.forPath(options.path);
    const snap = await table.snapshot();
    const columns = options.columns ?? snap.schema.fields.map((f) => f.name);
    for (const c of columns) {
      if (!snap.schema.fields.some((f) => f.name === c)) {
        throw new DeltaOptionsError(`Column '${c}' is not in Delta table '${options.path}' (columns: ${snap.schema.fields.map((f) => f.name).join(', ')}).`);
      }
    }
    const schema = nullableSchema({ fields: columns.map((c) => snap.schema.fields.find((f) => f.name === c)!) });
    const start = options.startingVersion === 'latest' ? snap.version + 1 : options.startingVersion ?? 0;
    if (options.maxFilesPerTrigger !== undefined && (!Number.isInteger(options.maxFilesPerTrigger) || options.maxFilesPerTrigger < 1)) {
      throw new DeltaOptionsError(`maxFilesPerTrigger must be a whole number ≥ 1, got ${options.maxFilesPerTrigger}.`);
    }
    return new DeltaSource(table, schema, snap.schema, snap.metadata.schemaString, snap.partitionColumns, columns, start, options);
  }

  /**
   * `maxFilesPerTrigger` as a read limit.
   *
   * @example
   * src.defaultReadLimit(); // { kind: 'maxFiles', max: 1000 }
   */
  defaultReadLimit(): ReadLimit {
    return { kind: 'maxFiles', max: this.options.maxFilesPerTrigger ?? DEFAULT_MAX_FILES_PER_TRIGGER };
  }

  /**
   * The offset after the next files to read from `start` (at most `limit.max` files for a `maxFiles` limit);
   * `start` itself (null at the beginning) when no new data file was committed.
   *
   * @example
   * await src.latestOffset({ version: 3, index: 0 }, { kind: 'maxFiles', max: 10 }); // { version: 5, index: 0 }
   */
  async latestOffset(start: Offset | null, limit: ReadLimit): Promise<Offset | null> {
    const from = start === null ? { version: this.startVersion, index: 0 } : toOffset(start);
    const latest = await this.table.log.latestVersion();
    let budget = limit.kind === 'maxFiles' ? limit.max : Infinity;
    let version = from.version;
    let index = from.index;
    let taken = 0;
    while (version <= latest && budget > 0) {
      const files = await this.dataFiles(version);
      const remaining = files.length - index;
      if (remaining <= 0) {
        version++;
        index = 0;
        continue;
      }
      const take = Math.min(remaining, budget);
      index += take;
      budget -= take;
      taken += take;
      if (index === files.length) {
        version++;
        index = 0;
      }
    }
    if (taken === 0) return start;
    const end: DeltaOffset = { version, index };
    this.latestKnown = end;
    return end;
  }

  /** The end offset last returned by `latestOffset` (for lag metrics). */
  reportLatestOffset(): Offset | null {
    return this.latestKnown === null ? null : { ...this.latestKnown };
  }

  /**
   * The rows of the data files in `[start, end)`, file by file, partition columns attached. The same range always
   * reads the same files (commits never change), so a re-run batch gets the same rows.
   *
   * @example
   * for await (const b of src.getBatch(prevEnd, end)) rows += b.numRows;
   */
  async *getBatch(start: Offset | null, end: Offset): AsyncGenerator<RecordBatch, void, undefined> {
    const from = start === null ? { version: this.startVersion, index: 0 } : toOffset(start);
    const to = toOffset(end);
    for (let v = from.version; v <= to.version; v++) {
      if (v === to.version && to.index === 0) break;
      const files = await this.dataFiles(v);
      const first = v === from.version ? from.index : 0;
      const last = v === to.version ? Math.min(to.index, files.length) : files.length;
      for (let i = first; i < last; i++) {
        yield* this.table.readFile(files[i]!, this.tableSchema, this.partitionColumns, this.columns);
      }
    }
  }

  /** The table version and file index a batch ended at. */
  metrics(end: Offset | null): Record<string, string> {
    const o = end === null ? null : toOffset(end);
    return o === null ? {} : { version: String(o.version), index: String(o.index) };
  }

  /** The `dataChange` adds of commit `version`, checking it neither removes data nor changes the schema. */
  private async dataFiles(version: number): Promise<readonly AddAction[]> {
    const c = await this.table.log.readCommit(version);
    if (c === null) return [];
    if (c.metaData !== undefined && version > 0 && c.metaData.schemaString !== this.schemaString) {
      throw new DeltaSchemaMismatchError(
        `Delta table '${this.table.path}' changed its schema at version ${version} while a query was reading it as a stream. ` +
          'Restart the query (with a new checkpoint if its logic depends on the columns).',
        [`schema changed at version ${version}`],
      );
    }
    const removesData = c.removes.some((r) => r.dataChange);
    if (removesData && this.options.ignoreChanges !== true) {
      const rewrites = c.adds.some((a) => a.dataChange);
      if (this.options.ignoreDeletes === true && !rewrites) return [];
      failChange(this.table.path, version, rewrites);
    }
    return c.adds.filter((a) => a.dataChange);
  }
}

function failChange(table: string, version: number, rewritten: boolean): never {
  throw new DeltaOptionsError(
    `Delta table '${table}' ${rewritten ? 'rewrote' : 'deleted'} data at version ${version} (overwrite, replaceWhere or delete), ` +
      'and a streaming read only follows appends. Set option ' +
      (rewritten ? "'ignoreChanges' to 'true' to read the rewritten files again (rows may repeat)" : "'ignoreDeletes' to 'true' to skip such commits") +
      ', or restart the stream from a later startingVersion.',
  );
}

function toOffset(o: Offset): DeltaOffset {
  const x = o as { version?: unknown; index?: unknown } | null;
  if (x === null || typeof x !== 'object' || typeof x.version !== 'number' || typeof x.index !== 'number') {
    throw new DeltaOptionsError(`Not a Delta source offset: ${JSON.stringify(o)} (expected { version, index }).`);
  }
  return { version: x.version, index: x.index };
}

/** Options of `DeltaScan`. */
export interface DeltaScanOptions {
  readonly path: string;
  readonly versionAsOf?: number;
  readonly columns?: readonly string[];
  readonly where?: PartitionPredicate;
}

/**
 * A bounded read of a Delta table (a version of it) for `session.read`.
 *
 * @example
 * const scan = await DeltaScan.open({ path: '/lake/events', versionAsOf: 3 });
 * for await (const b of scan.scan()) rows += b.numRows;
 */
export class DeltaScan implements BatchScan {
  readonly description: string;
  readonly prunesColumns = true;

  private constructor(
    readonly table: DeltaTable,
    readonly schema: Schema,
    private readonly options: DeltaScanOptions,
    private readonly version: number,
  ) {
    this.description = `DeltaScan[${table.path}@v${version}]`;
  }

  /**
   * Resolves the version (the newest unless `versionAsOf`) and the schema.
   *
   * @example
   * const scan = await DeltaScan.open({ path: '/lake/events', columns: ['id'] });
   */
  static async open(options: DeltaScanOptions): Promise<DeltaScan> {
    const table = DeltaTable.forPath(options.path);
    const snap = await table.snapshot(options.versionAsOf);
    const columns = options.columns ?? snap.schema.fields.map((f) => f.name);
    const fields = columns.map((c) => {
      const f = snap.schema.fields.find((x) => x.name === c);
      if (f === undefined) {
        throw new DeltaOptionsError(`Column '${c}' is not in Delta table '${options.path}' (columns: ${snap.schema.fields.map((x) => x.name).join(', ')}).`);
      }
      return f;
    });
    return new DeltaScan(table, nullableSchema({ fields }), options, snap.version);
  }

  /**
   * The rows of the resolved version.
   *
   * @example
   * for await (const b of scan.scan()) rows += b.numRows;
   */
  scan(columns?: ReadonlySet<string>): AsyncIterable<RecordBatch> {
    const names = this.schema.fields.map((f) => f.name);
    const keep = columns === undefined ? names : names.filter((n) => columns.has(n.toLowerCase()));
    const read = (cols: readonly string[]) =>
      this.table.read({ versionAsOf: this.version, columns: cols, ...(this.options.where !== undefined ? { where: this.options.where } : {}) });
    if (keep.length === names.length) return read(names);
    // Decode only the columns the query reads (at least one, for the row counts); the others are null columns.
    const cols = keep.length > 0 ? keep : [names[0]!];
    const part: Schema = { fields: this.schema.fields.filter((f) => cols.includes(f.name)) };
    const full = this.schema;
    return (async function* () {
      for await (const b of read(cols)) yield padColumns(b, part, full);
    })();
  }
}

/**
 * A `DeltaScan` from string options (`path`, `versionAsOf`, `columns`, `where`).
 *
 * @example
 * const scan = await deltaScanFromOptions({ path: '/lake/events', versionAsOf: '3' });
 */
export async function deltaScanFromOptions(options: Readonly<Record<string, string>>): Promise<DeltaScan> {
  const o = parseDeltaOptions(options, 'scan');
  return DeltaScan.open({
    path: o.path,
    ...(o.versionAsOf !== undefined ? { versionAsOf: o.versionAsOf } : {}),
    ...(o.columns !== undefined ? { columns: o.columns } : {}),
    ...(o.where !== undefined ? { where: o.where } : {}),
  });
}

/**
 * A `DeltaSource` from string options (`path`, `maxFilesPerTrigger`, `startingVersion`, `ignoreDeletes`,
 * `ignoreChanges`, `columns`).
 *
 * @example
 * const src = await deltaSourceFromOptions({ path: '/lake/events', maxFilesPerTrigger: '10' });
 */
export async function deltaSourceFromOptions(options: Readonly<Record<string, string>>): Promise<DeltaSource> {
  const o = parseDeltaOptions(options, 'source');
  return DeltaSource.open({
    path: o.path,
    ...(o.maxFilesPerTrigger !== undefined ? { maxFilesPerTrigger: o.maxFilesPerTrigger } : {}),
    ...(o.startingVersion !== undefined ? { startingVersion: o.startingVersion } : {}),
    ...(o.ignoreDeletes !== undefined ? { ignoreDeletes: o.ignoreDeletes } : {}),
    ...(o.ignoreChanges !== undefined ? { ignoreChanges: o.ignoreChanges } : {}),
    ...(o.columns !== undefined ? { columns: o.columns } : {}),
  });
}
