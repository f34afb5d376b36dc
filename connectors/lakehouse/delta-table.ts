/**
 * `DeltaTable`: write, read, compact and vacuum a Delta Lake table in a local folder, in a layout DuckDB, delta-rs and
 * Spark read.
 *
 * A write splits rows by partition value (hive-style folders, partition columns left out of the Parquet files),
 * writes `part-<n>-<uuid>.<codec>.parquet` files, then commits one `_delta_log/%020d.json` with their `add` actions
 * (and `remove`s for an overwrite). Until that commit lands the files are invisible, so a write that dies in between
 * leaves only stray files for `vacuum`. Losing the commit race to another writer re-reads the new commits, checks
 * for a logical conflict (`checkConflicts`) and retries on the next version.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  Field as ArrowField,
  RecordBatch,
  Schema as ArrowSchema,
  Struct,
  Table,
  makeData,
  type Data,
} from 'apache-arrow';
import {
  schemaOf,
  schemaToString,
  typeEquals,
  typeToString,
  type DataType,
  type Schema,
} from '../../engine/types/data-type.js';
import { canonicalSchemaOf, normalizeRecordBatch } from '../../engine/types/normalize.js';
import { columnVec } from '../../engine/types/values.js';
import { appendAll } from '../../engine/types/arrays.js';
import { nullData, type Vec } from '../../engine/kernels/vec.js';
import { KeyCodec } from '../../engine/kernels/key-codec.js';
import { GroupTable } from '../../engine/kernels/hash-kernel.js';
import { gatherBatch } from '../../engine/kernels/select-kernel.js';
import type { SaveMode } from '../../engine/io/sink.js';
import { fileStep, writeFileDurably } from '../../engine/io/file-write.js';
import { ParquetError, scanParquetFile, writeParquet, type ParquetCompression } from '../parquet/index.js';
import {
  ENGINE_INFO,
  type AddAction,
  type CommitActions,
  type CommitInfo,
  type MetadataAction,
  type ProtocolAction,
  type RemoveAction,
  type TxnAction,
  serializeCommit,
} from './delta-actions.js';
import { checkConflicts, type TxnIntent } from './delta-conflicts.js';
import {
  DeltaConcurrentModificationError,
  DeltaError,
  DeltaOptionsError,
  DeltaPredicateError,
  DeltaProtocolError,
  DeltaSchemaMismatchError,
  DeltaTableExistsError,
  DeltaTableNotFoundError,
  DeltaVacuumError,
} from './delta-errors.js';
import { DeltaLog, DeltaSnapshot, checkWritable } from './delta-log.js';
import {
  checkPartitionColumns,
  constantColumn,
  encodeLogPath,
  parsePartitionValue,
  partitionDir,
  partitionValueAt,
  resolveLogPath,
  decodeLogPath,
} from './delta-partition.js';
import { describeRowValue, resolvePredicate, type PartitionPredicate, type ResolvedPredicate } from './delta-predicate.js';
import { deltaSchemaString, nullableSchema, schemaDifferences } from './delta-schema.js';
import { StatsCollector } from './delta-stats.js';

/** Rows per Parquet file at most: parquet-wasm's WebAssembly memory never shrinks, so one call stays under ~1M rows. */
export const MAX_ROWS_PER_FILE = 1_000_000;
/** `optimize` compacts files smaller than this into files of about this size (bytes). */
export const DEFAULT_OPTIMIZE_TARGET = 128 * 1024 * 1024;
/** `vacuum` keeps files removed less than this many hours ago unless forced (Delta's default, 7 days). */
export const DEFAULT_RETENTION_HOURS = 168;
/** Commit attempts before giving up on a table with constant contention. */
export const DEFAULT_MAX_COMMIT_ATTEMPTS = 20;

/** Test hooks: throwing from one simulates a crash at that point; awaiting lets another writer commit first. */
export interface DeltaFaults {
  /** Before a data file is created (a crash test can leave a partial file there and stop). */
  beforeDataFile?: (ctx: { readonly table: string; readonly file: string; readonly bytes: Uint8Array }) => void | Promise<void>;
  /** After a write's Parquet files are on disk, before its commit. */
  afterDataWritten?: (ctx: { readonly table: string; readonly files: readonly string[] }) => void | Promise<void>;
  /** Before each attempt to create commit file `version`. */
  beforeCommit?: (ctx: { readonly table: string; readonly version: number; readonly attempt: number }) => void | Promise<void>;
}

/** Faults used by tables opened without their own (crash tests in child processes set these). */
export const defaultDeltaFaults: DeltaFaults = {};

/** Options of `DeltaTable.forPath`. */
export interface DeltaTableOptions {
  readonly faults?: DeltaFaults;
  /** Commit attempts before a `DeltaConcurrentModificationError`; default 20. */
  readonly maxCommitAttempts?: number;
}

/** Options of `DeltaTable.write`. */
export interface DeltaWriteOptions {
  /** Default `'append'`; `'overwrite'` replaces the table (or, with `replaceWhere`, some partitions). */
  readonly mode?: SaveMode;
  /** Partition columns when the write creates the table; on an existing table it must match its partitioning. */
  readonly partitionBy?: readonly string[];
  /** With `mode: 'overwrite'`: replace only the partitions matching this predicate; every new row must match it. */
  readonly replaceWhere?: PartitionPredicate;
  /** Idempotent writes: skipped when the table already holds `version` (or later) of `appId`. */
  readonly txn?: { readonly appId: string; readonly version: number };
  /** Rows per file at most (and never above 1,000,000). */
  readonly maxRecordsPerFile?: number;
  /** Approximate bytes per file, estimated from the data's in-memory size. */
  readonly targetFileSize?: number;
  /** Default `'snappy'`. */
  readonly compression?: ParquetCompression;
  /** `commitInfo.operation`; default `'WRITE'` (the sink uses `'STREAMING UPDATE'`). */
  readonly operation?: string;
  /** Extra `commitInfo.operationParameters`. */
  readonly operationParameters?: Readonly<Record<string, string>>;
  /** The table schema when creating the table (nullability, or a schema for a write without batches). */
  readonly schema?: Schema;
  /** With `mode: 'overwrite'`: replace the schema and partitioning too. */
  readonly overwriteSchema?: boolean;
  /** `metaData.configuration` when the write creates the table. */
  readonly configuration?: Readonly<Record<string, string>>;
}

