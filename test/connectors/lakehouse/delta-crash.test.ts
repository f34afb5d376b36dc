import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { Session } from '../../../engine/index.js';
import { DeltaTable } from '../../../connectors/lakehouse/index.js';
import { normalizeRows } from '../../helpers/stream-test.js';
import { runFixture, writeEventFiles } from '../../helpers/crash-runs.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/delta-file-query.ts');

const run = (input: string, table: string, ckpt: string, kill?: string) => runFixture(FIXTURE, [input, table, ckpt], kill);

async function readBoth(table: string): Promise<{ sluice: string[]; duck: string[] }> {
  const session = new Session();
  const rows = await session.read.format('delta').load(table).collect();
  const files = await DeltaTable.forPath(table).files();
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const list = files.map((f) => `'${join(table, decodeURIComponent(f)).replace(/'/g, "''")}'`).join(',');
  const r = await c.runAndReadAll(`SELECT "window".start AS s, "window"."end" AS e, "user", n, total, CAST(date AS VARCHAR) AS date FROM read_parquet([${list}], hive_partitioning=true)`);
  const duck = r.getRowObjectsJson().map((x) => JSON.stringify([String(x['s']), x['user'], Number(x['n']), Number(x['total']), x['date']])).sort();
  c.closeSync();
  return { sluice: normalizeRows(rows), duck };
}

describe('Delta sink under SIGKILL', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-delta-crash-'));
  const input = join(root, 'in');
  // Windows cross midnight, so the table has two date partitions.
  writeEventFiles(input, 9, { seed: 99, base: Date.parse('2026-05-30T23:59:40Z') });
  const golden = (() => {
    const r = run(input, join(root, 'golden'), join(root, 'golden-ckpt'));
    if (r.status !== 0) throw new Error(r.stderr);
    return join(root, 'golden');
  })();

  for (const point of ['midParquet', 'beforeLogCommit', 'afterLogCommit']) {
    it(`killed ${point} of batches 1, 4 and 7, then restarted until done: every row exactly once, for sluice and DuckDB`, async () => {
      const table = join(root, `t-${point}`);
      const ckpt = join(root, `c-${point}`);
      for (const batch of [1, 4, 7]) {
        const r = run(input, table, ckpt, `${point}:${batch}`);
        expect(r.signal, `expected a SIGKILL at ${point}:${batch}; stderr: ${r.stderr.slice(-500)}`).toBe('SIGKILL');
      }
      const done = run(input, table, ckpt);
      expect(done.status, done.stderr).toBe(0);
      const want = await readBoth(golden);
      const got = await readBoth(table);
      expect(want.sluice.length).toBeGreaterThan(5);
      expect(got.sluice).toEqual(want.sluice);
      expect(got.duck).toEqual(want.duck);
      expect(got.duck.length).toBe(got.sluice.length);
    });
  }
});
