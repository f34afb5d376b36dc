/**
 * transformWithState on worker threads: processors given by module reference run next to their partition of state,
 * with the same results as on one thread; a class without a module still runs (on the calling thread); a reference
 * that does not load is refused by name.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { col, MemoryStream, Session, type StreamingQueryProgress } from '../../../engine/index.js';
import { addData, assertProgress, checkNewAnswer, expectFailure, normalizeRows, processAllAvailable, startStream, stopStream, testStream } from '../../helpers/stream-test.js';
import { prng } from '../../helpers/prng.js';
import { ALERT_SCHEMA, FailedLoginDetector, LOGIN_SCHEMA, LockoutAlerter, RANKED_SCHEMA, SCORE_SCHEMA, TopThree } from './fixtures/processors.js';

const FIXTURES = new URL('./fixtures/processors.ts', import.meta.url).href;
const ref = (name: string) => ({ module: FIXTURES, export: name });
const T0 = Date.parse('2026-05-30T10:00:00Z');

type Row = Record<string, unknown>;

/** `batches` batches of logins of 24 users, times increasing from batch to batch (none late), 60 % failures. */
function logins(batches: number, perBatch: number, seed: number): { user: string; success: boolean; ts: number }[][] {
  const r = prng(seed);
  let clock = T0;
  return Array.from({ length: batches }, () =>
    Array.from({ length: perBatch }, () => {
      clock += 1000 + Math.floor(r() * 20_000);
      return { user: `u${Math.floor(r() * 24)}`, success: r() < 0.4, ts: clock };
    }),
  );
}

/** The detector's alerts computed by hand: each user's logins in time order, 3 failures in a row alert. */
function expectedAlerts(rows: readonly { user: string; success: boolean; ts: number }[]): Row[] {
  const fails = new Map<string, number>();
  const out: Row[] = [];
  for (const r of [...rows].sort((a, b) => a.ts - b.ts)) {
    if (r.success) {
      fails.delete(r.user);
      continue;
    }
    const n = (fails.get(r.user) ?? 0) + 1;
    if (n >= 3) {
      out.push({ user: r.user, reason: '3 failed logins', at: new Date(r.ts) });
      fails.delete(r.user);
    } else fails.set(r.user, n);
  }
  return out;
}

const PARALLELISMS = [
  ['inline', { parallelism: 1 }],
  ['on 2 worker threads', { parallelism: 2, parallelThresholdRows: 1, parallelMinRowNs: 0 }],
] as const;

const instances = (p: StreamingQueryProgress) => p.stateOperators[0]!.numStateStoreInstances;