/** What a write did. */
export interface DeltaWriteResult {
  /** The committed version; null when nothing was committed. */
  readonly version: number | null;
  /** True when the write was skipped (`txn` already committed, or `mode: 'ignore'` on an existing table). */
  readonly skipped: boolean;
  readonly filesAdded: number;
  readonly filesRemoved: number;
  readonly rowsWritten: number;
}

/** Options of `DeltaTable.read`. */
export interface DeltaReadOptions {
  /** Time travel: read this version instead of the newest. */
  readonly versionAsOf?: number;
  /** Columns to return, in this order (partition columns included); default all. */
  readonly columns?: readonly string[];
  /** Only files whose partition values match (partition columns only). */
  readonly where?: PartitionPredicate;
}

/** Options of `DeltaTable.create` / `ensure`. */
export interface DeltaCreateOptions {
  readonly partitionBy?: readonly string[];
  readonly configuration?: Readonly<Record<string, string>>;
  readonly name?: string;
  readonly description?: string;
}

/** Options of `DeltaTable.optimize`. */
export interface DeltaOptimizeOptions {
  /** Only partitions matching this predicate. */
  readonly where?: PartitionPredicate;
  /** Compacted files are about this big, and files this big or bigger are left alone; default 128 MiB. */
  readonly targetFileSize?: number;
  readonly compression?: ParquetCompression;
}

/** What `optimize` did. */
export interface DeltaOptimizeResult {
  readonly version: number | null;
  readonly filesRemoved: number;
  readonly filesAdded: number;
  readonly partitionsOptimized: number;
}

/** Options of `DeltaTable.vacuum`. */
export interface DeltaVacuumOptions {
  /** Files removed from the table less than this long ago are kept; default 168 (7 days). */
  readonly retentionHours?: number;
  /** List what would be deleted without deleting. */
  readonly dryRun?: boolean;
  /** Allow `retentionHours` below 168 (readers of older versions, or writers still running, may lose files). */
  readonly force?: boolean;
}

/** What `vacuum` deleted (or would delete), relative to the table folder. */
export interface DeltaVacuumResult {
  readonly filesDeleted: readonly string[];
  readonly dryRun: boolean;
}

/** One entry of `history()`. */
export interface DeltaHistoryEntry extends Partial<CommitInfo> {
  readonly version: number;
}

interface FileGroup {
  readonly values: Record<string, string | null>;
  readonly batches: RecordBatch[];
  rows: number;
}

interface FileLimits {
  readonly maxRows: number;
  readonly compression: ParquetCompression;
}

const EXT: Record<ParquetCompression, string> = { snappy: '.snappy', zstd: '.zstd', none: '' };

/**
 * A Delta Lake table in a local folder.
 *
 * @example
 * const t = DeltaTable.forPath('/lake/events');
 * await t.write(batches, { mode: 'append', partitionBy: ['date'] });
 */
export class DeltaTable {
  readonly log: DeltaLog;
  private readonly faults: DeltaFaults;
  private readonly maxAttempts: number;

  private constructor(
    readonly path: string,
    options: DeltaTableOptions,
  ) {
    this.log = new DeltaLog(path);
    this.faults = options.faults ?? defaultDeltaFaults;
    this.maxAttempts = options.maxCommitAttempts ?? DEFAULT_MAX_COMMIT_ATTEMPTS;
  }

  /**
   * The table in `path` (which need not exist yet).
   *
   * @example
   * const t = DeltaTable.forPath('/lake/events');
   * if (await t.exists()) console.log(await t.version());
   */
  static forPath(path: string, options: DeltaTableOptions = {}): DeltaTable {
    if (typeof path !== 'string' || path.length === 0) throw new DeltaOptionsError('A Delta table needs a folder path, e.g. "/lake/events".');
    return new DeltaTable(path, options);
  }

  /**
   * Whether the folder holds a Delta table (at least one commit).
   *
   * @example
   * await DeltaTable.forPath('/lake/new').exists(); // false
   */
  async exists(): Promise<boolean> {
    return (await this.log.latestVersion()) >= 0;
  }

  /**
   * The newest version, or -1 when the table does not exist.
   *
   * @example
   * await t.version(); // 3
   */
  async version(): Promise<number> {
    return this.log.latestVersion();
  }

  /**
   * The table at a version (default the newest): protocol, metadata, live files, txn versions.
   *
   * @example
   * (await t.snapshot()).txnVersion(queryId); // last committed batch of a query
   */
  async snapshot(version?: number): Promise<DeltaSnapshot> {
    return this.log.snapshot(version);
  }

  /**
   * The table's schema (partition columns included).
   *
   * @example
   * schemaToString(await t.schema()); // 'id: long, date: date'
   */
  async schema(version?: number): Promise<Schema> {
    return (await this.snapshot(version)).schema;
  }

  /**
   * Creates the table (version 0: `protocol` and `metaData`). Throws `DeltaTableExistsError` if it exists.
   *
   * @example
   * await DeltaTable.forPath('/lake/events').create(schemaOf({ id: 'long', date: 'date' }), { partitionBy: ['date'] });
   */
  async create(schema: Schema, options: DeltaCreateOptions = {}): Promise<DeltaWriteResult> {
    checkPartitionColumns(schema.fields, options.partitionBy ?? [], this.path);
    if (await this.exists()) throw this.existsError();
    const metadata = this.newMetadata(schema, options.partitionBy ?? [], options.configuration ?? {}, undefined, options);
    const version = await this.commit(
      {
        commitInfo: this.commitInfo('CREATE TABLE', { isManaged: 'false', description: options.description ?? '', partitionBy: JSON.stringify(options.partitionBy ?? []), properties: JSON.stringify(options.configuration ?? {}) }, -1, {}, false),
        protocol: PROTOCOL,
        metaData: metadata,
        txns: [],
        removes: [],
        adds: [],
      },
      { table: this.path, operation: 'CREATE TABLE', readVersion: -1, metadata, onExists: 'fail', removes: new Set(), replaces: null, appId: null },
    );
    return { version, skipped: false, filesAdded: 0, filesRemoved: 0, rowsWritten: 0 };
  }

  /**
   * Creates the table if it does not exist; otherwise checks it has this schema and partitioning (throwing
   * `DeltaSchemaMismatchError` listing the differences).
   *
   * @example
   * await t.ensure(schemaOf({ id: 'long', date: 'date' }), { partitionBy: ['date'] });
   */
  async ensure(schema: Schema, options: DeltaCreateOptions = {}): Promise<DeltaSnapshot> {
    if (!(await this.exists())) {
      try {
        await this.create(schema, options);
      } catch (e) {
        if (!(e instanceof DeltaTableExistsError)) throw e;
      }
    }
    const snap = await this.snapshot();
    const diffs = schemaDifferences(snap.schema, schema);
    const wanted = options.partitionBy ?? [];
    if (!sameList(wanted, snap.partitionColumns)) {
      diffs.push(`the table is partitioned by [${snap.partitionColumns.join(', ')}], not [${wanted.join(', ')}]`);
    }
    if (diffs.length > 0) throw this.mismatch(diffs, snap.schema, schema);
    return snap;
  }

