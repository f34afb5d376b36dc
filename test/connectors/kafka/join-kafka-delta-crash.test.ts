// Exactly-once through process crashes for a Kafka → stream–stream join → Delta pipeline: impressions and clicks
// (JSON values, two topics of 2 partitions, produced up front in slices) are read with maxOffsetsPerTrigger over
// many micro-batches and joined left outer with watermarks on both sides and a time range (a click within an hour of
// its impression) into a Delta table, in a child process that SIGKILLs itself at each phase of a batch — after the
// offsets, with the data files written but no Delta log entry, after the Delta commit (commits/N not written), between
// the join's two state tables, after the state, after the commit, after the clicks' last batch (the restart then
// reads impressions only), and in the no-data batch that only emits the unmatched impressions — and is restarted
// until done, on the calling thread and on two worker threads with restarts that change the parallelism. The table is
// then read outside sluice (its _delta_log replayed here, the live Parquet files read by DuckDB) and must hold the
// left outer join computed directly from the produced records: every matched pair and every impression without a
// click in range, each exactly once.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKafka, kafkaBrokerList } from '../../setup/kafka.js';
import { KafkaTestKit, removeTempDirs, tempDir, type ProducedMessage } from '../../helpers/kafka-test-kit.js';
import { runFixtureAsync, runKillChain } from '../../helpers/crash-runs.js';
import { prng } from '../../helpers/prng.js';
import type { Click, Impression } from '../../helpers/ad-click-join.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/kafka-join-delta-query.ts');
const MIN = 60_000;
const BASE = Date.UTC(2026, 4, 30, 9, 0);
const ADS = 160;
const SLICES = 5;
/** Far after every other record on both topics: moves the watermark past every impression, so the last no-data batch
 * emits all the impressions still unmatched. Its own ad ids match nothing, and its impression stays in the state. */
const FLUSH_TIME = BASE + 10 * 24 * 60 * MIN;
const FLUSH_AD = 1_000_000;
/** maxOffsetsPerTrigger of each source: 12 offsets a partition. */
const MAX_OFFSETS = 24;
/** Batches 0–6 read the 161 impressions (12 offsets a partition each); the 119 clicks end with batch 5. */
const LAST_DATA_BATCH = 6;
const LAST_CLICKS_BATCH = 5;

/**
 * One impression of each ad, a minute apart with up to 3 minutes of disorder; about 60% of the ads clicked 0–75 minutes
 * later (after the hour: no match), some twice. Partition = ad id mod 2. Impressions are within 3 minutes of event-time
 * order, clicks in order, and the clicks run ahead of their impressions in every batch, so with the watermarks'
 * delays (10 and 20 minutes) no row is late and no row leaves the state before its last match arrives.
 */
function makeRecords(): { impressions: Impression[]; clicks: Click[] } {
  const r = prng(23);
  const impressions: Impression[] = [];
  const clicks: Click[] = [];
  for (let ad = 0; ad < ADS; ad++) {
    const impressionTime = BASE + ad * MIN + Math.floor(r() * 180) * 1000;
    impressions.push({ impressionAdId: ad, impressionTime, campaign: `c${Math.floor(r() * 3)}` });
    const n = r() < 0.6 ? (r() < 0.15 ? 2 : 1) : 0;
    for (let k = 0; k < n; k++) clicks.push({ clickAdId: ad, clickTime: impressionTime + Math.floor(r() * 75) * MIN });
  }
  clicks.sort((a, b) => a.clickTime - b.clickTime || a.clickAdId - b.clickAdId);
  return { impressions, clicks };
}

const iso = (ms: number) => new Date(ms).toISOString();
/** A row as the oracle compares it: `impressionAdId|impressionTime|campaign|clickAdId|clickTime`. */
const rowKey = (i: Impression, c: Click | null) => [i.impressionAdId, iso(i.impressionTime), i.campaign, c?.clickAdId ?? 'null', c ? iso(c.clickTime) : 'null'].join('|');

