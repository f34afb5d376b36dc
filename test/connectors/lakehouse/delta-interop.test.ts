/**
 * Outside oracles: DuckDB (`read_parquet` over the exact files our log lists, and `delta_scan` when its delta
 * extension can be installed) and delta-rs (`read_with_deltalake.py`) must read the same rows as sluice.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaOf } from '../../../engine/types/data-type.js';
import { batchFromRows } from '../../../engine/types/values.js';
import { DeltaTable } from '../../../connectors/lakehouse/index.js';
import { allTypeBatch, allTypeRows, readRows, sortRows, tempDir } from './helpers.js';

const MAX_EXACT = 9007199254740991;

/** The JSON form both oracles are compared in: ISO timestamps, YYYY-MM-DD dates, base64 binary, big longs as strings. */
function jsonValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return v > BigInt(MAX_EXACT) || v < BigInt(-MAX_EXACT) ? v.toString() : Number(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(jsonValue);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
  return v;
}

function jsonRows(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((r) => jsonValue(r) as Record<string, unknown>);
}

// -------------------------------------------------------------------------------------------------------------
// delta-rs availability: SLUICE_PYTHON, else the project venv (test/setup/lakehouse/setup.sh), else python3.

const VENV_PY = join(process.cwd(), '.cache', 'lakehouse-venv', 'bin', 'python');
const PYTHON = process.env.SLUICE_PYTHON ?? (existsSync(VENV_PY) ? VENV_PY : 'python3');
const SCRIPT = join(import.meta.dirname, 'read_with_deltalake.py');
/**
 * Ends inline Python scripts without the interpreter's teardown, where delta-rs/pyarrow's native threads sometimes
 * abort ("terminate called without an active exception") after the work is done; read_with_deltalake.py does the same.
 */
const EXIT_NOW = '\nimport os as _os, sys as _sys\n_sys.stdout.flush(); _sys.stderr.flush(); _os._exit(0)\n';
const probe = spawnSync(PYTHON, ['-c', 'import deltalake, pyarrow; print(deltalake.__version__)' + EXIT_NOW], { encoding: 'utf8' });
const HAS_DELTALAKE = probe.status === 0;
const MUST_RUN = process.env.CI === 'true';
if (!HAS_DELTALAKE && !MUST_RUN) {
  console.warn(
    `[delta-interop] skipping the delta-rs checks: '${PYTHON}' cannot import deltalake (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}). ` +
      'Install it with: bash test/setup/lakehouse/setup.sh (or pip install -r test/setup/lakehouse/requirements.txt).',
  );
}

interface DeltaRsResult {
  version: number;
  files: string[];
  rows: Record<string, unknown>[];
}

