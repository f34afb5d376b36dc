import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeltaTable } from '../../../connectors/lakehouse/index.js';
import { dataFrameFromSpec, Session, type PipelineSpec } from '../../../engine/index.js';
import { normalizeRows } from '../../helpers/stream-test.js';
import { backfillHooks, runBackfill } from '../../../engine/cli/backfill/backfill.js';
import { checkpointQueryId } from '../../../engine/cli/backfill/live-query.js';
import {
  DAY1,
  DAY2,
  DAY3,
  FIXTURES,
  filesByPartition,
  HOUR,
  makeOrders,
  MINUTE,
  runCli,
  salesSpec,
  startCli,
  tableRows,
  tempDir,
  writeOrders,
  writeSpec,
} from '../helpers.js';

const DAY1_TEXT = '2026-05-29';
const DAY2_TEXT = '2026-05-30';

/** Day 1 in three files, the first 8 hours of day 2. */
function firstPart(input: string): void {
  const spans: [number, number][] = [
    [DAY1, DAY1 + 8 * HOUR],
    [DAY1 + 8 * HOUR, DAY1 + 16 * HOUR],
    [DAY1 + 16 * HOUR, DAY2],
    [DAY2, DAY2 + 8 * HOUR],
  ];
  spans.forEach(([from, to], i) => writeOrders(input, `orders-${i}.jsonl`, makeOrders(200, from, to, 10 + i, i * 200, 0)));
}

/** The rest of day 2 and an order early on day 3 that closes every window of day 2. */
function secondPart(input: string): void {
  writeOrders(input, 'orders-4.jsonl', makeOrders(200, DAY2 + 8 * HOUR, DAY2 + 16 * HOUR, 14, 800, 0));
  writeOrders(input, 'orders-5.jsonl', makeOrders(200, DAY2 + 16 * HOUR, DAY3, 15, 1000, 0));
  writeOrders(input, 'orders-6.jsonl', makeOrders(1, DAY3 + 30 * MINUTE, DAY3 + 31 * MINUTE, 16, 1200, 0));
}

/** Late orders of day 1: the live query has closed day 1 when they come. */
function lateOrders(input: string): void {
  writeOrders(input, 'orders-late.jsonl', makeOrders(40, DAY1 + 2 * HOUR, DAY1 + 20 * HOUR, 77, 5000, 0));
}

/** Every window of a batch over all the input, as rows of the given dates. */
async function batchResult(spec: PipelineSpec, dates: readonly string[]): Promise<string[]> {
  const rows = await dataFrameFromSpec(spec, new Session(), { mode: 'batch' }).collect();
  return normalizeRows(rows.filter((r) => dates.includes(String(r['date']))));
}

function rowsOf(rows: readonly string[], dates: readonly string[]): string[] {
  return rows.filter((r) => dates.includes((JSON.parse(r) as { date: string }).date));
}

afterEach(() => {
  backfillHooks.faults = null;
  backfillHooks.beforeWrite = null;
});