  /**
   * Writes batches in one commit. See `DeltaWriteOptions`; returns `{ skipped: true }` when `txn` was already
   * committed or `mode: 'ignore'` finds the table.
   *
   * @example
   * await t.write(batches, { mode: 'append', partitionBy: ['date'] });
   * await t.write(batches, { mode: 'overwrite', replaceWhere: { date: { eq: '2026-05-30' } } });
   * await t.write(batches, { txn: { appId: queryId, version: batchId } }); // exactly once per batch id
   */
  async write(input: readonly RecordBatch[] | Table, options: DeltaWriteOptions = {}): Promise<DeltaWriteResult> {
    const mode = options.mode ?? 'append';
    checkWriteOptions(options, mode);
    const batches = (input instanceof Table ? input.batches : input).map((b) => normalizeRecordBatch(b));
    const snap = await this.trySnapshot();
    if (snap !== null) {
      if (options.txn && snap.txnVersion(options.txn.appId) >= options.txn.version) return skipped();
      if (mode === 'errorIfExists') throw this.existsError();
      if (mode === 'ignore') return skipped();
      checkWritable(snap.protocol, snap.metadata, this.path, snap.version);
      if (mode === 'overwrite' && snap.metadata.configuration['delta.appendOnly'] === 'true') {
        throw new DeltaProtocolError(
          `Delta table '${this.path}' is append-only (delta.appendOnly=true): an overwrite would remove files. Append instead, or unset the property.`,
        );
      }
    }
    const dataSchema = this.dataSchemaOf(batches, options.schema ?? snap?.schema);

    let metadata: MetadataAction | null = null;
    let schema: Schema;
    let partitionColumns: readonly string[];
    if (snap === null || (mode === 'overwrite' && options.overwriteSchema === true)) {
      schema = options.schema ?? dataSchema;
      partitionColumns = options.partitionBy ?? snap?.partitionColumns ?? [];
      const diffs = schemaDifferences(schema, dataSchema);
      if (diffs.length > 0) throw this.mismatch(diffs, schema, dataSchema);
      checkPartitionColumns(schema.fields, partitionColumns, this.path);
      metadata = this.newMetadata(schema, partitionColumns, options.configuration ?? snap?.metadata.configuration ?? {}, snap?.metadata);
    } else {
      schema = snap.schema;
      partitionColumns = snap.partitionColumns;
      const diffs = schemaDifferences(schema, dataSchema);
      if (options.partitionBy !== undefined && !sameList(options.partitionBy, partitionColumns)) {
        diffs.push(`the table is partitioned by [${partitionColumns.join(', ')}] but the write asks for [${options.partitionBy.join(', ')}]`);
      }
      if (diffs.length > 0) throw this.mismatch(diffs, schema, dataSchema);
    }
    const ordered = reorder(batches, dataSchema, schema);
    checkNotNull(ordered, schema, this.path);

    let replaces: ResolvedPredicate | 'all' | null = null;
    if (options.replaceWhere !== undefined) {
      const pred = resolvePredicate(options.replaceWhere, schema, partitionColumns, 'replaceWhere');
      checkRowsMatch(pred, ordered, schema, this.path);
      replaces = pred;
    } else if (mode === 'overwrite') replaces = 'all';

    const adds = await this.writeFiles(ordered, schema, partitionColumns, fileLimits(options, ordered), true);
    const files = adds.map((a) => resolveLogPath(this.path, a.path));
    try {
      await this.faults.afterDataWritten?.({ table: this.path, files });
      const now = Date.now();
      const removes: RemoveAction[] =
        snap === null || replaces === null
          ? []
          : snap.fileList()
              .filter((f) => replaces === 'all' || replaces.matchesPartition(f.partitionValues))
              .map((f) => removeOf(f, now, true));
      const txns: TxnAction[] = options.txn ? [{ appId: options.txn.appId, version: options.txn.version, lastUpdated: now }] : [];
      const rows = ordered.reduce((s, b) => s + b.numRows, 0);
      const operation = options.operation ?? 'WRITE';
      const params: Record<string, string> = {
        mode: MODE_NAMES[mode],
        partitionBy: JSON.stringify(partitionColumns),
        ...(replaces !== null && replaces !== 'all' ? { predicate: JSON.stringify([replaces.toString()]) } : {}),
        ...(options.operationParameters ?? {}),
      };
      const metrics = {
        numFiles: String(adds.length),
        numOutputRows: String(rows),
        numOutputBytes: String(adds.reduce((s, a) => s + a.size, 0)),
        numRemovedFiles: String(removes.length),
      };
      const readVersion = snap?.version ?? -1;
      const actions: CommitActions = {
        commitInfo: this.commitInfo(operation, params, readVersion, metrics, removes.length === 0 && replaces === null),
        protocol: metadata !== null && snap === null ? PROTOCOL : undefined,
        metaData: metadata ?? undefined,
        txns,
        removes,
        adds,
      };
      const intent: TxnIntent = {
        table: this.path,
        operation,
        readVersion,
        metadata: snap === null ? metadata : null,
        onExists: mode === 'errorIfExists' ? 'fail' : mode === 'ignore' ? 'ignore' : 'join',
        removes: new Set(removes.map((r) => r.path)),
        replaces,
        appId: options.txn?.appId ?? null,
      };
      if (metadata !== null && snap !== null) {
        // An overwriteSchema changes the metadata of an existing table: any concurrent commit conflicts.
        const version = await this.commit(actions, { ...intent, replaces: 'all' });
        return { version, skipped: false, filesAdded: adds.length, filesRemoved: removes.length, rowsWritten: rows };
      }
      const version = await this.commit(actions, intent);
      if (version === null) {
        await deleteFiles(files);
        return skipped();
      }
      return { version, skipped: false, filesAdded: adds.length, filesRemoved: removes.length, rowsWritten: rows };
    } catch (e) {
      if (e instanceof DeltaError) await deleteFiles(files);
      throw e;
    }
  }