/** The left outer join computed directly: every (impression, click in range) pair, and the impressions with none. */
function expectedRows(impressions: readonly Impression[], clicks: readonly Click[]): { pairs: string[]; unmatched: string[] } {
  const pairs: string[] = [];
  const unmatched: string[] = [];
  for (const i of impressions) {
    const hits = clicks.filter((c) => c.clickAdId === i.impressionAdId && c.clickTime >= i.impressionTime && c.clickTime <= i.impressionTime + 60 * MIN);
    if (hits.length === 0) unmatched.push(rowKey(i, null));
    for (const c of hits) pairs.push(rowKey(i, c));
  }
  return { pairs: pairs.sort(), unmatched: unmatched.sort() };
}

/** Records in `slices` consecutive slices (produced one after another), each to partition ad id mod 2. */
function slicesOf<T>(xs: readonly T[], ad: (x: T) => number, slices: number): ProducedMessage[][] {
  const json = (x: T) => JSON.stringify(x, (k, v) => (k.endsWith('Time') ? iso(v as number) : v));
  const size = Math.ceil(xs.length / slices);
  return Array.from({ length: slices }, (_, s) => xs.slice(s * size, (s + 1) * size).map((x) => ({ value: json(x), partition: ad(x) % 2 })));
}

/**
 * The table's live files by replaying its `_delta_log/*.json` commits (add and remove actions), each with the version
 * that added it — written here from the Delta protocol, not with sluice's reader.
 */
