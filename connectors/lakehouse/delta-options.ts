/**
 * Options of the Delta connector as strings (`.option('partitionBy', 'date')`, pipeline specs), parsed and checked.
 * Keys are case-insensitive, like Spark's.
 *
 * | option               | for            | value                                                        |
 * |----------------------|----------------|--------------------------------------------------------------|
 * | `path`               | all            | the table folder (required)                                  |
 * | `partitionBy`        | sink           | `date,country` or `["date","country"]`                       |
 * | `maxRecordsPerFile`  | sink           | positive whole number                                        |
 * | `targetFileSize`     | sink           | bytes, or `128MB`, `1g` …                                    |
 * | `compression`        | sink           | `snappy` (default), `zstd`, `none` (`uncompressed`)          |
 * | `mode`               | sink (batch)   | `append`, `overwrite`, `errorIfExists`, `ignore`             |
 * | `replaceWhere`       | sink (batch)   | JSON predicate: `{"date":{"eq":"2026-05-30"}}`               |
 * | `overwriteSchema`    | sink (batch)   | `true` / `false`                                             |
 * | `autoCompact`        | sink (stream)  | `true` / `false` (default: table property `delta.autoOptimize.autoCompact`) |
 * | `autoCompactMinNumFiles` | sink (stream) | positive whole number (default 50)                       |
 * | `versionAsOf`        | scan           | whole number ≥ 0                                             |
 * | `columns`            | scan, source   | `a,b` or `["a","b"]`                                         |
 * | `where`              | scan           | JSON partition predicate                                     |
 * | `maxFilesPerTrigger` | source         | positive whole number (default 1000)                         |
 * | `startingVersion`    | source         | whole number ≥ 0, or `latest` (default 0)                    |
 * | `ignoreDeletes`, `ignoreChanges` | source | `true` / `false`                                         |
 *
 * @module
 */
import type { SaveMode } from '../../engine/io/sink.js';
import { checkOptionNames } from '../../engine/io/sink-options.js';
import type { ParquetCompression } from '../parquet/index.js';
import { DeltaOptionsError } from './delta-errors.js';
import type { PartitionPredicate } from './delta-predicate.js';

/** Which connector the options are for. */
export type DeltaOptionsKind = 'sink' | 'scan' | 'source';

/** Parsed options (only those given are set). */
export interface DeltaConnectorOptions {
  readonly path: string;
  readonly partitionBy?: readonly string[];
  readonly maxRecordsPerFile?: number;
  readonly targetFileSize?: number;
  readonly compression?: ParquetCompression;
  readonly mode?: SaveMode;
  readonly replaceWhere?: PartitionPredicate;
  readonly overwriteSchema?: boolean;
  readonly autoCompact?: boolean;
  readonly autoCompactMinNumFiles?: number;
  readonly versionAsOf?: number;
  readonly columns?: readonly string[];
  readonly where?: PartitionPredicate;
  readonly maxFilesPerTrigger?: number;
  readonly startingVersion?: number | 'latest';
  readonly ignoreDeletes?: boolean;
  readonly ignoreChanges?: boolean;
}

const KEYS: Record<DeltaOptionsKind, readonly string[]> = {
  sink: ['path', 'partitionBy', 'maxRecordsPerFile', 'targetFileSize', 'compression', 'mode', 'replaceWhere', 'overwriteSchema', 'autoCompact', 'autoCompactMinNumFiles'],
  scan: ['path', 'versionAsOf', 'columns', 'where'],
  source: ['path', 'columns', 'maxFilesPerTrigger', 'startingVersion', 'ignoreDeletes', 'ignoreChanges'],
};

/**
 * Parses string options for a Delta sink, scan or source; throws `DeltaOptionsError` naming the option and the
 * accepted values.
 *
 * @example
 * parseDeltaOptions({ path: '/lake/t', partitionBy: 'date', maxRecordsPerFile: '100000' }, 'sink');
 * parseDeltaOptions({ path: '/lake/t', versionAsOf: '3' }, 'scan');
 */
