// Exactly-once through process crashes for a stream–stream join: Spark's ad-monetisation left outer join runs in a
// child process that SIGKILLs itself at each phase of a batch — after the offsets, after the sink, between the two
// state tables, after the state, after the commit — including the no-data batches in which unmatched impressions are
// emitted with nulls, and is restarted until done, on the calling thread and on two worker threads, and across
// restarts that change the parallelism. The output must equal an uninterrupted run's, which equals the left outer
// join computed directly from the files.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Session } from '../../../engine/index.js';
import { runFixtureAsync, runKillChain } from '../../helpers/crash-runs.js';
import { prng } from '../../helpers/prng.js';
import type { Click, Impression } from '../../helpers/ad-click-join.js';
import { normalizeRows } from '../../helpers/stream-test.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/stream-join-query.ts');
const FILES = 8;
const MIN = 60_000;
const BASE = Date.UTC(2026, 4, 30, 9, 0);


/** File f of each side: impressions of 12 ads around minute 30·f, clicks on about half of them within 0–70 minutes. */
function writeInputs(root: string): { impressions: Impression[]; clicks: Click[] } {
  const r = prng(17);
  const impressions: Impression[] = [];
  const clicks: Click[] = [];
  mkdirSync(join(root, 'imp'), { recursive: true });
  mkdirSync(join(root, 'clk'), { recursive: true });
  let ad = 0;
  const pendingClicks: Click[] = [];
  for (let f = 0; f < FILES; f++) {
    const imp: Impression[] = Array.from({ length: 12 }, () => ({ impressionAdId: ad++, impressionTime: BASE + (30 * f + Math.floor(r() * 20)) * MIN, campaign: `c${Math.floor(r() * 3)}` }));
    for (const i of imp) if (r() < 0.55) pendingClicks.push({ clickAdId: i.impressionAdId, clickTime: i.impressionTime + Math.floor(r() * 70) * MIN });
    // clicks are written with the file whose time range they fall in (some after the hour: no match)
    const due = pendingClicks.filter((c) => c.clickTime < BASE + 30 * (f + 1) * MIN || f === FILES - 1);
    for (const c of due) pendingClicks.splice(pendingClicks.indexOf(c), 1);
    impressions.push(...imp);
    clicks.push(...due);
    const lines = (xs: object[]) => xs.map((x) => JSON.stringify(x, (k, v) => (k.endsWith('Time') ? new Date(v as number).toISOString() : v))).join('\n') + '\n';
    writeFileSync(join(root, 'imp', `f${String(f).padStart(2, '0')}.jsonl`), lines(imp));
    writeFileSync(join(root, 'clk', `f${String(f).padStart(2, '0')}.jsonl`), lines(due));
  }
  return { impressions, clicks };
}

const run = (root: string, out: string, ckpt: string, o: { kill?: string; parallelism?: number } = {}) =>
  runFixtureAsync(FIXTURE, [join(root, 'imp'), join(root, 'clk'), out, ckpt], o.kill, { PARALLELISM: String(o.parallelism ?? 1) });

async function rowsOf(out: string): Promise<string[]> {
  return normalizeRows(await new Session().read.format('parquet').load(out).collect());
}

describe('stream–stream join under SIGKILL, into parquet', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-join-crash-'));
  const { impressions, clicks } = writeInputs(root);
  let golden: string[] = [];
  let lastBatch = 0;

  it('an uninterrupted run emits the matched pairs and, in later batches, the impressions nobody clicked in time', async () => {
    const r = await run(root, join(root, 'golden'), join(root, 'golden-ckpt'));
    expect(r.status, r.stderr).toBe(0);
    lastBatch = (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { lastBatch: number }).lastBatch;
    golden = await rowsOf(join(root, 'golden'));
    // The pairs are exactly the join's; unmatched impressions appear once the watermark passes them (the last ones
    // stay in state: nothing later moves the watermark past them).
    const pairs = impressions.flatMap((i) =>
      clicks
        .filter((c) => c.clickAdId === i.impressionAdId && c.clickTime >= i.impressionTime && c.clickTime <= i.impressionTime + 60 * MIN)
        .map((c) => ({ ...i, impressionTime: new Date(i.impressionTime), clickAdId: c.clickAdId, clickTime: new Date(c.clickTime) })),
    );
    const matched = golden.filter((g) => !g.includes('"clickAdId":null'));
    expect(matched).toEqual(normalizeRows(pairs));
    const unmatched = golden.length - matched.length;
    expect(unmatched).toBeGreaterThan(5);
    expect(lastBatch).toBeGreaterThan(FILES - 1); // no-data batches after the last files
  });

  const kills = () => ['afterOffsets:1', 'afterSink:2', 'midState:3', 'afterState:3', 'afterCommit:4', 'afterSink:5', 'afterState:6', `afterSink:${lastBatch}`, `afterState:${lastBatch}`];

  it('killed at every phase of a batch (no-data batches included), restarted until done: the same rows exactly once', async () => {
    const report = await runKillChain((kill) => run(root, join(root, 'p1'), join(root, 'p1-ckpt'), { kill }), kills());
    expect(await rowsOf(join(root, 'p1')), report).toEqual(golden);
  });

  it('the same with the state on two worker threads, and with restarts that change the parallelism 2 → 1 → 2', async () => {
    const p2 = kills().filter((k) => !k.startsWith('midState'));
    const report = await runKillChain((kill) => run(root, join(root, 'p2'), join(root, 'p2-ckpt'), { kill, parallelism: 2 }), p2);
    expect(await rowsOf(join(root, 'p2')), report).toEqual(golden);
    const mixed = await runKillChain((kill, i) => run(root, join(root, 'p212'), join(root, 'p212-ckpt'), { kill, parallelism: [2, 2, 1, 1, 1, 2, 2, 1, 2, 2][i] }), kills());
    expect(await rowsOf(join(root, 'p212')), mixed).toEqual(golden);
  });
});
