import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { Session } from '../../../engine/index.js';
import { DeltaTable } from '../../../connectors/lakehouse/index.js';
import { normalizeRows } from '../../helpers/stream-test.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/delta-file-query.ts');

function writeInput(dir: string, files: number): void {
  mkdirSync(dir, { recursive: true });
  let seed = 99;
  const r = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  // Windows cross midnight, so the table has two date partitions.
  const base = Date.parse('2026-05-30T23:59:40Z');
  for (let f = 0; f < files; f++) {
    const lines = Array.from({ length: 30 }, () =>
      JSON.stringify({ user: `u${Math.floor(r() * 3)}`, amount: Math.floor(r() * 100), ts: base + f * 3000 + Math.floor(r() * 4000) - 1500 }),
    );
    const p = join(dir, `f${String(f).padStart(3, '0')}.jsonl`);
    writeFileSync(p, lines.join('\n') + '\n');
    utimesSync(p, new Date(1_000_000 + f * 1000), new Date(1_000_000 + f * 1000));
  }
}

function run(input: string, table: string, ckpt: string, kill?: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', FIXTURE, input, table, ckpt], {
    env: { ...process.env, ...(kill ? { KILL_AT: kill } : {}) },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

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
  writeInput(input, 9);
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
