import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { Session } from '../../../engine/index.js';
import { normalizeRows } from '../../helpers/stream-test.js';
import { runFixture, writeEventFiles } from '../../helpers/crash-runs.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/file-sink-query.ts');

const run = (input: string, out: string, ckpt: string, kill?: string) => runFixture(FIXTURE, [input, out, ckpt], kill);

/** The files the log commits, read here without sluice's reader: the latest N.compact and every entry after it. */
function committedFiles(out: string): string[] {
  const dir = join(out, '_spark_metadata');
  const names = readdirSync(dir).filter((n) => /^\d+(\.compact)?$/.test(n));
  const from = Math.max(-1, ...names.filter((n) => n.endsWith('.compact')).map((n) => parseInt(n)));
  const entries = names
    .filter((n) => parseInt(n) > from || n === `${from}.compact`)
    .flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').slice(1).filter(Boolean).map((l) => JSON.parse(l) as { path: string; action: string }));
  const deleted = new Set(entries.filter((e) => e.action === 'delete').map((e) => e.path));
  return entries.filter((e) => e.action === 'add' && !deleted.has(e.path)).map((e) => fileURLToPath(e.path)).sort();
}

async function duckRows(files: readonly string[]): Promise<string[]> {
  if (files.length === 0) return [];
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const list = files.map((f) => `'${f.replace(/'/g, "''")}'`).join(',');
  const r = await c.runAndReadAll(`SELECT epoch_ms("start") AS s, "user", n, total FROM read_parquet([${list}])`);
  c.closeSync();
  return r.getRowObjectsJson().map((x) => JSON.stringify([Number(x['s']), x['user'], Number(x['n']), Number(x['total'])])).sort();
}

async function readBoth(out: string): Promise<{ sluice: string[]; duck: string[]; orphans: number }> {
  const rows = await new Session().read.format('parquet').load(out).collect();
  const files = committedFiles(out);
  const parts = readdirSync(out).filter((n) => n.startsWith('part-')).length;
  return { sluice: normalizeRows(rows), duck: await duckRows(files), orphans: parts - files.length };
}

describe('File sink under SIGKILL', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-fsink-crash-'));
  const input = join(root, 'in');
  writeEventFiles(input, 12, { seed: 7, base: Date.parse('2026-05-30T09:55:00Z') });
  const golden = (() => {
    const r = run(input, join(root, 'golden'), join(root, 'golden-ckpt'));
    if (r.status !== 0) throw new Error(r.stderr);
    return join(root, 'golden');
  })();

  for (const point of ['afterDataFiles', 'afterLogEntry']) {
    it(`killed ${point} of batches 1, 5 and 9 (the compaction), then restarted until done: every row exactly once, for sluice and DuckDB`, async () => {
      const out = join(root, `o-${point}`);
      const ckpt = join(root, `c-${point}`);
      for (const batch of [1, 5, 9]) {
        const r = run(input, out, ckpt, `${point}:${batch}`);
        expect(r.signal, `expected a SIGKILL at ${point}:${batch}; stderr: ${r.stderr.slice(-500)}`).toBe('SIGKILL');
      }
      const done = run(input, out, ckpt);
      expect(done.status, done.stderr).toBe(0);
      const want = await readBoth(golden);
      const got = await readBoth(out);
      expect(want.sluice.length).toBeGreaterThan(5);
      expect(readdirSync(join(out, '_spark_metadata'))).toContain('9.compact');
      expect(want.duck.length).toBe(want.sluice.length);
      expect(got.sluice).toEqual(want.sluice);
      expect(got.duck).toEqual(want.duck);
      // Killed before the log entry, the batch's part files stay in the folder, unlisted; after it, none are left over.
      if (point === 'afterDataFiles') expect(got.orphans).toBeGreaterThan(0);
      else expect(got.orphans).toBe(0);
    });
  }
});