  /**
   * Deletes the rows of the partitions matching `where`, in one commit (`remove` actions, operation DELETE).
   *
   * @example
   * await t.delete({ where: { date: { lt: '2026-01-01' } } });
   */
  async delete(options: { readonly where: PartitionPredicate }): Promise<DeltaWriteResult> {
    const snap = await this.snapshot();
    checkWritable(snap.protocol, snap.metadata, this.path, snap.version);
    if (snap.metadata.configuration['delta.appendOnly'] === 'true') {
      throw new DeltaProtocolError(`Delta table '${this.path}' is append-only (delta.appendOnly=true): rows cannot be deleted.`);
    }
    const pred = resolvePredicate(options.where, snap.schema, snap.partitionColumns, 'where');
    const now = Date.now();
    const removes = snap.fileList().filter((f) => pred.matchesPartition(f.partitionValues)).map((f) => removeOf(f, now, true));
    if (removes.length === 0) return { version: null, skipped: false, filesAdded: 0, filesRemoved: 0, rowsWritten: 0 };
    const version = await this.commit(
      {
        commitInfo: this.commitInfo('DELETE', { predicate: JSON.stringify([pred.toString()]) }, snap.version, { numRemovedFiles: String(removes.length) }, false),
        txns: [],
        removes,
        adds: [],
      },
      { table: this.path, operation: 'DELETE', readVersion: snap.version, metadata: null, onExists: 'join', removes: new Set(removes.map((r) => r.path)), replaces: pred, appId: null },
    );
    return { version, skipped: false, filesAdded: 0, filesRemoved: removes.length, rowsWritten: 0 };
  }

  /**
   * Reads the table (or an older version) as canonical batches, partition columns re-attached and typed per the table
   * schema, file by file in path order.
   *
   * @example
   * for await (const b of t.read({ columns: ['id', 'date'], where: { date: { eq: '2026-05-30' } } })) total += b.numRows;
   * const old = t.read({ versionAsOf: 3 });
   */
  async *read(options: DeltaReadOptions = {}): AsyncGenerator<RecordBatch, void, undefined> {
    const snap = await this.snapshot(options.versionAsOf);
    const schema = snap.schema;
    const columns = checkColumns(options.columns, schema, this.path);
    const pred = options.where === undefined ? null : resolvePredicate(options.where, schema, snap.partitionColumns, 'where');
    for (const add of snap.fileList()) {
      if (pred !== null && !pred.matchesPartition(add.partitionValues)) continue;
      yield* this.readFile(add, schema, snap.partitionColumns, columns);
    }
  }

  /**
   * Reads one data file of the table as canonical batches with `columns` (partition columns filled from its
   * partition values; columns the file lacks come back null).
   *
   * @example
   * for await (const b of t.readFile(add, snap.schema, snap.partitionColumns, ['id'])) n += b.numRows;
   */
  async *readFile(
    add: AddAction,
    schema: Schema,
    partitionColumns: readonly string[],
    columns: readonly string[],
  ): AsyncGenerator<RecordBatch, void, undefined> {
    const file = resolveLogPath(this.path, add.path);
    const types = columns.map((c) => schema.fields.find((f) => f.name === c)!.type);
    const dataCols = columns.filter((c) => !partitionColumns.includes(c));
    const partValues = new Map<string, ReturnType<typeof parsePartitionValue>>();
    for (let i = 0; i < columns.length; i++) {
      if (partitionColumns.includes(columns[i]!)) {
        partValues.set(columns[i]!, parsePartitionValue(add.partitionValues[columns[i]!], types[i]!, columns[i]!));
      }
    }
    const assemble = (n: number, byName: (c: string, t: DataType) => Data): RecordBatch => {
      const datas = columns.map((c, i) => (partValues.has(c) ? constantColumn(types[i]!, partValues.get(c)!, n) : byName(c, types[i]!)));
      const fields = columns.map((c, i) => new ArrowField(c, datas[i]!.type, true));
      return new RecordBatch(new ArrowSchema(fields), makeData({ type: new Struct(fields), length: n, nullCount: 0, children: datas }));
    };
    if (dataCols.length === 0) {
      const n = numRecordsOf(add);
      if (n !== null) {
        if (n > 0) yield assemble(n, () => nullData('string', 0));
        return;
      }
    }
    const table = this.path;
    // Files written before a column was added (by a writer that evolves schemas) lack it: read what they have.
    let scan = scanParquetFile(file, dataCols.length === 0 ? {} : { columns: dataCols });
    let next: IteratorResult<RecordBatch, void>;
    try {
      next = await scan.next();
    } catch (e) {
      if (!(e instanceof ParquetError && / is not in /.test(e.message))) throw e;
      scan = scanParquetFile(file);
      next = await scan.next();
    }
    try {
      for (; !next.done; next = await scan.next()) yield assembleFile(next.value);
    } finally {
      await scan.return(undefined);
    }
    function assembleFile(b: RecordBatch): RecordBatch {
      const fileSchema = canonicalSchemaOf(b.schema);
      return assemble(b.numRows, (c, t) => {
        const idx = fileSchema.fields.findIndex((f) => f.name === c);
        if (idx < 0) return nullData(t, b.numRows);
        if (!typeEquals(fileSchema.fields[idx]!.type, t)) {
          throw new DeltaSchemaMismatchError(
            `Column '${c}' is ${typeToString(fileSchema.fields[idx]!.type)} in data file '${file}' but ${typeToString(t)} in the schema of Delta table '${table}'. ` +
              'The file was written by another tool with a different type; rewrite it.',
            [`column '${c}' is ${typeToString(fileSchema.fields[idx]!.type)} in '${file}'`],
          );
        }
        return b.data.children[idx]!;
      });
    }
  }

  /**
   * The live data files at a version (default the newest), as paths relative to the table folder (decoded, so
   * `join(table, f)` is the file), sorted.
   *
   * @example
   * await t.files(); // ['date=2026-05-30/part-00000-….snappy.parquet', …]
   */
  async files(version?: number): Promise<string[]> {
    return (await this.snapshot(version)).fileList().map((a) => decodeLogPath(a.path));
  }

  /**
   * The commits' `commitInfo`, newest first.
   *
   * @example
   * (await t.history())[0]; // { version: 3, operation: 'WRITE', operationParameters: { mode: 'Append', … }, … }
   */
  async history(limit?: number): Promise<DeltaHistoryEntry[]> {
    const versions = (await this.log.listVersions()).reverse();
    if (versions.length === 0) throw this.notFound();
    const out: DeltaHistoryEntry[] = [];
    for (const v of limit === undefined ? versions : versions.slice(0, limit)) {
      const c = await this.log.readCommit(v);
      out.push({ ...(c?.commitInfo ?? {}), version: v });
    }
    return out;
  }