function liveFiles(table: string): Map<string, number> {
  const names = readdirSync(join(table, '_delta_log')).filter((n) => /^\d{20}\.json$/.test(n)).sort();
  expect(names.map((n) => Number(n.slice(0, 20)))).toEqual(names.map((_, v) => v)); // versions 0..n, no gap
  const live = new Map<string, number>();
  for (const n of names) {
    for (const line of readFileSync(join(table, '_delta_log', n), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const a = JSON.parse(line) as { add?: { path: string }; remove?: { path: string } };
      if (a.add) live.set(decodeURIComponent(a.add.path), Number(n.slice(0, 20)));
      if (a.remove) live.delete(decodeURIComponent(a.remove.path));
    }
  }
  return live;
}

/** Every row of the table (as `rowKey`), and the rows added by its newest commit, read by DuckDB. */
async function readTable(table: string): Promise<{ rows: string[]; newest: string[] }> {
  const live = liveFiles(table);
  const newestVersion = Math.max(...live.values());
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const query = async (files: string[]) => {
    const list = files.map((f) => `'${join(table, f).replace(/'/g, "''")}'`).join(',');
    const r = await c.runAndReadAll(
      `SELECT impressionAdId, epoch_ms(impressionTime) AS it, campaign, clickAdId, epoch_ms(clickTime) AS ct FROM read_parquet([${list}])`,
    );
    return r
      .getRowObjectsJson()
      .map((x) => [x['impressionAdId'], iso(Number(x['it'])), x['campaign'], x['clickAdId'] ?? 'null', x['ct'] === null ? 'null' : iso(Number(x['ct']))].map(String).join('|'))
      .sort();
  };
  try {
    const rows = await query([...live.keys()]);
    const newest = await query([...live].filter(([, v]) => v === newestVersion).map(([f]) => f));
    return { rows, newest };
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

describeKafka('Kafka → stream–stream join → Delta (exactly-once) under SIGKILL', () => {
  let kit: KafkaTestKit;
  let impressionsTopic = '';
  let clicksTopic = '';
  const { impressions, clicks } = makeRecords();
  const want = expectedRows(impressions, clicks);

  beforeAll(async () => {
    kit = new KafkaTestKit(kafkaBrokerList());
    impressionsTopic = await kit.topic('join-impressions', 2);
    clicksTopic = await kit.topic('join-clicks', 2);
    const flushImpression: Impression = { impressionAdId: FLUSH_AD, impressionTime: FLUSH_TIME, campaign: 'flush' };
    const flushClick: Click = { clickAdId: FLUSH_AD + 1, clickTime: FLUSH_TIME };
    const imp = slicesOf([...impressions, flushImpression], (x) => x.impressionAdId, SLICES);
    const clk = slicesOf([...clicks, flushClick], (x) => x.clickAdId, SLICES);
    for (let s = 0; s < SLICES; s++) {
      await kit.produce(impressionsTopic, imp[s]!);
      await kit.produce(clicksTopic, clk[s]!);
    }
  });
  afterAll(async () => {
    await kit?.close();
    removeTempDirs();
  });

  async function chain(kills: readonly string[], parallelism: (run: number) => number): Promise<void> {
    const table = join(tempDir('sluice-join-delta-'), 'table');
    const ckpt = tempDir('sluice-join-delta-ckpt-');
    let lastBatch = -1;
    const report = await runKillChain(async (kill, i) => {
      const r = await runFixtureAsync(FIXTURE, [impressionsTopic, clicksTopic, table, ckpt], kill, {
        KAFKA_BROKERS: kit.bootstrap,
        MAX_OFFSETS: String(MAX_OFFSETS),
        PARALLELISM: String(parallelism(i)),
      });
      if (r.status === 0) lastBatch = (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { lastBatch: number }).lastBatch;
      return r;
    }, kills);
    // many micro-batches, then the no-data batch; the clicks' end offsets are reached before the impressions'
    expect(lastBatch, report).toBe(LAST_DATA_BATCH + 1);
    const sources = (b: number) => readFileSync(join(ckpt, 'offsets', String(b)), 'utf8').split('\n').slice(2, 4);
    expect(sources(LAST_CLICKS_BATCH)[1]).not.toBe(sources(LAST_CLICKS_BATCH - 1)[1]);
    expect(sources(LAST_DATA_BATCH)[1]).toBe(sources(LAST_CLICKS_BATCH)[1]);
    expect(sources(LAST_DATA_BATCH)[0]).not.toBe(sources(LAST_CLICKS_BATCH)[0]);
    const got = await readTable(table);
    expect(got.rows.filter((k) => !k.endsWith('|null|null')), report).toEqual(want.pairs);
    expect(got.rows.filter((k) => k.endsWith('|null|null')), report).toEqual(want.unmatched);
    // the last commit is the no-data batch's: only impressions nobody clicked in time
    expect(got.newest.length).toBeGreaterThan(0);
    expect(got.newest.every((k) => k.endsWith('|null|null'))).toBe(true);
  }

  const kills = [
    'afterOffsets:1',
    'beforeLogCommit:2',
    'afterSink:2',
    'midState:3',
    'afterState:3',
    'afterCommit:4',
    'afterSink:5',
    // the clicks' last data committed: the restart reads impressions only, and still moves the watermark
    `afterCommit:${LAST_CLICKS_BATCH}`,
    // the last data batch committed: the restart runs the no-data batch its watermark calls for
    `afterCommit:${LAST_DATA_BATCH}`,
    'afterOffsets:nodata',
    'afterSink:nodata',
    // the re-run finds its Delta commit (txn) and writes nothing: the next kill is after the state
    'afterState:nodata',
  ];

  it('the oracle has matched pairs, impressions clicked too late or never, and ads clicked twice', () => {
    expect(want.pairs.length).toBeGreaterThan(60);
    expect(want.unmatched.length).toBeGreaterThan(40);
    expect(new Set(want.pairs.map((k) => k.split('|')[0])).size).toBeLessThan(want.pairs.length);
    expect(clicks.some((c) => !want.pairs.some((k) => k.endsWith(`|${c.clickAdId}|${iso(c.clickTime)}`)))).toBe(true);
  });

  // the two chains use their own tables and checkpoints: they run side by side
  it.concurrent('killed at every phase of a batch (the no-data batch included), restarted until done: every row exactly once', async () => {
    await chain(kills, () => 1);
  });

  it.concurrent('the same on two worker threads, with restarts that change the parallelism 2 → 1 → 2', async () => {
    // midState (index 3) runs at parallelism 1: its hook sees the state tables written on the calling thread only
    await chain(kills, (i) => [2, 2, 1, 1, 1, 2, 2, 1, 2, 1, 2, 1, 2][i]!);
  });
});