function readWithDeltaRs(path: string, version?: number): DeltaRsResult {
  const args = [SCRIPT, path, ...(version === undefined ? [] : ['--version', String(version)])];
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`read_with_deltalake.py failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as DeltaRsResult;
}

// -------------------------------------------------------------------------------------------------------------

let root: string;
let cleanup: () => Promise<void>;
let db: DuckDBInstance;
let duck: DuckDBConnection;
let allTypesPath: string;
let partitionsPath: string;

const ALL_TYPES_SQL = `
  id, s, l::VARCHAR AS l, d, b, epoch_ms(ts) AS ts, strftime(dt, '%Y-%m-%d') AS dt,
  CASE WHEN w IS NULL THEN NULL ELSE [epoch_ms(w.start), epoch_ms(w."end")] END AS w,
  to_base64(bin) AS bin, to_json(arr)::VARCHAR AS arr, p`;

function fromDuckAllTypes(r: Record<string, unknown>): Record<string, unknown> {
  const iso = (x: unknown): string | null => (x === null ? null : new Date(Number(x)).toISOString());
  const l = r.l === null ? null : BigInt(r.l as string);
  const w = r.w as { items?: unknown[] } | unknown[] | null;
  const wItems = w === null ? null : Array.isArray(w) ? w : (w.items ?? []);
  return {
    id: r.id,
    s: r.s,
    l: jsonValue(l),
    d: r.d,
    b: r.b,
    ts: iso(r.ts),
    dt: r.dt,
    w: wItems === null ? null : { start: iso(wItems[0]), end: iso(wItems[1]) },
    bin: r.bin,
    arr: r.arr === null ? null : JSON.parse(r.arr as string),
    p: r.p,
  };
}

async function duckRows(sql: string): Promise<Record<string, unknown>[]> {
  return (await duck.runAndReadAll(sql)).getRowObjects() as Record<string, unknown>[];
}

function fileList(path: string, files: readonly string[]): string {
  return `[${files.map((f) => `'${join(path, f).replace(/'/g, "''")}'`).join(', ')}]`;
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir());
  db = await DuckDBInstance.create(':memory:');
  duck = await db.connect();
  await duck.run("SET TimeZone = 'UTC'");
  // DuckDB reads exactly the files the log lists with read_parquet (its delta extension is downloaded from
  // extensions.duckdb.org, which this build does not reach, so it is not used).

  // Table 1: every type, partitioned by p, with an append and a replaceWhere so that the log (not the folder) decides.
  allTypesPath = join(root, 'all-types');
  const t = DeltaTable.forPath(allTypesPath);
  await t.write([allTypeBatch()], { partitionBy: ['p'] });
  const more = allTypeRows().map((r) => ({ ...r, id: (r.id as number) + 10 }));
  await t.write([batchFromRows(more, (await t.schema()))]);
  const replaced = allTypeRows()
    .filter((r) => r.p === 'x')
    .map((r) => ({ ...r, id: (r.id as number) + 100, s: 'replaced' }));
  await t.write([batchFromRows(replaced, await t.schema())], { mode: 'overwrite', replaceWhere: { p: { eq: 'x' } } });

  // Table 2: partition values of every partitionable type, odd strings included.
  partitionsPath = join(root, 'partitions');
  const s2 = schemaOf({ id: 'int', k: 'string', dt: 'date', ts: 'timestamp', n: 'long', flag: 'boolean' });
  const odd = ['a b', 'a/b', 'x=y', '100%', 'héllo 日本', null, "it's"];
  await DeltaTable.forPath(partitionsPath).write(
    [
      batchFromRows(
        odd.map((k, id) => ({
          id,
          k,
          dt: id % 2 === 0 ? '2026-05-30' : '1969-12-31',
          ts: new Date(Date.UTC(2026, 4, 30, 9, 55, id, 123)),
          n: id === 3 ? 9007199254740993n : -id,
          flag: id % 3 === 0,
        })),
        s2,
      ),
    ],
    { partitionBy: ['k', 'dt', 'ts', 'n', 'flag'] },
  );
});

afterAll(async () => {
  duck?.closeSync();
  await cleanup();
});

describe('DuckDB reads what sluice wrote', () => {
  it('read_parquet over the exact logged files, with hive partitions, gives sluice’s rows and values', async () => {
    const t = DeltaTable.forPath(allTypesPath);
    const files = await t.files();
    expect(files).toHaveLength(5);
    const sluice = jsonRows(await readRows(t));
    const rows = await duckRows(`SELECT ${ALL_TYPES_SQL} FROM read_parquet(${fileList(allTypesPath, files)}, hive_partitioning = true, hive_types = {'p': VARCHAR}) ORDER BY id`);
    expect(rows.map(fromDuckAllTypes)).toEqual(sluice);
    expect(sluice.filter((r) => r.s === 'replaced')).toHaveLength(2);
  });

  it('read_parquet decodes odd partition folders and typed partition values like sluice does', async () => {
    const t = DeltaTable.forPath(partitionsPath);
    const sluice = jsonRows(await readRows(t));
    const rows = await duckRows(
      `SELECT id, k, strftime(dt, '%Y-%m-%d') AS dt, epoch_ms(ts) AS ts, n::VARCHAR AS n, flag
       FROM read_parquet(${fileList(partitionsPath, await t.files())}, hive_partitioning = true,
         hive_types = {'k': VARCHAR, 'dt': DATE, 'ts': TIMESTAMPTZ, 'n': BIGINT, 'flag': BOOLEAN})
       ORDER BY id`,
    );
    expect(rows.map((r) => ({ ...r, ts: new Date(Number(r.ts)).toISOString(), n: jsonValue(BigInt(r.n as string)) }))).toEqual(sluice);
  });
});

describe.skipIf(!HAS_DELTALAKE && !MUST_RUN)('delta-rs reads what sluice wrote', () => {
  it('reads every type, the replaced partition and the live files the same', async () => {
    const t = DeltaTable.forPath(allTypesPath);
    const r = readWithDeltaRs(allTypesPath);
    expect(r.version).toBe(2);
    expect(r.files.map((f) => decodeURIComponent(f.replace(/^file:\/\//, ''))).sort()).toEqual((await t.files()).map((f) => join(allTypesPath, f)).sort());
    expect(sortRows(r.rows, 'id')).toEqual(jsonRows(await readRows(t)));
  });

  it('reads older versions (time travel) the same', async () => {
    const t = DeltaTable.forPath(allTypesPath);
    for (const v of [0, 1]) {
      expect(sortRows(readWithDeltaRs(allTypesPath, v).rows, 'id')).toEqual(jsonRows(await readRows(t, { versionAsOf: v })));
    }
  });

  it('parses every partition value type and odd folder names the same', async () => {
    const t = DeltaTable.forPath(partitionsPath);
    expect(sortRows(readWithDeltaRs(partitionsPath).rows, 'id')).toEqual(jsonRows(await readRows(t)));
  });

  it('sluice reads a table delta-rs wrote (odd partitions, nested types, two commits) the same as delta-rs', async () => {
    const path = join(root, 'written-by-delta-rs');
    const script = `
import datetime, sys, pyarrow as pa
from deltalake import write_deltalake
utc = datetime.timezone.utc
def table(base):
    n = 6
    return pa.table({
        'id': pa.array([base + i for i in range(n)], pa.int64()),
        's': pa.array(['a', None, 'héllo', '', 'z' * 40, 'q']),
        'd': pa.array([0.5, None, -1.25, 1e300, 0.0, 3.0]),
        'ts': pa.array([datetime.datetime(2026, 5, 30, 9, 55, 0, 123000, tzinfo=utc), None, datetime.datetime(1960, 1, 1, tzinfo=utc)] * 2, pa.timestamp('us', tz='UTC')),
        'dt': pa.array([datetime.date(2026, 5, 30), None, datetime.date(1969, 12, 31)] * 2, pa.date32()),
        'b': pa.array([True, False, None] * 2),
        'tags': pa.array([['x', 'y'], [], None, ['z'], [None], ['w']], pa.list_(pa.string())),
        'w': pa.array([{'start': datetime.datetime(2026, 5, 30, tzinfo=utc), 'end': datetime.datetime(2026, 5, 31, tzinfo=utc)}, None] * 3,
                      pa.struct([('start', pa.timestamp('us', tz='UTC')), ('end', pa.timestamp('us', tz='UTC'))])),
        'p': pa.array(['a b', 'a/b', None, '100%', 'x', 'x']),
    })
write_deltalake(sys.argv[1], table(0), partition_by=['p'])
write_deltalake(sys.argv[1], table(100), mode='append')
`;
    const w = spawnSync(PYTHON, ['-c', script + EXIT_NOW, path], { encoding: 'utf8' });
    expect(w.status, w.stderr).toBe(0);
    const t = DeltaTable.forPath(path);
    expect((await t.schema()).fields.map((f) => `${f.name}:${typeof f.type === 'string' ? f.type : f.type.kind}`)).toEqual([
      'id:long', 's:string', 'd:double', 'ts:timestamp', 'dt:date', 'b:boolean', 'tags:array', 'w:struct', 'p:string',
    ]);
    const ours = jsonRows(await readRows(t));
    expect(ours).toHaveLength(12);
    expect(sortRows(readWithDeltaRs(path).rows, 'id')).toEqual(ours);
    // And sluice can append to it.
    const { batchFromRows: rowsToBatch } = await import('../../../engine/types/values.js');
    await t.write([rowsToBatch([{ id: 1000, p: 'new', tags: ['n'], w: { start: new Date(0), end: new Date(1) } }], await t.schema())]);
    expect(sortRows(readWithDeltaRs(path).rows, 'id')).toEqual(jsonRows(await readRows(t)));
  });

  it('sluice reads from a delta-rs checkpoint once the early JSON commits are cleaned up', async () => {
    const path = join(root, 'checkpointed');
    const t = DeltaTable.forPath(path);
    await t.write([allTypeBatch()], { partitionBy: ['p'], txn: { appId: 'q', version: 0 } });
    await t.write([allTypeBatch()], { txn: { appId: 'q', version: 1 } });
    const onlyX = allTypeRows().filter((r) => r.p === 'x');
    await t.write([batchFromRows(onlyX, await t.schema())], { mode: 'overwrite', replaceWhere: { p: { eq: 'x' } } });
    const cp = spawnSync(PYTHON, ['-c', 'import sys; from deltalake import DeltaTable; DeltaTable(sys.argv[1]).create_checkpoint()' + EXIT_NOW, path], { encoding: 'utf8' });
    expect(cp.status, cp.stderr).toBe(0);
    await t.write([allTypeBatch()], { txn: { appId: 'q', version: 2 } });
    const expected = jsonRows(await readRows(t));
    const atV2 = jsonRows(await readRows(t, { versionAsOf: 2 }));
    const { readdir: ls, unlink } = await import('node:fs/promises');
    const log = join(path, '_delta_log');
    expect(await ls(log)).toContain('00000000000000000002.checkpoint.parquet');
    for (const v of [0, 1, 2]) await unlink(join(log, `${String(v).padStart(20, '0')}.json`));
    const fresh = DeltaTable.forPath(path);
    expect(jsonRows(await readRows(fresh))).toEqual(expected);
    expect(jsonRows(await readRows(DeltaTable.forPath(path), { versionAsOf: 2 }))).toEqual(atV2);
    expect((await fresh.snapshot()).txnVersion('q')).toBe(2);
    await expect(DeltaTable.forPath(path).snapshot(1)).rejects.toThrow(/no complete checkpoint/);
    expect(await fresh.write([allTypeBatch()], { txn: { appId: 'q', version: 3 } })).toMatchObject({ version: 4 });
    expect(sortRows(readWithDeltaRs(path).rows, 'id')).toEqual(jsonRows(await readRows(fresh)));
  });

  it('reads a table after optimize and a streaming txn commit', async () => {
    const path = join(root, 'optimized');
    const t = DeltaTable.forPath(path);
    for (let i = 0; i < 3; i++) await t.write([allTypeBatch()], { partitionBy: ['p'], txn: { appId: 'q', version: i } });
    await t.optimize();
    const r = readWithDeltaRs(path);
    expect(r.files).toHaveLength(3);
    expect(sortRows(r.rows, 'id')).toEqual(jsonRows(await readRows(t)));
  });
});