  /**
   * Rewrites the small files of each partition (matching `where`) into files of about `targetFileSize`, in one
   * commit (`remove` + `add` with `dataChange: false`, so streaming readers skip it). Rows do not change.
   *
   * @example
   * await t.optimize(); // { filesRemoved: 40, filesAdded: 2, … }
   * await t.optimize({ where: { date: { eq: '2026-05-30' } }, targetFileSize: 64 * 1024 * 1024 });
   */
  async optimize(options: DeltaOptimizeOptions = {}): Promise<DeltaOptimizeResult> {
    const snap = await this.snapshot();
    checkWritable(snap.protocol, snap.metadata, this.path, snap.version);
    const target = options.targetFileSize ?? DEFAULT_OPTIMIZE_TARGET;
    if (!Number.isFinite(target) || target <= 0) throw new DeltaOptionsError(`optimize targetFileSize must be a positive number of bytes, got ${target}.`);
    const pred = options.where === undefined ? null : resolvePredicate(options.where, snap.schema, snap.partitionColumns, 'where');
    const schema = snap.schema;
    const partitionColumns = snap.partitionColumns;
    const dataCols = schema.fields.map((f) => f.name).filter((c) => !partitionColumns.includes(c));
    const dataSchema = schemaOf(dataCols.map((c) => schema.fields.find((f) => f.name === c)!));

    const byPartition = new Map<string, AddAction[]>();
    for (const f of snap.fileList()) {
      if (f.size >= target) continue;
      if (pred !== null && !pred.matchesPartition(f.partitionValues)) continue;
      const key = JSON.stringify(partitionColumns.map((c) => f.partitionValues[c] ?? null));
      let list = byPartition.get(key);
      if (!list) byPartition.set(key, (list = []));
      list.push(f);
    }
    const bins: AddAction[][] = [];
    let partitions = 0;
    for (const files of byPartition.values()) {
      if (files.length < 2) continue;
      let bin: AddAction[] = [];
      let size = 0;
      const before = bins.length;
      for (const f of files) {
        if (bin.length > 0 && size + f.size > target) {
          if (bin.length > 1) bins.push(bin);
          bin = [];
          size = 0;
        }
        bin.push(f);
        size += f.size;
      }
      if (bin.length > 1) bins.push(bin);
      if (bins.length > before) partitions++;
    }
    if (bins.length === 0) return { version: null, filesRemoved: 0, filesAdded: 0, partitionsOptimized: 0 };

    const now = Date.now();
    const adds: AddAction[] = [];
    const removes: RemoveAction[] = [];
    const limits: FileLimits = { maxRows: MAX_ROWS_PER_FILE, compression: options.compression ?? 'snappy' };
    let counter = 0;
    try {
      for (const bin of bins) {
        const values: Record<string, string | null> = {};
        for (const c of partitionColumns) values[c] = bin[0]!.partitionValues[c] ?? null;
        let pending: RecordBatch[] = [];
        let rows = 0;
        for (const f of bin) {
          removes.push(removeOf(f, now, false));
          for await (const b of this.readFile(f, schema, partitionColumns, dataCols)) {
            pending.push(b);
            rows += b.numRows;
            if (rows >= limits.maxRows) {
              appendAll(adds, await this.writeGroup(dataSchema, partitionColumns, { values, batches: pending, rows }, limits, false, counter));
              counter += 1 + Math.floor(rows / limits.maxRows);
              pending = [];
              rows = 0;
            }
          }
        }
        if (rows > 0) {
          appendAll(adds, await this.writeGroup(dataSchema, partitionColumns, { values, batches: pending, rows }, limits, false, counter));
          counter += 1 + Math.floor(rows / limits.maxRows);
        }
      }
      const version = await this.commit(
        {
          commitInfo: this.commitInfo(
            'OPTIMIZE',
            { predicate: JSON.stringify(pred === null ? [] : [pred.toString()]), targetSize: String(target) },
            snap.version,
            { numRemovedFiles: String(removes.length), numAddedFiles: String(adds.length) },
            false,
          ),
          txns: [],
          removes,
          adds,
        },
        { table: this.path, operation: 'OPTIMIZE', readVersion: snap.version, metadata: null, onExists: 'join', removes: new Set(removes.map((r) => r.path)), replaces: null, appId: null },
      );
      return { version, filesRemoved: removes.length, filesAdded: adds.length, partitionsOptimized: partitions };
    } catch (e) {
      await deleteFiles(adds.map((a) => resolveLogPath(this.path, a.path)));
      throw e;
    }
  }

  /**
   * Deletes files in the table folder that no version within the retention period references: files removed more
   * than `retentionHours` ago, and stray files of writes that never committed (once older than the retention).
   * Live files are never deleted. Refuses a retention below 168 hours unless `force: true`.
   *
   * @example
   * await t.vacuum({ dryRun: true }); // { filesDeleted: ['date=2026-01-01/part-…'], dryRun: true }
   * await t.vacuum({ retentionHours: 0, force: true }); // tests only: breaks time travel and running writers
   */
  async vacuum(options: DeltaVacuumOptions = {}): Promise<DeltaVacuumResult> {
    const hours = options.retentionHours ?? DEFAULT_RETENTION_HOURS;
    if (!Number.isFinite(hours) || hours < 0) throw new DeltaOptionsError(`vacuum retentionHours must be a number ≥ 0, got ${hours}.`);
    if (hours < DEFAULT_RETENTION_HOURS && options.force !== true) {
      throw new DeltaVacuumError(
        `vacuum with retentionHours=${hours} on '${this.path}' could delete files that readers of older versions or ` +
          `writers still running need; the minimum is ${DEFAULT_RETENTION_HOURS} hours. Pass { force: true } if no such reader or writer exists.`,
      );
    }
    const snap = await this.snapshot();
    const cutoff = Date.now() - hours * 3_600_000;
    const keep = new Set<string>();
    for (const a of snap.files.values()) keep.add(resolveLogPath(this.path, a.path));
    for (const r of snap.tombstones.values()) {
      if ((r.deletionTimestamp ?? 0) >= cutoff) keep.add(resolveLogPath(this.path, r.path));
    }
    const candidates: string[] = [];
    const dirs: string[] = [];
    await walk(this.path, candidates, dirs);
    const doomed: string[] = [];
    for (const f of candidates) {
      if (keep.has(f)) continue;
      const st = await fs.stat(f).catch(() => null);
      if (st !== null && st.mtimeMs < cutoff) doomed.push(f);
    }
    if (options.dryRun !== true) {
      for (const f of doomed) await fs.unlink(f).catch(() => undefined);
      for (const d of dirs.sort((a, b) => b.length - a.length)) await fs.rmdir(d).catch(() => undefined);
    }
    return { filesDeleted: doomed.map((f) => relative(this.path, f).split(sep).join('/')).sort(), dryRun: options.dryRun === true };
  }

