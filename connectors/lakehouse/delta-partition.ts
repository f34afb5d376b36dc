/**
 * Partition values and file paths, as the Delta protocol and Hive-style folders spell them.
 *
 * - `partitionValues` are strings ("Partition Value Serialization"): numbers in decimal, booleans `true`/`false`,
 *   dates `2026-05-30`, timestamps as ISO-8601 in UTC with microseconds (`2026-05-30T09:55:00.123000Z`, the form the
 *   protocol recommends); `null` for a null (or empty-string) value.
 * - Folders are `col=value/`, the value percent-encoded except `A–Z a–z 0–9 - . _ ~` (so `/`, `=`, `%`, spaces and
 *   non-ASCII never reach the file system raw); a null value is `__HIVE_DEFAULT_PARTITION__`.
 * - `add.path` is that relative path as a URI: each segment percent-encoded again, so the folder `p=a%2Fb` is logged
 *   as `p=a%252Fb` (what Spark and delta-rs write, and what readers decode back).
 *
 * @module
 */
import type { Data } from 'apache-arrow';
import { fileURLToPath } from 'node:url';
import { isAbsolute, join } from 'node:path';
import { typeToString, type DataType, type Field } from '../../engine/types/data-type.js';
import { formatDate, parseDate, parseTimestamp, parseWholeNumber } from '../../engine/types/values.js';
import { dataFromVec, strAt, utf8Encoder, type Vec } from '../../engine/kernels/vec.js';
import { DeltaError, DeltaSchemaMismatchError } from './delta-errors.js';

/** The folder name Hive, Spark and delta-rs use for a null partition value. */
export const NULL_PARTITION = '__HIVE_DEFAULT_PARTITION__';

/** Types a table can be partitioned by. */
export const PARTITION_TYPES: readonly DataType[] = ['string', 'int', 'long', 'double', 'boolean', 'date', 'timestamp'];

const HEX = '0123456789ABCDEF';

function isUnreserved(b: number): boolean {
  return (
    (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e
  );
}

/**
 * Percent-encodes the UTF-8 bytes of `s`, except `A–Z a–z 0–9 - . _ ~` and the characters in `keep`.
 *
 * @example
 * percentEncode('a b/c'); // 'a%20b%2Fc'
 * percentEncode('x=1/y', '=/'); // 'x=1/y'
 */
export function percentEncode(s: string, keep = ''): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(c < 128 && (isUnreserved(c) || keep.includes(s[i]!)))) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  const bytes = utf8Encoder.encode(s);
  let out = '';
  for (const b of bytes) {
    if (isUnreserved(b) || (b < 128 && keep.includes(String.fromCharCode(b)))) out += String.fromCharCode(b);
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

/**
 * The relative folder of a partition: `date=2026-05-30/country=US`; empty for an unpartitioned table.
 *
 * @example
 * partitionDir(['p'], { p: 'a/b' }); // 'p=a%2Fb'
 * partitionDir(['p'], { p: null }); // 'p=__HIVE_DEFAULT_PARTITION__'
 */
export function partitionDir(columns: readonly string[], values: Readonly<Record<string, string | null>>): string {
  return columns
    .map((c) => {
      const v = values[c] ?? null;
      return `${percentEncode(c)}=${v === null ? NULL_PARTITION : percentEncode(v)}`;
    })
    .join('/');
}

/**
 * `add.path` for a file at a relative path: each segment percent-encoded (keeping `=`).
 *
 * @example
 * encodeLogPath('p=a%2Fb/part-00000-x.snappy.parquet'); // 'p=a%252Fb/part-00000-x.snappy.parquet'
 */
export function encodeLogPath(relative: string): string {
  return relative
    .split('/')
    .map((seg) => percentEncode(seg, '='))
    .join('/');
}

/**
 * The file a logged `path` names: relative paths are URI-decoded and joined to the table folder; `file:` URIs are
 * converted; absolute local paths are taken as is. Other schemes (s3:, abfss:) throw.
 *
 * @example
 * resolveLogPath('/lake/t', 'p=a%252Fb/part-0.parquet'); // '/lake/t/p=a%2Fb/part-0.parquet'
 */
export function resolveLogPath(tablePath: string, path: string): string {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path) && !/^[a-zA-Z]:[\\/]/.test(path)) {
    if (path.startsWith('file:')) return fileURLToPath(path);
    throw new DeltaError(
      `Delta table '${tablePath}' references '${path}', on a storage sluice cannot read (only local files). ` +
        'Copy the table to a local folder first.',
    );
  }
  const decoded = decodeLogPath(path);
  return isAbsolute(decoded) ? decoded : join(tablePath, decoded);
}

/** URI-decodes a logged path (malformed escapes are kept as written). */
export function decodeLogPath(path: string): string {
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path.replace(/%[0-9a-fA-F]{2}/g, (m) => {
      try {
        return decodeURIComponent(m);
      } catch {
        return m;
      }
    });
  }
}

