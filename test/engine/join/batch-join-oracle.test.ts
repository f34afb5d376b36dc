/**
 * Batch joins of every type checked against DuckDB on the same 120 k × 100 k random rows: null keys, duplicate keys,
 * one hot key on each side (skew), keys of type int, long (values beyond 2^53 included), string, timestamp and double,
 * one and several key columns, null-safe keys, equi-joins with a range residual, one-side ON conjuncts, using joins
 * (the full outer one coalescing), and non-equi joins (the nested loop) on a smaller slice. Both engines read the same
 * Parquet files; sluice's output is written to Parquet and compared with DuckDB's as multisets in DuckDB (rows counted
 * by a hash of their values, column by position).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { col, Session, type Column, type DataFrame } from '../../../engine/index.js';
import { writeParquetFile } from '../../../connectors/parquet/index.js';
import { batchFromColumns } from '../../../engine/types/values.js';
import { schemaOf, type Schema } from '../../../engine/types/data-type.js';
import { prng } from '../../helpers/prng.js';

const NL = 120_000;
const NR = 100_000;
const KEYS = 40_000;
const HOT = 7;
const BASE_TS = Date.UTC(2024, 0, 1);
const SCHEMA_L = { lid: 'int', ki: 'int', kl: 'long', ks: 'string', kt: 'timestamp', kd: 'double', v: 'double' } as const;
const SCHEMA_R = { rid: 'int', ki: 'int', kl: 'long', ks: 'string', kt: 'timestamp', kd: 'double', w: 'double' } as const;
const SPECIAL = ['', 'ü', '日本', 'emoji😀', 'comma,key', ' spaced '];

/**
 * Rows around a base key `b` (one hot value on `hot` of the rows): every key column derives from `b`, each null 3 %
 * of the time on its own, and 5 % of the rows shift their timestamp, so multi-column keys match fewer rows than `b`.
 */
function generate(seed: number, n: number, hot: number, idName: string, valueName: string): Record<string, unknown>[] {
  const r = prng(seed);
  const out: Record<string, unknown>[] = [];
  const maybe = <T>(x: T): T | null => (r() < 0.03 ? null : x);
  for (let i = 0; i < n; i++) {
    const b = r() < hot ? HOT : Math.floor(r() * KEYS);
    const big = b % 1000 === 3;
    out.push({
      [idName]: i,
      ki: maybe(b),
      kl: maybe(big ? 2n ** 58n + BigInt(b) : b * 1_000_000_007),
      ks: maybe(b % 500 === 1 ? SPECIAL[b % SPECIAL.length]! + b : `k${b}`),
      kt: maybe(BASE_TS + (b % 5000) * 1000 + (r() < 0.05 ? 1 : 0)),
      kd: maybe((b % 97) / 4),
      [valueName]: r() < 0.02 ? null : Math.round(r() * 10000) / 100,
    });
  }
  return out;
}

let dir: string;
let duck: DuckDBConnection;
let session: Session;
let L: DataFrame;
let R: DataFrame;
let Ls: DataFrame;
let Lm: DataFrame;
let Rm: DataFrame;
let Rs: DataFrame;
let outputs = 0;

async function toParquet(path: string, batches: RecordBatch[], schema: Schema): Promise<void> {
  await writeParquetFile(path, batches, { schema });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-join-oracle-'));
  session = new Session({ conf: { parallelism: 1 } });
  const chunked = async (rows: Record<string, unknown>[], schema: Record<string, string>) => {
    const batches: RecordBatch[] = [];
    for (let i = 0; i < rows.length; i += 16_384) batches.push(...(await session.createDataFrame(rows.slice(i, i + 16_384), schema as never).toBatches()));
    return batches;
  };
  const lb = await chunked(generate(17, NL, 0.01, 'lid', 'v'), SCHEMA_L);
  const rb = await chunked(generate(29, NR, 0.005, 'rid', 'w'), SCHEMA_R);
  L = session.createDataFrame(lb).alias('l');
  R = session.createDataFrame(rb).alias('r');
  await toParquet(join(dir, 'l.parquet'), lb, L.schema);
  await toParquet(join(dir, 'r.parquet'), rb, R.schema);
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  duck = await db.connect();
  await duck.run(`CREATE TABLE l AS SELECT * FROM read_parquet('${join(dir, 'l.parquet')}')`);
  await duck.run(`CREATE TABLE r AS SELECT * FROM read_parquet('${join(dir, 'r.parquet')}')`);
  // The nested-loop slice: 3,000 × 2,000 rows.
  await duck.run('CREATE TABLE ls AS SELECT * FROM l WHERE lid < 3000');
  await duck.run('CREATE TABLE rs AS SELECT * FROM r WHERE rid < 2000');
  // DuckDB takes 10-40 s for an outer join whose ON holds one-side conjuncts on the whole inputs: those cases use a
  // quarter of them.
  await duck.run('CREATE TABLE lm AS SELECT * FROM l WHERE lid < 30000');
  await duck.run('CREATE TABLE rm AS SELECT * FROM r WHERE rid < 25000');
  Lm = L.where(col('lid').lt(30_000)).alias('l');
  Rm = R.where(col('rid').lt(25_000)).alias('r');
  Ls = L.where(col('lid').lt(3000)).alias('l');
  Rs = R.where(col('rid').lt(2000)).alias('r');
}, 120_000);