describe('sluice backfill with a live query on the same table', () => {
  it('folds late data into the range, leaves other partitions untouched, and ends equal to the batch result', async () => {
    const dir = tempDir('sluice-bf-live-');
    const input = join(dir, 'in');
    const lake = join(dir, 'lake');
    const checkpoint = join(dir, 'ckpt');
    const spec = salesSpec({ input, lake, checkpoint });
    const file = writeSpec(dir, 'sales.json', spec);
    firstPart(input);
    const live = startCli(['run', file], { cwd: dir });
    try {
      // Day 1 closes once a batch runs with a watermark in day 2.
      await live.waitFor(/^batch \d+: 0 rows in, \d+ rows out, watermark 2026-05-30T07:47:36\.000Z/m);
      lateOrders(input);
      await live.waitFor(/^batch \d+: 40 rows in, 0 rows out, watermark 2026-05-30T07:47:36\.000Z, \d+ dropped as late/m);
      const liveDay1 = rowsOf(await tableRows(lake), [DAY1_TEXT]);
      expect(liveDay1.length).toBe(72);
      const day2Before = (await filesByPartition(lake)).get(DAY2_TEXT) ?? [];
      expect(day2Before.length).toBeGreaterThan(0);

      // The live query gets the rest of day 2 while the backfill runs: it keeps committing meanwhile.
      secondPart(input);
      const r = await runCli(['backfill', file, '--from', '2026-05-29T00:00:00Z', '--to', '2026-05-30T00:00:00Z', '--json'], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const result = JSON.parse(r.stdout) as { version: number; partitions: string[]; replaceWhere: unknown; live: { queryId: string; finalUpTo: string } };
      expect(result.partitions).toEqual([DAY1_TEXT]);
      expect(result.replaceWhere).toEqual({ date: { gte: DAY1_TEXT, lt: DAY2_TEXT } });
      expect(result.live.queryId).toBe(checkpointQueryId(checkpoint));
      expect(Date.parse(result.live.finalUpTo)).toBeGreaterThanOrEqual(DAY2);

      // One commit: removes only day-1 files, adds only day-1 files.
      const commit = readFileSync(join(lake, '_delta_log', `${String(result.version).padStart(20, '0')}.json`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, { partitionValues?: Record<string, string>; operation?: string }>);
      const removes = commit.filter((a) => a['remove']).map((a) => a['remove']!.partitionValues!['date']);
      const adds = commit.filter((a) => a['add']).map((a) => a['add']!.partitionValues!['date']);
      expect(new Set(removes)).toEqual(new Set([DAY1_TEXT]));
      expect(new Set(adds)).toEqual(new Set([DAY1_TEXT]));
      expect(commit.find((a) => a['commitInfo'])!['commitInfo']!.operation).toBe('WRITE');
      // Partitions outside the range: the same files (the live query may only have added more).
      const day2After = (await filesByPartition(lake)).get(DAY2_TEXT) ?? [];
      expect(day2After).toEqual(expect.arrayContaining(day2Before));

      // The late orders are in day 1 now.
      const day1 = rowsOf(await tableRows(lake), [DAY1_TEXT]);
      expect(day1).toEqual(await batchResult(spec, [DAY1_TEXT]));
      expect(day1).not.toEqual(liveDay1);

      // The live query keeps running undisturbed and closes day 2.
      await live.waitFor(/^batch \d+: 0 rows in, \d+ rows out, watermark 2026-05-31T00:20:00\.000Z/m);
    } finally {
      live.signal('SIGINT');
    }
    const end = await live.exited;
    expect(end.code, `${end.stdout}\n${end.stderr}`).toBe(130);
    expect(end.stderr).toBe('');
    const all = await tableRows(lake);
    expect(rowsOf(all, [DAY1_TEXT, DAY2_TEXT])).toEqual(await batchResult(spec, [DAY1_TEXT, DAY2_TEXT]));
    expect(all.length).toBe(rowsOf(all, [DAY1_TEXT, DAY2_TEXT]).length);
  });

  /** A table written by a finished live query, late data in the input, and the query's id and last batch. */
  async function finishedLive(name: string) {
    const dir = tempDir(`sluice-bf-${name}-`);
    const input = join(dir, 'in');
    const lake = join(dir, 'lake');
    const checkpoint = join(dir, 'ckpt');
    const spec = salesSpec({ input, lake, checkpoint });
    const file = writeSpec(dir, 'sales.json', spec);
    firstPart(input);
    secondPart(input);
    expect(await runCli(['run', file, '--trigger', 'available-now'], { cwd: dir })).toMatchObject({ code: 0 });
    lateOrders(input);
    const queryId = checkpointQueryId(checkpoint)!;
    const table = DeltaTable.forPath(lake);
    const batch = (await table.snapshot()).txnVersion(queryId);
    /** Appends one day-1 row, as a live batch would (with its txn) or as any other writer. */
    const appendDay1 = async (txn: { appId: string; version: number } | null) => {
      const schema = await table.schema();
      const rows = (await new Session().read.format('delta').load(lake).collect()).filter((r) => r['date'] === DAY1_TEXT).slice(0, 1);
      const batches = await new Session().createDataFrame(rows, schema).toBatches();
      await DeltaTable.forPath(lake).write(batches, { mode: 'append', schema, ...(txn ? { txn } : {}) });
    };
    return { spec, file, lake, queryId, batch, appendDay1 };
  }

  it('starts over when the live query commits into a replaced partition before the backfill writes', async () => {
    const t = await finishedLive('race');
    let injected = false;
    backfillHooks.beforeWrite = async () => {
      if (injected) return;
      injected = true;
      await t.appendDay1({ appId: t.queryId, version: t.batch + 1 });
    };
    const retries: string[] = [];
    const r = await runBackfill({ spec: t.spec, file: t.file, range: { fromMs: DAY1, toMs: DAY2 } }, () => new Session(), null, (why) => retries.push(why));
    expect(retries).toEqual([expect.stringMatching(/the live query committed into a partition being replaced while the backfill ran/)]);
    expect(r.attempts).toBe(2);
    expect(r.plan.live!.tableBatch).toBe(t.batch + 1);
    expect(rowsOf(await tableRows(t.lake), [DAY1_TEXT])).toEqual(await batchResult(t.spec, [DAY1_TEXT]));
  });

  it('starts over when another commit lands in a replaced partition during its write (Delta conflict)', async () => {
    const t = await finishedLive('conflict');
    let injected = false;
    backfillHooks.faults = {
      afterDataWritten: async () => {
        if (injected) return;
        injected = true;
        await t.appendDay1(null);
      },
    };
    const retries: string[] = [];
    const r = await runBackfill({ spec: t.spec, file: t.file, range: { fromMs: DAY1, toMs: DAY2 } }, () => new Session(), null, (why) => retries.push(why));
    expect(retries).toEqual([expect.stringMatching(/added '.*' to partition date=2026-05-29, which this WRITE replaces/)]);
    expect(r.attempts).toBe(2);
    expect(rowsOf(await tableRows(t.lake), [DAY1_TEXT])).toEqual(await batchResult(t.spec, [DAY1_TEXT]));
  });
});

describe('sluice backfill without a live query', () => {
  it('replaces exactly the widened partitions in one commit', async () => {
    const dir = tempDir('sluice-bf-batch-');
    const input = join(dir, 'in');
    const lake = join(dir, 'lake');
    const spec = salesSpec({ input, lake, checkpoint: join(dir, 'ckpt') });
    const file = writeSpec(dir, 'sales.json', spec);
    firstPart(input);
    secondPart(input);
    expect(await runCli(['batch', file], { cwd: dir })).toMatchObject({ code: 0 });
    lateOrders(input);
    const before = await filesByPartition(lake);
    const version = await DeltaTable.forPath(lake).version();
    // A range inside day 1 replaces all of day 1 (widened), and nothing else.
    const r = await runCli(['backfill', file, '--from', '2026-05-29T10:00:00Z', '--to', '2026-05-29T11:00:00Z'], { cwd: dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^backfill sales: replaced 1 partition\(s\) \(date >= '2026-05-29' AND date < '2026-05-30'\) in one commit: version \d+, 72 rows written, 1 file\(s\) added, 1 removed/m);
    expect(r.stdout).toMatch(/^sales: 8\/8 files \(100%\), ETA /m);
    expect(await DeltaTable.forPath(lake).version()).toBe(version + 1);
    const after = await filesByPartition(lake);
    expect(after.get(DAY2_TEXT)).toEqual(before.get(DAY2_TEXT));
    expect(after.get('2026-05-31')).toEqual(before.get('2026-05-31'));
    expect(after.get(DAY1_TEXT)).not.toEqual(before.get(DAY1_TEXT));
    expect(await tableRows(lake)).toEqual(await batchResult(spec, [DAY1_TEXT, DAY2_TEXT, '2026-05-31']));
  });

  it('refuses to empty partitions when the recompute finds no rows', async () => {
    const dir = tempDir('sluice-bf-empty-');
    const input = join(dir, 'in');
    const lake = join(dir, 'lake');
    const spec = salesSpec({ input, lake, checkpoint: join(dir, 'ckpt') });
    firstPart(input);
    const file = writeSpec(dir, 'sales.json', spec);
    expect(await runCli(['batch', file], { cwd: dir })).toMatchObject({ code: 0 });
    const moved = writeSpec(dir, 'moved.json', { ...spec, source: { ...spec.source, path: join(dir, 'empty') } });
    writeOrders(join(dir, 'empty'), 'x.jsonl', makeOrders(1, DAY3, DAY3 + 1, 1));
    const r = await runCli(['backfill', moved, '--from', '2026-05-29', '--to', '2026-05-30'], { cwd: dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.stderr).toContain('produced no rows, but the table has 1 partition(s) there');
  });
});

describe('a crash in the middle of a backfill', () => {
  for (const at of ['afterDataWritten', 'beforeCommit']) {
    it(`leaves the table as it was (killed ${at})`, async () => {
      const dir = tempDir('sluice-bf-crash-');
      const input = join(dir, 'in');
      const lake = join(dir, 'lake');
      const spec = salesSpec({ input, lake, checkpoint: join(dir, 'ckpt') });
      const file = writeSpec(dir, 'sales.json', spec);
      firstPart(input);
      secondPart(input);
      expect(await runCli(['batch', file], { cwd: dir })).toMatchObject({ code: 0 });
      lateOrders(input);
      const version = await DeltaTable.forPath(lake).version();
      const files = await filesByPartition(lake);
      const rows = await tableRows(lake);
      const r = await runCli(['backfill', file, '--from', '2026-05-29', '--to', '2026-05-30'], { cwd: dir, script: join(FIXTURES, 'crash-backfill.ts'), env: { CRASH_AT: at } });
      expect(r.signal).toBe('SIGKILL');
      expect(await DeltaTable.forPath(lake).version()).toBe(version);
      expect(await filesByPartition(lake)).toEqual(files);
      expect(await tableRows(lake)).toEqual(rows);
      // The new files were written but never committed: invisible until vacuum deletes them.
      const onDisk = readdirSync(join(lake, `date=${DAY1_TEXT}`)).filter((f) => f.endsWith('.parquet'));
      expect(onDisk.length).toBe(files.get(DAY1_TEXT)!.length + 1);
      // Running it again completes.
      const again = await runCli(['backfill', file, '--from', '2026-05-29', '--to', '2026-05-30'], { cwd: dir });
      expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
      expect(rowsOf(await tableRows(lake), [DAY1_TEXT])).toEqual(await batchResult(spec, [DAY1_TEXT]));
    });
  }
});