  // -------------------------------------------------------------------------------------------------------------

  private async trySnapshot(): Promise<DeltaSnapshot | null> {
    try {
      return await this.log.snapshot();
    } catch (e) {
      if (e instanceof DeltaTableNotFoundError) return null;
      throw e;
    }
  }

  private dataSchemaOf(batches: readonly RecordBatch[], fallback: Schema | undefined): Schema {
    if (batches.length === 0) {
      if (fallback === undefined) {
        throw new DeltaOptionsError(
          `Writing no batches to '${this.path}', which does not exist yet: pass { schema } so the table can be created.`,
        );
      }
      return nullableSchema(fallback);
    }
    const first = canonicalSchemaOf(batches[0]!.schema);
    batches.forEach((b, i) => {
      const s = canonicalSchemaOf(b.schema);
      const d = schemaDifferences(first, s);
      if (d.length > 0 || s.fields.some((f, j) => f.name !== first.fields[j]!.name)) {
        throw new DeltaSchemaMismatchError(
          `Batch ${i} written to '${this.path}' has columns (${schemaToString(s)}) but batch 0 has (${schemaToString(first)}). One write takes one schema.`,
          d,
        );
      }
    });
    return first;
  }

  private newMetadata(
    schema: Schema,
    partitionColumns: readonly string[],
    configuration: Readonly<Record<string, string>>,
    previous?: MetadataAction,
    create?: DeltaCreateOptions,
  ): MetadataAction {
    return {
      id: previous?.id ?? randomUUID(),
      ...(create?.name !== undefined ? { name: create.name } : {}),
      ...(create?.description !== undefined ? { description: create.description } : {}),
      format: { provider: 'parquet', options: {} },
      schemaString: deltaSchemaString(schema),
      partitionColumns: [...partitionColumns],
      configuration: { ...configuration },
      createdTime: Date.now(),
    };
  }

  private commitInfo(
    operation: string,
    operationParameters: Record<string, string>,
    readVersion: number,
    operationMetrics: Record<string, string>,
    isBlindAppend: boolean,
  ): CommitInfo {
    return {
      timestamp: Date.now(),
      operation,
      operationParameters,
      ...(readVersion >= 0 ? { readVersion } : {}),
      isolationLevel: 'Serializable',
      isBlindAppend,
      operationMetrics,
      engineInfo: ENGINE_INFO,
      txnId: randomUUID(),
    };
  }

  /**
   * Commits `actions` at `intent.readVersion + 1`, or, after losing races without a logical conflict, at the first
   * free version. Returns the version, or null when the table appeared meanwhile and `intent.onExists` is `'ignore'`.
   */
  private async commit(actions: CommitActions, intent: TxnIntent): Promise<number | null> {
    let version = intent.readVersion + 1;
    let current = actions;
    let checkedUpTo = intent.readVersion;
    for (let attempt = 0; ; attempt++) {
      await this.faults.beforeCommit?.({ table: this.path, version, attempt });
      if (await this.log.tryCommit(version, serializeCommit(current))) return version;
      const latest = await this.log.latestVersion();
      if (attempt + 1 >= this.maxAttempts) {
        throw new DeltaConcurrentModificationError(
          `Gave up committing ${intent.operation} to Delta table '${this.path}' after ${this.maxAttempts} attempts: other writers took every version up to ${latest}. ` +
            'Retry later, or reduce the number of concurrent writers.',
          latest,
        );
      }
      const winners = [];
      for (let v = checkedUpTo + 1; v <= latest; v++) {
        const c = await this.log.readCommit(v);
        if (c !== null) winners.push(c);
      }
      const decision = checkConflicts(intent, winners);
      if (decision.kind === 'exists') {
        if (intent.onExists === 'ignore') return null;
        throw this.existsError();
      }
      if (decision.kind === 'conflict') {
        throw new DeltaConcurrentModificationError(
          `Cannot commit ${intent.operation} to Delta table '${this.path}': ${decision.reason}.`,
          decision.version,
        );
      }
      if (decision.dropMetadata) {
        current = { ...current, protocol: undefined, metaData: undefined };
        intent = { ...intent, metadata: null };
      }
      checkedUpTo = latest;
      version = latest + 1;
    }
  }

  /** Splits rows by partition and writes the data files; returns their `add` actions. */
  private async writeFiles(
    batches: readonly RecordBatch[],
    schema: Schema,
    partitionColumns: readonly string[],
    limits: FileLimits,
    dataChange: boolean,
  ): Promise<AddAction[]> {
    const dataIdx: number[] = [];
    const partIdx: number[] = [];
    schema.fields.forEach((f, i) => (partitionColumns.includes(f.name) ? partIdx : dataIdx).push(i));
    // Partition columns are in table order in the schema but in `partitionColumns` order in paths and keys.
    const keyIdx = partitionColumns.map((c) => schema.fields.findIndex((f) => f.name === c));
    const dataSchema = schemaOf(dataIdx.map((i) => schema.fields[i]!));
    const groups = splitByPartition(batches, schema, partitionColumns, keyIdx, dataIdx, dataSchema);
    const adds: AddAction[] = [];
    let counter = 0;
    for (const g of groups) {
      const written = await this.writeGroup(dataSchema, partitionColumns, g, limits, dataChange, counter);
      counter += written.length;
      appendAll(adds, written);
    }
    return adds;
  }