describe('transformWithState on worker threads', () => {
  const data = logins(4, 80, 7);
  const golden = expectedAlerts(data.flat());

  it('the generated logins raise alerts (the comparisons below compare something)', () => {
    expect(golden.length).toBeGreaterThan(10);
  });

  for (const [where, conf] of PARALLELISMS) {
    it(`the detector by module reference gives the hand-computed alerts, across a restart (${where})`, async () => {
      const session = new Session({ conf });
      const input = new MemoryStream(session, LOGIN_SCHEMA);
      const df = input.toDF().groupByKey(col('user')).transformWithState(FailedLoginDetector, {
        outputSchema: ALERT_SCHEMA,
        module: ref('FailedLoginDetector'),
      });
      const sink = await testStream(df, { outputMode: 'append' }, [
        addData(input, data[0]!),
        addData(input, data[1]!),
        processAllAvailable(),
        assertProgress('state partitions where asked', (p) => expect(instances(p)).toBe(conf.parallelism)),
        stopStream(),
        startStream(),
        addData(input, data[2]!),
        processAllAvailable(),
        addData(input, data[3]!),
        processAllAvailable(),
      ]);
      expect(normalizeRows(sink.allRows())).toEqual(normalizeRows(golden));
    });
  }

  it('restarts that change the parallelism (1 → 2 → 1 → 2) keep the state: the alerts are the hand-computed ones', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-tws-parallelism-'));
    const [input, output, checkpoint] = ['in', 'out', 'checkpoint'].map((d) => join(root, d)) as [string, string, string];
    mkdirSync(input);
    const seen: number[] = [];
    for (const [i, rows] of data.entries()) {
      writeFileSync(join(input, `part-${i}.jsonl`), rows.map((r) => JSON.stringify({ ...r, ts: new Date(r.ts).toISOString() })).join('\n') + '\n');
      const conf = PARALLELISMS[i % 2]![1];
      const q = new Session({ conf })
        .readStream.format('jsonl')
        .schema(LOGIN_SCHEMA)
        .load(input)
        .groupByKey(col('user'))
        .transformWithState(FailedLoginDetector, { outputSchema: ALERT_SCHEMA, module: ref('FailedLoginDetector') })
        .writeStream.format('jsonl')
        .option('path', output)
        .option('checkpointLocation', checkpoint)
        .trigger({ availableNow: true })
        .start();
      await q.awaitTermination();
      seen.push(...q.recentProgress.filter((p: StreamingQueryProgress) => p.numInputRows > 0).map(instances));
    }
    expect(seen).toEqual([1, 2, 1, 2]);
    const rows = await new Session().read.format('jsonl').schema(ALERT_SCHEMA).option('mode', 'failFast').load(output).collect();
    expect(normalizeRows(rows)).toEqual(normalizeRows(golden));
  });

  it('the lockout timers and the top-3 give the same rows on 1 and 2 threads (processor given as a module reference only)', async () => {
    const run = async (conf: (typeof PARALLELISMS)[number][1]) => {
      const session = new Session({ conf });
      const input = new MemoryStream(session, LOGIN_SCHEMA);
      const df = input
        .toDF()
        .withWatermark('ts', '1 minute')
        .groupByKey(col('user'))
        .transformWithState(ref('LockoutAlerter'), { outputSchema: ALERT_SCHEMA, timeMode: 'eventTime' });
      const scores = new MemoryStream(session, SCORE_SCHEMA);
      const top = scores.toDF().groupByKey(col('user')).transformWithState(ref('TopThree'), { outputSchema: RANKED_SCHEMA, outputMode: 'update' });
      const r = prng(11);
      const scoreBatches = data.map((b) => b.map((l) => ({ user: l.user, item: `i${Math.floor(r() * 9)}`, score: Math.floor(r() * 100) })));
      const steps = data.flatMap((b) => [addData(input, b), processAllAvailable()]);
      const alerts = await testStream(df, { outputMode: 'append' }, [
        ...steps,
        assertProgress('state partitions where asked', (p) => expect(instances(p)).toBe(conf.parallelism)),
      ]);
      const ranked = await testStream(top, { outputMode: 'update' }, scoreBatches.flatMap((b) => [addData(scores, b), processAllAvailable()]));
      return { alerts: normalizeRows(alerts.allRows()), ranked: normalizeRows(ranked.allRows()) };
    };
    const one = await run(PARALLELISMS[0][1]);
    const two = await run(PARALLELISMS[1][1]);
    expect(one.alerts.filter((a) => a.includes('locked out')).length).toBeGreaterThan(0);
    expect(one.ranked.length).toBeGreaterThan(0);
    expect(two).toEqual(one);
  });

  it('a class given without a module on 2 threads still runs, on the calling thread, with the same alerts', async () => {
    class LocalDetector extends FailedLoginDetector {}
    const session = new Session({ conf: PARALLELISMS[1][1] });
    const input = new MemoryStream(session, LOGIN_SCHEMA);
    const df = input.toDF().groupByKey(col('user')).transformWithState(LocalDetector, { outputSchema: ALERT_SCHEMA });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const sink = await testStream(df, { outputMode: 'append' }, [
        ...data.flatMap((b) => [addData(input, b), processAllAvailable()]),
        assertProgress('the note in progress', (p) => expect(p.stateOperators[0]!.placementNote).toMatch(/given without a module reference.*module: \{ module: new URL/)),
      ]);
      expect(normalizeRows(sink.allRows())).toEqual(normalizeRows(golden));
      const notes = warn.mock.calls.map((c) => String(c[0])).filter((m) => /stays on the calling thread/.test(m));
      expect(notes).toHaveLength(1); // one line in the log, not one per batch
      expect(notes[0]).toMatch(/^sluice: .*stays on the calling thread: the processor class was given without a module reference/);
    } finally {
      warn.mockRestore();
    }
  });

  it('a module reference that does not load on the workers is refused, naming the module and the export', async () => {
    const session = new Session({ conf: PARALLELISMS[1][1] });
    const input = new MemoryStream(session, LOGIN_SCHEMA);
    const df = input.toDF().groupByKey(col('user')).transformWithState(ref('NoSuchProcessor'), { outputSchema: ALERT_SCHEMA });
    await testStream(df, { outputMode: 'append' }, [
      addData(input, data[0]!),
      expectFailure(/(?=[\s\S]*NoSuchProcessor)(?=[\s\S]*fixtures\/processors)/),
    ]);
  });

  it('the top-3 by module reference on 2 threads keeps every map entry across a restart', async () => {
    const session = new Session({ conf: PARALLELISMS[1][1] });
    const scores = new MemoryStream(session, SCORE_SCHEMA);
    const top = scores.toDF().groupByKey(col('user')).transformWithState(TopThree, { outputSchema: RANKED_SCHEMA, module: ref('TopThree') });
    await testStream(top, { outputMode: 'append' }, [
      addData(scores, [
        { user: 'a', item: 'x', score: 1 },
        { user: 'b', item: 'x', score: 2 },
        { user: 'c', item: 'x', score: 3 },
      ]),
      checkNewAnswer([
        { user: 'a', rank: 1, item: 'x', score: 1 },
        { user: 'b', rank: 1, item: 'x', score: 2 },
        { user: 'c', rank: 1, item: 'x', score: 3 },
      ]),
      stopStream(),
      startStream(),
      addData(scores, [
        { user: 'a', item: 'y', score: 5 },
        { user: 'c', item: 'y', score: 0 },
      ]),
      checkNewAnswer([
        { user: 'a', rank: 1, item: 'y', score: 5 },
        { user: 'a', rank: 2, item: 'x', score: 1 },
        { user: 'c', rank: 1, item: 'x', score: 3 },
        { user: 'c', rank: 2, item: 'y', score: 0 },
      ]),
      assertProgress('3 users, 5 entries, 2 partitions', (p) => {
        expect(p.stateOperators[0]!.numRowsTotal).toBe(5);
        expect(instances(p)).toBe(2);
      }),
    ]);
  });
});
