/**
 * Fixtures shared by the Delta Lake tests: temp folders, a batch with every sluice type, and reading a table back
 * as sorted plain rows.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { WINDOW_TYPE, schemaOf, type DataType, type Schema } from '../../../engine/types/data-type.js';
import { batchFromRows, rowsFromBatch } from '../../../engine/types/values.js';
import { nullableSchema } from '../../../connectors/lakehouse/delta-schema.js';
import type { DeltaTable } from '../../../connectors/lakehouse/index.js';

export const DAY = 86_400_000;
export const ARRAY_OF_STRING: DataType = { kind: 'array', element: 'string' };

/** Every sluice type, plus `p` (a string partition column) and `id` to sort by. */
export const ALL_TYPES: Schema = schemaOf({
  id: 'int',
  s: 'string',
  l: 'long',
  d: 'double',
  b: 'boolean',
  ts: 'timestamp',
  dt: 'date',
  w: WINDOW_TYPE,
  bin: 'binary',
  arr: ARRAY_OF_STRING,
  p: 'string',
});

const T0 = Date.UTC(2026, 4, 30, 9, 55, 0, 123);

/** Rows covering nulls, longs beyond 2^53, times before 1970, unicode, the window struct. */
export function allTypeRows(): Record<string, unknown>[] {
  return [
    { id: 0, s: 'héllo', l: 9007199254740993n, d: 1.5, b: true, ts: new Date(T0), dt: '2026-05-30', w: { start: new Date(T0), end: new Date(T0 + 60_000) }, bin: new Uint8Array([1, 2, 3]), arr: ['a', 'b'], p: 'x' },
    { id: 1, s: '日本語 🎉', l: -9007199254740995n, d: -0.25, b: false, ts: new Date(-1), dt: '1969-12-31', w: { start: new Date(-60_000), end: new Date(0) }, bin: new Uint8Array([]), arr: [], p: 'x' },
    { id: 2, s: null, l: null, d: null, b: null, ts: null, dt: null, w: null, bin: null, arr: null, p: 'y' },
    { id: 3, s: '', l: 42, d: 1e300, b: true, ts: new Date(Date.UTC(1900, 0, 1)), dt: '1900-01-01', w: { start: new Date(0), end: new Date(1) }, bin: new Uint8Array([255]), arr: ['z', null], p: null },
    { id: 4, s: 'x'.repeat(100), l: 0, d: 0, b: false, ts: new Date(T0 + 1), dt: '2026-05-31', w: { start: new Date(T0), end: new Date(T0 + 60_000) }, bin: new Uint8Array([0]), arr: ['q'], p: 'y' },
  ];
}

export function allTypeBatch(): RecordBatch {
  return batchFromRows(allTypeRows(), ALL_TYPES);
}

/** A temp folder removed by the returned cleanup. */
export async function tempDir(prefix = 'sluice-delta-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** All rows of a table read through sluice, sorted by `sortBy`. */
export async function readRows(
  table: DeltaTable,
  options: Parameters<DeltaTable['read']>[0] = {},
  sortBy = 'id',
): Promise<Record<string, unknown>[]> {
  const schema = await table.schema(options.versionAsOf);
  const columns = options.columns ?? schema.fields.map((f) => f.name);
  const out: Record<string, unknown>[] = [];
  const projected = nullableSchema({ fields: columns.map((c) => schema.fields.find((f) => f.name === c)!) });
  for await (const b of table.read(options)) out.push(...rowsFromBatch(b, projected));
  return sortRows(out, sortBy);
}

export function sortRows<T extends Record<string, unknown>>(rows: T[], key: string): T[] {
  return rows.sort((a, b) => {
    const x = a[key] as number | string | bigint | null;
    const y = b[key] as number | string | bigint | null;
    if (x === y) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    return x < y ? -1 : 1;
  });
}

/** The actions of one commit file, parsed. */
export async function commitActions(tablePath: string, version: number): Promise<Record<string, any>[]> {
  const text = await readFile(join(tablePath, '_delta_log', `${String(version).padStart(20, '0')}.json`), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, any>);
}

/** Every file under `dir` (relative, `/`-separated), skipping `_delta_log`. */
export async function dataFilesOnDisk(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    if (e.name === '_delta_log') continue;
    if (e.isDirectory()) out.push(...(await dataFilesOnDisk(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

/** Batch of simple event rows: `{ id: long, user: string, amount: double, ts: timestamp, date: date }`. */
export const EVENTS: Schema = schemaOf({ id: 'long', user: 'string', amount: 'double', ts: 'timestamp', date: 'date' });

export function eventBatch(ids: readonly number[], date = '2026-05-30'): RecordBatch {
  const base = Date.parse(`${date}T00:00:00Z`);
  return batchFromRows(
    ids.map((id) => ({ id, user: `u${id % 3}`, amount: id * 1.5, ts: new Date(base + id * 1000), date })),
    EVENTS,
  );
}
