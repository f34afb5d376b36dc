// Exactly-once through process crashes for transformWithState: the lockout detector (an event-time timer per locked-out
// user, a ValueState with a TTL in processing time) runs in a child process that SIGKILLs itself at each phase of a
// batch, including the no-data batch that only fires timers, and is restarted until done. The Delta table must then
// hold exactly the alerts of an uninterrupted run (read by sluice and by DuckDB), which are the ones the oracle
// written from SEMANTICS §3 and §10 calls for — on the calling thread, on two worker threads, and across restarts that
// change the parallelism.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { Session } from '../../../engine/index.js';
import { DeltaTable } from '../../../connectors/lakehouse/index.js';
import { runFixtureAsync, runKillChain } from '../../helpers/crash-runs.js';
import { prng } from '../../helpers/prng.js';
import { BATCH_TIME_BASE, BATCH_TIME_STEP, expectedAlerts, firstBatchWithAlerts, sortAlerts, writeLoginFiles, type AlertKey } from '../../helpers/tws-logins.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/tws-lockout-query.ts');
const FILES = 24;

const run = (input: string, table: string, ckpt: string, o: { kill?: string; parallelism?: number; timeMode?: 'eventTime' | 'processingTime' } = {}) =>
  runFixtureAsync(FIXTURE, [input, 'delta', table, ckpt], o.kill, { PARALLELISM: String(o.parallelism ?? 1), TIME_MODE: o.timeMode ?? 'eventTime' });

/** The table's alerts read by sluice and, from the files the Delta log lists, by DuckDB. */
async function readAlerts(table: string): Promise<{ sluice: string[]; duck: string[] }> {
  const rows = await new Session().read.format('delta').load(table).collect();
  const sluice = sortAlerts(rows.map((r) => [r['user'], r['reason'], (r['at'] as Date).getTime(), (r['processedAt'] as Date).getTime()] as AlertKey));
  const files = await DeltaTable.forPath(table).files();
  if (files.length === 0) return { sluice, duck: [] };
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const list = files.map((f) => `'${join(table, decodeURIComponent(f)).replace(/'/g, "''")}'`).join(',');
  const r = await c.runAndReadAll(`SELECT "user", reason, epoch_ms("at") AS at, epoch_ms("processedAt") AS p FROM read_parquet([${list}])`);
  c.closeSync();
  const duck = sortAlerts(r.getRowObjectsJson().map((x) => [String(x['user']), String(x['reason']), Number(x['at']), Number(x['p'])] as AlertKey));
  return { sluice, duck };
}

/** The state partitions each `commits/N` records for the detector (absent: 1), by batch id. */
function commitPartitions(ckpt: string): number[] {
  const dir = join(ckpt, 'commits');
  const ids = readdirSync(dir).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
  return ids.map((id) => {
    const body = JSON.parse(readFileSync(join(dir, String(id)), 'utf8').split('\n')[1]!) as { statePartitions?: Record<string, number> };
    return Object.values(body.statePartitions ?? {})[0] ?? 1;
  });
}

/** `xs` without consecutive repeats: [2, 2, 1, 2, 2] → [2, 1, 2]. */
const runsOf = (xs: readonly number[]) => xs.filter((x, i) => i === 0 || x !== xs[i - 1]);