  /** Writes one partition's batches as one or more files of at most `limits.maxRows` rows. */
  private async writeGroup(
    dataSchema: Schema,
    partitionColumns: readonly string[],
    group: FileGroup,
    limits: FileLimits,
    dataChange: boolean,
    firstIndex: number,
  ): Promise<AddAction[]> {
    const dir = partitionDir(partitionColumns, group.values);
    const out: AddAction[] = [];
    let pending: RecordBatch[] = [];
    let rows = 0;
    const flush = async (): Promise<void> => {
      if (rows === 0) return;
      const stats = new StatsCollector(dataSchema);
      for (const b of pending) stats.add(b);
      const bytes = writeParquet(pending, { compression: limits.compression, schema: dataSchema });
      const name = `part-${String(firstIndex + out.length).padStart(5, '0')}-${randomUUID()}${EXT[limits.compression]}.parquet`;
      const rel = dir === '' ? name : `${dir}/${name}`;
      const abs = join(this.path, ...rel.split('/'));
      await fileStep('create folder', dirname(abs), () => fs.mkdir(dirname(abs), { recursive: true }), abs);
      await this.faults.beforeDataFile?.({ table: this.path, file: abs, bytes });
      // Durable before the commit that makes it visible references it.
      await writeFileDurably(abs, bytes);
      out.push({
        path: encodeLogPath(rel),
        partitionValues: { ...group.values },
        size: bytes.length,
        modificationTime: Date.now(),
        dataChange,
        stats: stats.toJson(),
      });
      pending = [];
      rows = 0;
    };
    for (const b of group.batches) {
      let start = 0;
      while (start < b.numRows) {
        const take = Math.min(b.numRows - start, limits.maxRows - rows);
        pending.push(start === 0 && take === b.numRows ? b : rowRange(b, dataSchema, start, take));
        rows += take;
        start += take;
        if (rows >= limits.maxRows) await flush();
      }
    }
    await flush();
    return out;
  }

  private existsError(): DeltaTableExistsError {
    return new DeltaTableExistsError(
      `Delta table '${this.path}' already exists. Use mode 'append' or 'overwrite' to write to it, or 'ignore' to leave it as is.`,
    );
  }

  private notFound(): DeltaTableNotFoundError {
    return new DeltaTableNotFoundError(`'${this.path}' is not a Delta table: it has no _delta_log/ commits.`);
  }

  private mismatch(diffs: readonly string[], table: Schema, data: Schema): DeltaSchemaMismatchError {
    return new DeltaSchemaMismatchError(
      `The data does not match the schema of Delta table '${this.path}':\n  - ${diffs.join('\n  - ')}\n` +
        `Table: ${schemaToString(table)}\nData:  ${schemaToString(data)}\n` +
        'sluice does not evolve schemas silently: select/cast the columns to the table schema, or write to a new table ' +
        "(or use mode 'overwrite' with overwriteSchema: true to replace the table and its schema).",
      diffs,
    );
  }
}

const PROTOCOL: ProtocolAction = { minReaderVersion: 1, minWriterVersion: 2 };

const MODE_NAMES: Record<SaveMode, string> = {
  append: 'Append',
  overwrite: 'Overwrite',
  errorIfExists: 'ErrorIfExists',
  ignore: 'Ignore',
};