afterAll(() => {
  duck?.closeSync();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs the sluice join, writes its rows to Parquet (columns renamed by position: a join may repeat a name), and
 * counts in DuckDB the rows of each side missing from the other (as multisets, by a hash of each row's values).
 */
async function compare(df: DataFrame, sql: string): Promise<{ sluice: number; duck: number; extra: number; missing: number }> {
  const batches = await df.toBatches();
  const schema = schemaOf(df.schema.fields.map((f, i) => ({ name: `c${i}`, type: f.type, nullable: true })));
  const renamed = batches.map((b) => batchFromColumns(schema, b.data.children, b.numRows));
  const path = join(dir, `out${outputs++}.parquet`);
  await toParquet(path, renamed, schema);
  // Rows as multisets: each row's hash over its values as text (an int and a long of the same value agree), counted.
  const cols = schema.fields.map((f) => f.name);
  const h = `hash(${cols.map((c) => `CAST(${c} AS VARCHAR)`).join(', ')})`;
  const q = `
    WITH s AS (SELECT * FROM read_parquet('${path}')), d(${cols.join(', ')}) AS (${sql}),
         hs AS (SELECT ${h} AS h, count(*) AS n FROM s GROUP BY h), hd AS (SELECT ${h} AS h, count(*) AS n FROM d GROUP BY h),
         both_ AS (SELECT coalesce(hs.n, 0) AS ns, coalesce(hd.n, 0) AS nd FROM hs FULL JOIN hd USING (h))
    SELECT (SELECT count(*) FROM s) AS sluice, (SELECT count(*) FROM d) AS duck,
           (SELECT coalesce(sum(greatest(ns - nd, 0)), 0) FROM both_) AS extra,
           (SELECT coalesce(sum(greatest(nd - ns, 0)), 0) FROM both_) AS missing`;
  const row = (await duck.runAndReadAll(q)).getRowObjects()[0]!;
  rmSync(path, { force: true });
  return { sluice: Number(row['sluice']), duck: Number(row['duck']), extra: Number(row['extra']), missing: Number(row['missing']) };
}

const TYPES: readonly (readonly [string, string])[] = [
  ['inner', 'INNER JOIN'],
  ['left', 'LEFT JOIN'],
  ['right', 'RIGHT JOIN'],
  ['full', 'FULL JOIN'],
  ['semi', 'SEMI JOIN'],
  ['anti', 'ANTI JOIN'],
];

function select(how: string): string {
  return how === 'semi' || how === 'anti' ? 'l.*' : 'l.*, r.*';
}

interface Case {
  readonly name: string;
  readonly on: () => Column;
  readonly sqlOn: string;
  readonly slice?: 'small' | 'quarter';
}

const CASES: readonly Case[] = [
  { name: 'an int key (nulls, duplicates, a hot key)', on: () => col('l.ki').eq(col('r.ki')), sqlOn: 'l.ki = r.ki' },
  {
    name: 'a long key (values beyond 2^53) with a range residual',
    on: () => col('l.kl').eq(col('r.kl')).and(col('l.v').lt(col('r.w'))),
    sqlOn: 'l.kl = r.kl AND l.v < r.w',
  },
  {
    name: 'string, timestamp and double keys together',
    on: () => col('l.ks').eq(col('r.ks')).and(col('r.kt').eq(col('l.kt'))).and(col('l.kd').eq(col('r.kd'))),
    sqlOn: 'l.ks = r.ks AND r.kt = l.kt AND l.kd = r.kd',
  },
  {
    name: 'a null-safe int key with a string key (null ints match)',
    on: () => col('l.ki').eqNullSafe(col('r.ki')).and(col('l.ks').eq(col('r.ks'))),
    sqlOn: 'l.ki IS NOT DISTINCT FROM r.ki AND l.ks = r.ks',
  },
  {
    name: 'an int key with one-side conjuncts on both sides (a preserved row is never dropped; 30 k × 25 k rows)',
    on: () => col('l.ki').eq(col('r.ki')).and(col('l.v').gt(50)).and(col('r.w').lt(30)),
    sqlOn: 'l.ki = r.ki AND l.v > 50 AND r.w < 30',
    slice: 'quarter',
  },
  {
    name: 'no equi-key: a range condition (nested loop, 3,000 × 2,000 rows)',
    on: () => col('l.v').lt(col('r.w').minus(90)),
    sqlOn: 'l.v < r.w - 90',
    slice: 'small',
  },
  {
    name: 'no equi-key: an inequality of keys and a one-side conjunct (nested loop)',
    on: () => col('l.kd').gt(col('r.kd')).and(col('l.ki').lt(col('r.ki').minus(39_000))).and(col('r.w').isNotNull()),
    sqlOn: 'l.kd > r.kd AND l.ki < r.ki - 39000 AND r.w IS NOT NULL',
    slice: 'small',
  },
];

describe('batch joins agree with DuckDB', () => {
  for (const c of CASES) {
    describe(c.name, () => {
      for (const [how, sqlHow] of TYPES) {
        it(how, async () => {
          const [l, r, tl, tr] = c.slice === 'small' ? [Ls, Rs, 'ls', 'rs'] : c.slice === 'quarter' ? [Lm, Rm, 'lm', 'rm'] : [L, R, 'l', 'r'];
          const got = await compare(l.join(r, c.on(), how), `SELECT ${select(how)} FROM ${tl} AS l ${sqlHow} ${tr} AS r ON ${c.sqlOn}`);
          expect(got.duck).toBeGreaterThan(0);
          expect(got).toEqual({ sluice: got.duck, duck: got.duck, extra: 0, missing: 0 });
        }, 120_000);
      }
    });
  }

  describe('using columns (ki, ks): first and once; a full outer join coalesces them', () => {
    const sql: Record<string, string> = {
      inner: 'SELECT l.ki, l.ks, l.lid, l.kl, l.kt, l.kd, l.v, r.rid, r.kl, r.kt, r.kd, r.w FROM l INNER JOIN r ON l.ki = r.ki AND l.ks = r.ks',
      left: 'SELECT l.ki, l.ks, l.lid, l.kl, l.kt, l.kd, l.v, r.rid, r.kl, r.kt, r.kd, r.w FROM l LEFT JOIN r ON l.ki = r.ki AND l.ks = r.ks',
      right: 'SELECT r.ki, r.ks, l.lid, l.kl, l.kt, l.kd, l.v, r.rid, r.kl, r.kt, r.kd, r.w FROM l RIGHT JOIN r ON l.ki = r.ki AND l.ks = r.ks',
      full:
        'SELECT COALESCE(l.ki, r.ki), COALESCE(l.ks, r.ks), l.lid, l.kl, l.kt, l.kd, l.v, r.rid, r.kl, r.kt, r.kd, r.w FROM l FULL JOIN r ON l.ki = r.ki AND l.ks = r.ks',
      semi: 'SELECT l.ki, l.ks, l.lid, l.kl, l.kt, l.kd, l.v FROM l SEMI JOIN r ON l.ki = r.ki AND l.ks = r.ks',
      anti: 'SELECT l.ki, l.ks, l.lid, l.kl, l.kt, l.kd, l.v FROM l ANTI JOIN r ON l.ki = r.ki AND l.ks = r.ks',
    };
    for (const [how] of TYPES) {
      it(how, async () => {
        const df = L.join(R, ['ki', 'ks'], how);
        expect(df.columns.slice(0, 3)).toEqual(['ki', 'ks', 'lid']);
        const got = await compare(df, sql[how]!);
        expect(got.duck).toBeGreaterThan(0);
        expect(got).toEqual({ sluice: got.duck, duck: got.duck, extra: 0, missing: 0 });
      }, 120_000);
    }
  });

  it('cross join, and an inner join without a condition (300 × 200 rows)', async () => {
    const l = L.where(col('lid').lt(300)).alias('l');
    const r = R.where(col('rid').lt(200)).alias('r');
    for (const df of [l.crossJoin(r), l.join(r)]) {
      const got = await compare(df, 'SELECT l.*, r.* FROM l CROSS JOIN r WHERE l.lid < 300 AND r.rid < 200');
      expect(got).toEqual({ sluice: 60_000, duck: 60_000, extra: 0, missing: 0 });
    }
  }, 120_000);
});