export function parseDeltaOptions(raw: Readonly<Record<string, string>>, kind: DeltaOptionsKind): DeltaConnectorOptions {
  const allowed = KEYS[kind];
  checkOptionNames(`Delta ${kind}`, raw, {
    known: allowed,
    writerOptions: false,
    elsewhere: (k) => {
      const other = (Object.keys(KEYS) as DeltaOptionsKind[]).find((x) => KEYS[x].some((y) => y.toLowerCase() === k.toLowerCase()));
      return other ? `Option '${k}' applies to the Delta ${other}, not the ${kind}.` : null;
    },
    error: (message) => new DeltaOptionsError(message),
  });
  const byLower = new Map(allowed.map((k) => [k.toLowerCase(), k]));
  const o: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    const key = byLower.get(k.toLowerCase())!;
    if (typeof v !== 'string') throw new DeltaOptionsError(`Delta option '${key}' must be a string, got ${typeof v}.`);
    o[key] = v;
  }
  const path = o.path?.trim();
  if (!path) throw new DeltaOptionsError(`The Delta ${kind} needs option 'path' (the table folder), e.g. { path: '/lake/events' }.`);
  const out: Record<string, unknown> = { path };
  if (o.partitionBy !== undefined) out.partitionBy = parseList('partitionBy', o.partitionBy);
  if (o.columns !== undefined) out.columns = parseList('columns', o.columns);
  if (o.maxRecordsPerFile !== undefined) out.maxRecordsPerFile = parseCount('maxRecordsPerFile', o.maxRecordsPerFile, 1);
  if (o.maxFilesPerTrigger !== undefined) out.maxFilesPerTrigger = parseCount('maxFilesPerTrigger', o.maxFilesPerTrigger, 1);
  if (o.versionAsOf !== undefined) out.versionAsOf = parseCount('versionAsOf', o.versionAsOf, 0);
  if (o.targetFileSize !== undefined) out.targetFileSize = parseSize('targetFileSize', o.targetFileSize);
  if (o.compression !== undefined) out.compression = parseCompression(o.compression);
  if (o.mode !== undefined) out.mode = parseMode(o.mode);
  if (o.replaceWhere !== undefined) out.replaceWhere = parsePredicate('replaceWhere', o.replaceWhere);
  if (o.where !== undefined) out.where = parsePredicate('where', o.where);
  if (o.overwriteSchema !== undefined) out.overwriteSchema = parseBool('overwriteSchema', o.overwriteSchema);
  if (o.autoCompact !== undefined) out.autoCompact = parseBool('autoCompact', o.autoCompact);
  if (o.autoCompactMinNumFiles !== undefined) out.autoCompactMinNumFiles = parseCount('autoCompactMinNumFiles', o.autoCompactMinNumFiles, 2);
  if (o.ignoreDeletes !== undefined) out.ignoreDeletes = parseBool('ignoreDeletes', o.ignoreDeletes);
  if (o.ignoreChanges !== undefined) out.ignoreChanges = parseBool('ignoreChanges', o.ignoreChanges);
  if (o.startingVersion !== undefined) {
    out.startingVersion = o.startingVersion.trim().toLowerCase() === 'latest' ? 'latest' : parseCount('startingVersion', o.startingVersion, 0);
  }
  return out as unknown as DeltaConnectorOptions;
}

/**
 * A column list: `a, b` or a JSON array `["a","b"]`.
 *
 * @example
 * parseList('partitionBy', 'date, country'); // ['date', 'country']
 */
export function parseList(name: string, value: string): string[] {
  const s = value.trim();
  if (s === '') return [];
  if (s.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch (e) {
      throw new DeltaOptionsError(`Option ${name} looks like a JSON array but is not valid JSON (${(e as Error).message}): ${s}.`);
    }
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string' && x.length > 0)) {
      throw new DeltaOptionsError(`Option ${name} must be a JSON array of column names, e.g. ["date","country"]; got ${s}.`);
    }
    return parsed as string[];
  }
  const parts = s.split(',').map((x) => x.trim());
  if (parts.some((x) => x === '')) throw new DeltaOptionsError(`Option ${name} has an empty column name: '${value}'. Write e.g. 'date,country'.`);
  return parts;
}

function parseCount(name: string, value: string, min: number): number {
  const s = value.trim().replace(/_/g, '');
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new DeltaOptionsError(`Option ${name} must be a whole number ≥ ${min}, got '${value}'.`);
  }
  return n;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/**
 * A byte size: `134217728`, `128MB`, `64m`, `1g` (binary units).
 *
 * @example
 * parseSize('targetFileSize', '128MB'); // 134217728
 */
export function parseSize(name: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined || Number(m[1]) <= 0) {
    throw new DeltaOptionsError(`Option ${name} must be a size in bytes like 134217728, 128MB or 1g; got '${value}'.`);
  }
  return Math.round(Number(m[1]) * unit);
}

function parseCompression(value: string): ParquetCompression {
  const v = value.trim().toLowerCase();
  if (v === 'snappy' || v === 'zstd' || v === 'none') return v;
  if (v === 'uncompressed') return 'none';
  throw new DeltaOptionsError(`Option compression must be snappy, zstd or none (uncompressed); got '${value}'.`);
}

function parseMode(value: string): SaveMode {
  const v = value.trim().toLowerCase();
  const modes: Record<string, SaveMode> = {
    append: 'append',
    overwrite: 'overwrite',
    errorifexists: 'errorIfExists',
    error: 'errorIfExists',
    default: 'errorIfExists',
    ignore: 'ignore',
  };
  const m = modes[v];
  if (m === undefined) throw new DeltaOptionsError(`Option mode must be append, overwrite, errorIfExists or ignore; got '${value}'.`);
  return m;
}

function parseBool(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new DeltaOptionsError(`Option ${name} must be true or false, got '${value}'.`);
}

function parsePredicate(name: string, value: string): PartitionPredicate {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    throw new DeltaOptionsError(
      `Option ${name} must be JSON like {"date":{"eq":"2026-05-30"}} (SQL text is not accepted); ${(e as Error).message}: ${value}.`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DeltaOptionsError(`Option ${name} must be a JSON object of column conditions, e.g. {"date":{"eq":"2026-05-30"}}; got ${value}.`);
  }
  return parsed as PartitionPredicate;
}