function skipped(): DeltaWriteResult {
  return { version: null, skipped: true, filesAdded: 0, filesRemoved: 0, rowsWritten: 0 };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function removeOf(f: AddAction, now: number, dataChange: boolean): RemoveAction {
  return {
    path: f.path,
    deletionTimestamp: now,
    dataChange,
    extendedFileMetadata: true,
    partitionValues: f.partitionValues,
    size: f.size,
    tags: f.tags ?? {},
  };
}

function numRecordsOf(add: AddAction): number | null {
  if (add.stats === undefined) return null;
  try {
    const n = (JSON.parse(add.stats) as { numRecords?: unknown }).numRecords;
    return typeof n === 'number' ? n : null;
  } catch {
    return null;
  }
}

function checkWriteOptions(o: DeltaWriteOptions, mode: SaveMode): void {
  if (!['append', 'overwrite', 'errorIfExists', 'ignore'].includes(mode)) {
    throw new DeltaOptionsError(`Unknown write mode '${String(mode)}'. Use 'append', 'overwrite', 'errorIfExists' or 'ignore'.`);
  }
  if (o.replaceWhere !== undefined && mode !== 'overwrite') {
    throw new DeltaPredicateError(`replaceWhere replaces partitions, so it needs mode 'overwrite' (got '${mode}').`);
  }
  if (o.maxRecordsPerFile !== undefined && (!Number.isInteger(o.maxRecordsPerFile) || o.maxRecordsPerFile <= 0)) {
    throw new DeltaOptionsError(`maxRecordsPerFile must be a positive whole number, got ${o.maxRecordsPerFile}.`);
  }
  if (o.targetFileSize !== undefined && (!Number.isFinite(o.targetFileSize) || o.targetFileSize <= 0)) {
    throw new DeltaOptionsError(`targetFileSize must be a positive number of bytes, got ${o.targetFileSize}.`);
  }
  if (o.compression !== undefined && !['snappy', 'zstd', 'none'].includes(o.compression)) {
    throw new DeltaOptionsError(`Unknown compression '${String(o.compression)}'. Use 'snappy', 'zstd' or 'none'.`);
  }
  if (o.txn !== undefined) {
    if (typeof o.txn.appId !== 'string' || o.txn.appId === '' || !Number.isSafeInteger(o.txn.version) || o.txn.version < 0) {
      throw new DeltaOptionsError(`txn needs { appId: non-empty string, version: whole number ≥ 0 }, got ${JSON.stringify(o.txn)}.`);
    }
  }
}

function fileLimits(o: DeltaWriteOptions, batches: readonly RecordBatch[]): FileLimits {
  let maxRows = Math.min(o.maxRecordsPerFile ?? MAX_ROWS_PER_FILE, MAX_ROWS_PER_FILE);
  if (o.targetFileSize !== undefined) {
    let bytes = 0;
    let rows = 0;
    for (const b of batches) {
      rows += b.numRows;
      for (const c of b.data.children) bytes += dataBytes(c);
    }
    if (rows > 0 && bytes > 0) maxRows = Math.max(1, Math.min(maxRows, Math.floor(o.targetFileSize / (bytes / rows))));
  }
  return { maxRows, compression: o.compression ?? 'snappy' };
}

function dataBytes(d: Data): number {
  let n = (d.values?.byteLength ?? 0) + (d.valueOffsets?.byteLength ?? 0) + (d.nullBitmap?.byteLength ?? 0);
  for (const c of d.children) n += dataBytes(c);
  return n;
}

/** Batches with the columns in table order (data matched by name). */
function reorder(batches: readonly RecordBatch[], data: Schema, table: Schema): RecordBatch[] {
  const idx = table.fields.map((f) => data.fields.findIndex((d) => d.name === f.name));
  if (idx.every((j, i) => j === i) && idx.length === data.fields.length) return [...batches];
  return batches.map((b) => b.selectAt(idx));
}

/** Throws when a NOT NULL column (top level, or a non-null field of a present struct) holds nulls. */
function checkNotNull(batches: readonly RecordBatch[], schema: Schema, table: string): void {
  const problems: string[] = [];
  schema.fields.forEach((f, c) => {
    let nulls = 0;
    for (const b of batches) nulls += countNulls(columnVec(b, schema, c), f.nullable, null);
    if (nulls > 0) problems.push(`column '${f.name}' is NOT NULL in the table but ${nulls} value(s) in the data are null`);
  });
  if (problems.length > 0) {
    throw new DeltaSchemaMismatchError(
      `Cannot write to Delta table '${table}': ${problems.join('; ')}. Filter or fill the nulls (e.g. coalesce) before writing.`,
      problems,
    );
  }
}

function countNulls(v: Vec, nullable: boolean, parent: Uint8Array | null): number {
  const n = v.length;
  let count = 0;
  if (!nullable && v.valid !== null) {
    for (let i = 0; i < n; i++) if (v.valid[i] === 0 && (parent === null || parent[i] === 1)) count++;
  }
  if (v.kind === 'struct') {
    const present = v.valid ?? parent;
    v.type.fields.forEach((f, k) => (count += countNulls(v.fields[k]!, f.nullable, present)));
  }
  return count;
}

function checkRowsMatch(pred: ResolvedPredicate, batches: readonly RecordBatch[], schema: Schema, table: string): void {
  let total = 0;
  let example = '';
  for (const b of batches) {
    const { count, first } = pred.violations(b, schema);
    if (count > 0 && example === '') {
      example = pred.columns
        .map((c) => `${c}=${describeRowValue(columnVec(b, schema, schema.fields.findIndex((f) => f.name === c)), first)}`)
        .join(', ');
    }
    total += count;
  }
  if (total > 0) {
    throw new DeltaPredicateError(
      `replaceWhere (${pred.toString()}) on Delta table '${table}': ${total} new row(s) do not match it (first: ${example}). ` +
        'Only rows inside the replaced partitions may be written: filter the data with the same condition, or widen replaceWhere.',
    );
  }
}

function checkColumns(columns: readonly string[] | undefined, schema: Schema, table: string): readonly string[] {
  const names = schema.fields.map((f) => f.name);
  if (columns === undefined) return names;
  const seen = new Set<string>();
  for (const c of columns) {
    if (!names.includes(c)) throw new DeltaOptionsError(`Column '${c}' is not in Delta table '${table}'. Its columns are: ${names.join(', ')}.`);
    if (seen.has(c)) throw new DeltaOptionsError(`Column '${c}' is listed twice in columns.`);
    seen.add(c);
  }
  return columns;
}

/**
 * Groups rows by partition values: the partition columns are encoded as key rows (`KeyCodec`), mapped to dense group
 * ids (`GroupTable`), and each batch's data columns are gathered once per group present in it.
 */
function splitByPartition(
  batches: readonly RecordBatch[],
  schema: Schema,
  partitionColumns: readonly string[],
  keyIdx: readonly number[],
  dataIdx: readonly number[],
  dataSchema: Schema,
): FileGroup[] {
  const dataOnly = (b: RecordBatch): RecordBatch => (dataIdx.length === schema.fields.length ? b : b.selectAt([...dataIdx]));
  if (partitionColumns.length === 0) {
    const group: FileGroup = { values: {}, batches: [], rows: 0 };
    for (const b of batches) {
      if (b.numRows === 0) continue;
      group.batches.push(b);
      group.rows += b.numRows;
    }
    return group.rows === 0 ? [] : [group];
  }
  const codec = new KeyCodec(keyIdx.map((i) => schema.fields[i]!.type));
  const table = new GroupTable(codec.width);
  const groups: FileGroup[] = [];
  for (const b of batches) {
    const n = b.numRows;
    if (n === 0) continue;
    const vecs = keyIdx.map((i) => columnVec(b, schema, i));
    const ids = new Int32Array(n);
    const before = table.size;
    table.findOrInsert(codec.encode(vecs, null, n), n, ids);
    for (let i = 0; i < n; i++) {
      const g = ids[i]!;
      if (g >= before && groups[g] === undefined) {
        const values: Record<string, string | null> = {};
        partitionColumns.forEach((c, k) => (values[c] = partitionValueAt(vecs[k]!, i)));
        groups[g] = { values, batches: [], rows: 0 };
      }
    }
    const data = dataOnly(b);
    const counts = new Int32Array(table.size + 1);
    for (let i = 0; i < n; i++) counts[ids[i]! + 1]!++;
    let distinct = 0;
    for (let g = 1; g <= table.size; g++) if (counts[g]! > 0) distinct++;
    if (distinct === 1) {
      const g = ids[0]!;
      groups[g]!.batches.push(data);
      groups[g]!.rows += n;
      continue;
    }
    for (let g = 1; g <= table.size; g++) counts[g]! += counts[g - 1]!;
    const starts = counts.slice(0, table.size);
    const sel = new Int32Array(n);
    const pos = counts.slice(0, table.size);
    for (let i = 0; i < n; i++) sel[pos[ids[i]!]!++] = i;
    for (let g = 0; g < table.size; g++) {
      const s = starts[g]!;
      const e = counts[g + 1]!;
      if (e === s) continue;
      groups[g]!.batches.push(gatherBatch(data, dataSchema, sel.subarray(s, e)));
      groups[g]!.rows += e - s;
    }
  }
  return groups.filter((g) => g !== undefined && g.rows > 0);
}

/**
 * Rows `[start, start + count)` of a batch, copied: `RecordBatch.slice` shares buffers with an offset that the `Vec`
 * views (stats, gathers) do not read back correctly for 64-bit columns.
 */
function rowRange(b: RecordBatch, schema: Schema, start: number, count: number): RecordBatch {
  const sel = new Int32Array(count);
  for (let i = 0; i < count; i++) sel[i] = start + i;
  return gatherBatch(b, schema, sel);
}

async function deleteFiles(files: readonly string[]): Promise<void> {
  for (const f of files) await fs.unlink(f).catch(() => undefined);
}

/** Lists data files under `dir`, skipping `_delta_log` and hidden entries (`_x`, `.x`) that are not partition folders. */
async function walk(dir: string, files: string[], dirs: string[]): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const hidden = (e.name.startsWith('_') || e.name.startsWith('.')) && !e.name.includes('=');
    if (hidden) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      dirs.push(p);
      await walk(p, files, dirs);
    } else if (e.isFile()) files.push(p);
  }
}
