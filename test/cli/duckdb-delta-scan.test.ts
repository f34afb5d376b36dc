/**
 * The demo's DuckDB hint (`duckdbDeltaScan`): the printed `read_parquet([...])` reads exactly the files of the table's
 * version, so DuckDB's totals are the table's even after a commit that removed files (a backfill's replaceWhere), where
 * a glob over the folder double-counts.
 */
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeltaTable } from '../../connectors/lakehouse/index.js';
import { Session, col, sum } from '../../engine/index.js';
import { schemaOf } from '../../engine/types/data-type.js';
import { batchFromRows } from '../../engine/types/values.js';
import { duckdbDeltaScan } from '../../engine/cli/duckdb-delta-scan.js';
import { tempDir } from './helpers.js';

const schema = schemaOf({ product_id: 'string', sales: 'double', date: 'date' });
const rows = (date: string, base: number) =>
  ['p1', 'p2', 'p3'].map((product_id, i) => ({ product_id, sales: base + i, date }));

let db: DuckDBInstance;
let duck: DuckDBConnection;
beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:');
  duck = await db.connect();
});
afterAll(() => {
  duck?.closeSync();
  db?.closeSync();
});

async function duckTotals(from: string): Promise<Record<string, number>> {
  const reader = await duck.runAndReadAll(`SELECT product_id, sum(sales) AS total FROM ${from} GROUP BY 1 ORDER BY 1`);
  return Object.fromEntries(reader.getRowObjects().map((r) => [String(r['product_id']), Number(r['total'])]));
}

async function sluiceTotals(path: string): Promise<Record<string, number>> {
  const session = new Session();
  const out = await session.read.format('delta').load(path).groupBy(col('product_id')).agg(sum('sales').as('total')).collect();
  return Object.fromEntries(out.map((r) => [String(r['product_id']), Number(r['total'])]));
}

describe('duckdbDeltaScan', () => {
  it("reads exactly the committed files: DuckDB's totals are the table's after a commit that removes files", async () => {
    const path = join(tempDir('sluice-duckdb-hint-'), 'sales');
    const table = DeltaTable.forPath(path);
    await table.write([batchFromRows([...rows('2026-05-29', 10), ...rows('2026-05-30', 20)], schema)], { partitionBy: ['date'] });
    await table.write([batchFromRows(rows('2026-05-30', 30), schema)]);
    // a backfill of 2026-05-30: its two files are replaced by one, and stay in the folder until vacuum
    await table.write([batchFromRows(rows('2026-05-30', 100), schema)], {
      mode: 'overwrite',
      replaceWhere: { date: { eq: '2026-05-30' } },
    });

    const scan = await duckdbDeltaScan(path);
    expect(scan.version).toBe(2);
    expect(scan.files).toHaveLength(2);
    const expected = { p1: 110, p2: 112, p3: 114 };
    expect(await sluiceTotals(path)).toEqual(expected);
    expect(await duckTotals(scan.from!)).toEqual(expected);
    // the partition column comes from the folder names
    const dates = await duck.runAndReadAll(`SELECT DISTINCT CAST(date AS VARCHAR) AS d FROM ${scan.from} ORDER BY 1`);
    expect(dates.getRowObjects().map((r) => r['d'])).toEqual(['2026-05-29', '2026-05-30']);

    // the hint the demo printed before: every Parquet file in the folder, removed ones included
    const glob = await duckTotals(`read_parquet('${path}/**/*.parquet', hive_partitioning = true)`);
    expect(glob).not.toEqual(expected);

    // an earlier version's list is that version's
    const v1 = await duckdbDeltaScan(path, 1);
    expect(await duckTotals(v1.from!)).toEqual({ p1: 60, p2: 63, p3: 66 });
  });

  it('quotes paths with quotes in them and has no expression for a table without files', async () => {
    const path = join(tempDir("sluice-duckdb-hint-'q'-"), 'sales');
    const table = DeltaTable.forPath(path);
    await table.write([batchFromRows(rows('2026-05-30', 1), schema)], { partitionBy: ['date'] });
    const scan = await duckdbDeltaScan(path);
    expect(await duckTotals(scan.from!)).toEqual({ p1: 1, p2: 2, p3: 3 });

    await table.delete({ where: { date: { eq: '2026-05-30' } } });
    const empty = await duckdbDeltaScan(path);
    expect(empty).toEqual({ version: 1, files: [], from: null });
  });
});