describe('transformWithState under SIGKILL, into Delta', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-tws-crash-'));
  const input = join(root, 'in');
  const logins = writeLoginFiles(input, { files: FILES, seed: 11 });
  const oracle = expectedAlerts(logins);
  const want = sortAlerts(oracle.alerts);
  // Delta's own kill points need a batch with data files to write
  const withOutput = (from: number) => firstBatchWithAlerts(oracle, from);
  const last = FILES; // the no-data batch after the last file: only timers fire in it

  it('an uninterrupted run emits the alerts the oracle calls for: locks, lockouts (some in the no-data batch) and TTL-forgotten failures', async () => {
    const r = await run(input, join(root, 'golden'), join(root, 'golden-ckpt'));
    expect(r.status, r.stderr).toBe(0);
    const done = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { lastBatch: number; late: number };
    // batch `last` fires the remaining timers; a later no-data batch may follow for the TTL's cleanup (processing time)
    expect(done.lastBatch).toBeGreaterThanOrEqual(last);
    expect(done.late).toBe(oracle.late);
    expect(oracle.late).toBeGreaterThan(0);
    expect(oracle.byBatch[last]!.length).toBeGreaterThan(0);
    expect(new Set(oracle.alerts.map((a) => a[1])).size).toBe(2);
    const got = await readAlerts(join(root, 'golden'));
    expect(got.sluice).toEqual(want);
    expect(got.duck).toEqual(want);
  });

  it('the oracle depends on the TTL: remembering failures forever would lock out other users', () => {
    // a check of the test itself: with the TTL the run differs from one without (see tws-logins.ts)
    expect(sortAlerts(expectedAlerts(logins, { ttlMs: Infinity }).alerts)).not.toEqual(want);
  });

  /** Kills the run at each `<point>:<batch>` in turn, runs it to the end, and compares the table with the oracle. */
  async function chain(name: string, kills: readonly string[], parallelism: (run: number) => number, partitions: number[]): Promise<void> {
    const table = join(root, `t-${name}`);
    const ckpt = join(root, `c-${name}`);
    const report = await runKillChain((kill, i) => run(input, table, ckpt, { kill, parallelism: parallelism(i) }), kills);
    // where the state was: batches committed inline record 1 partition, on the workers 2 (a restart with parallelism 2
    // keeps an inline state on the calling thread until a batch brings rows)
    expect(runsOf(commitPartitions(ckpt)), report).toEqual(partitions);
    const got = await readAlerts(table);
    expect(got.sluice, report).toEqual(want);
    expect(got.duck, report).toEqual(want);
  }

  // Every phase of a batch, a batch killed three times (its re-runs killed again), the state written for one table of
  // three (midState: on the calling thread, where the tables are written), and the no-data batch at three phases.
  const kills = () => [
    'afterOffsets:1',
    `midParquet:${withOutput(2)}`,
    `beforeLogCommit:${withOutput(withOutput(2) + 1)}`,
    `afterSink:${withOutput(8)}`,
    `midState:${withOutput(8)}`,
    `afterState:${withOutput(8)}`,
    `afterCommit:${withOutput(12)}`,
    `afterState:${withOutput(16)}`,
    `beforeLogCommit:${last}`,
    `afterSink:${last}`,
    `afterState:${last}`,
  ];

  it('killed at every phase of a batch, then restarted until done: every alert exactly once (sluice and DuckDB)', async () => {
    await chain('p1', kills(), () => 1, [1]);
  });

  it('the same with the state on two worker threads', async () => {
    await chain('p2', kills().filter((k) => !k.startsWith('midState')), () => 2, [2]);
  });

  it('killed at random moments on two worker threads (wherever the batch is: reading, in the workers, writing), restarted until done: the same alerts', async () => {
    const table = join(root, 't-timers');
    const ckpt = join(root, 'c-timers');
    const r = prng(2026);
    const report: string[] = [];
    for (let i = 0; i < 30; i++) {
      const kill = `timer:${50 + Math.floor(r() * 300)}`;
      const res = await run(input, table, ckpt, { kill, parallelism: 2 });
      report.push(`${kill} → ${res.signal ?? `exit ${res.status}`}`);
      if (res.status === 0) break;
      expect(res.signal, `${report.join('\n')}\n${res.stderr.slice(-2000)}`).toBe('SIGKILL');
    }
    expect(report.at(-1), report.join('\n')).toMatch(/exit 0$/);
    expect(report.filter((x) => x.endsWith('SIGKILL')).length, report.join('\n')).toBeGreaterThanOrEqual(3);
    const got = await readAlerts(table);
    expect(got.sluice, report.join('\n')).toEqual(want);
    expect(got.duck, report.join('\n')).toEqual(want);
  });

  it('the same with restarts that change the parallelism 2 → 1 → 2', async () => {
    await chain('p212', kills(), (i) => [2, 2, 1, 1, 1, 1, 2, 2, 1, 2, 2, 2][i]!, [2, 1, 2, 1]);
  });
});

// The same detector with processing-time timers (a lock ends a minute of batch time after the batch that took it):
// timers come due as the batch clock moves, in data batches and in a no-data batch after the last file, which the
// runtime runs because a timer is due. Compared with an uninterrupted run.
describe('transformWithState with processing-time timers under SIGKILL, into Delta', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-tws-crash-pt-'));
  const input = join(root, 'in');
  writeLoginFiles(input, { files: FILES, seed: 11 });
  const batchOf = (a: AlertKey) => (a[3] - BATCH_TIME_BASE) / BATCH_TIME_STEP;

  it('killed at every phase of a batch and of the no-data batches after the input: the alerts of an uninterrupted run, exactly once', async () => {
    const g = await run(input, join(root, 'golden'), join(root, 'golden-ckpt'), { timeMode: 'processingTime' });
    expect(g.status, g.stderr).toBe(0);
    const lastBatch = (JSON.parse(g.stdout.trim().split('\n').at(-1)!) as { lastBatch: number }).lastBatch;
    const golden = await readAlerts(join(root, 'golden'));
    expect(golden.duck).toEqual(golden.sluice);
    const lockouts = golden.sluice.map((x) => JSON.parse(x) as AlertKey).filter((a) => a[1] === 'locked out 1 minute');
    expect(lockouts.length).toBeGreaterThan(3);
    // a timer fired in the no-data batch after the last file
    expect(lockouts.some((a) => batchOf(a) === FILES)).toBe(true);
    expect(lastBatch).toBeGreaterThanOrEqual(FILES);

    const table = join(root, 't');
    const ckpt = join(root, 'c');
    const kills = ['afterOffsets:2', 'afterSink:6', 'midState:6', 'afterState:6', 'afterCommit:13', 'afterSink:17', `afterSink:${FILES}`, `afterState:${FILES}`, `afterOffsets:${lastBatch}`];
    const report = await runKillChain((kill) => run(input, table, ckpt, { kill, timeMode: 'processingTime' }), kills);
    const got = await readAlerts(table);
    expect(got.sluice, report).toEqual(golden.sluice);
    expect(got.duck, report).toEqual(golden.sluice);
  });
});