/** Checks partition columns: they exist, are of a partitionable type, and leave at least one data column. */
export function checkPartitionColumns(fields: readonly Field[], partitionBy: readonly string[], table: string): void {
  const names = fields.map((f) => f.name);
  const differences: string[] = [];
  const seen = new Set<string>();
  for (const p of partitionBy) {
    const f = fields.find((x) => x.name === p);
    if (seen.has(p)) differences.push(`partition column '${p}' is listed twice`);
    seen.add(p);
    if (f === undefined) differences.push(`partition column '${p}' is not a column (columns: ${names.join(', ')})`);
    else if (!PARTITION_TYPES.includes(f.type)) {
      differences.push(
        `column '${p}' is ${typeToString(f.type)}, which cannot be a partition column (use one of ${PARTITION_TYPES.join(', ')})`,
      );
    }
  }
  if (partitionBy.length > 0 && partitionBy.length >= fields.length && differences.length === 0) {
    differences.push('every column is a partition column: keep at least one data column');
  }
  if (differences.length > 0) {
    throw new DeltaSchemaMismatchError(
      `Cannot partition Delta table '${table}' by [${partitionBy.join(', ')}]: ${differences.join('; ')}.`,
      differences,
    );
  }
}

/**
 * The partition value string of row `i` of a column (see the module note); `null` for null and for `''`.
 *
 * @example
 * partitionValueAt(dateVec, 0); // '2026-05-30'
 */
export function partitionValueAt(v: Vec, i: number): string | null {
  if (v.valid !== null && v.valid[i] === 0) return null;
  switch (v.kind) {
    case 'num': {
      const x = v.values[i]!;
      switch (v.type) {
        case 'date':
          return formatDate(x);
        case 'timestamp':
          return formatTimestampPartition(x);
        case 'long':
          return v.big !== null ? v.big[i]!.toString() : String(x);
        case 'int':
          return String(x);
        case 'double':
          return Object.is(x, -0) ? '0' : String(x);
      }
      break;
    }
    case 'bool':
      return v.values[i] === 1 ? 'true' : 'false';
    case 'str': {
      const s = strAt(v, i);
      return s === '' ? null : s;
    }
    default:
      break;
  }
  throw new DeltaError(`A ${v.kind} column cannot be a partition column.`);
}

/**
 * A timestamp partition value: ISO-8601 in UTC with microseconds.
 *
 * @example
 * formatTimestampPartition(0); // '1970-01-01T00:00:00.000000Z'
 */
export function formatTimestampPartition(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, -1)}000Z`;
}

/** A partition value parsed to the JS value `ColumnBuilder` takes: numbers, bigints, booleans, strings, or null. */
export type PartitionScalar = string | number | bigint | boolean | null;

/**
 * Parses a logged partition value into its column's type (days for dates, epoch ms for timestamps); throws naming
 * the column when it does not parse.
 *
 * @example
 * parsePartitionValue('2026-05-30 09:55:00.123456', 'timestamp', 'ts'); // 1780134900123
 */
export function parsePartitionValue(value: string | null | undefined, type: DataType, column: string): PartitionScalar {
  if (value === null || value === undefined || value === '') return null;
  let out: PartitionScalar = null;
  switch (type) {
    case 'string':
      return value;
    case 'double': {
      const n = value === 'NaN' ? NaN : value === 'Infinity' ? Infinity : value === '-Infinity' ? -Infinity : Number(value);
      if (!Number.isNaN(n) || value === 'NaN') out = n;
      break;
    }
    case 'int':
    case 'long':
      // Exact digits within the type's range: a value beyond it is refused, not wrapped into the column.
      out = parseWholeNumber(value, type === 'int' ? 32 : 64);
      break;
    case 'boolean':
      if (value === 'true' || value === 'false') out = value === 'true';
      break;
    case 'date':
      out = parseDate(value);
      break;
    case 'timestamp':
      out = parseTimestamp(value);
      break;
    default:
      break;
  }
  if (out === null) {
    throw new DeltaError(
      `Partition value '${value}' of column '${column}' is not a valid ${typeToString(type)}. ` +
        'The table was written with a different partition value format; rewrite the partition.',
    );
  }
  return out;
}

/** A column of `n` copies of one partition value (typed arrays, no row loop over JS values). */
export function constantColumn(type: DataType, value: PartitionScalar, n: number): Data {
  const valid = value === null ? new Uint8Array(n) : null;
  let v: Vec;
  switch (type) {
    case 'string': {
      const bytes = value === null ? new Uint8Array(0) : utf8Encoder.encode(String(value));
      const len = value === null ? 0 : bytes.length;
      const all = new Uint8Array(len * n);
      for (let i = 0; i < n; i++) all.set(bytes, i * len);
      const offsets = new Int32Array(n + 1);
      for (let i = 0; i <= n; i++) offsets[i] = i * len;
      v = { kind: 'str', type: 'string', length: n, offsets, bytes: all, valid };
      break;
    }
    case 'boolean':
      v = { kind: 'bool', type: 'boolean', length: n, values: new Uint8Array(n).fill(value === true ? 1 : 0), valid };
      break;
    case 'int':
    case 'double':
    case 'date':
    case 'timestamp':
      v = { kind: 'num', type, length: n, values: new Float64Array(n).fill(value === null ? 0 : Number(value)), big: null, valid };
      break;
    case 'long': {
      let big: BigInt64Array | null = null;
      if (typeof value === 'bigint') big = new BigInt64Array(n).fill(value);
      v = { kind: 'num', type, length: n, values: new Float64Array(n).fill(value === null ? 0 : Number(value)), big, valid };
      break;
    }
    default:
      throw new DeltaError(`A ${typeToString(type)} column cannot be a partition column.`);
  }
  return dataFromVec(v, type);
}
