/**
 * Nexmark-style benchmark (not a test). An in-process generator of Person/Auction/Bid events in the standard 1:3:46
 * mix produces Arrow batches directly (`generatePersons`, `generateAuctions` and `generateBids` over one event
 * numbering; the join queries q3 and q8 over persons and auctions are in `join-bench.ts`). The bid stream feeds q0,
 * q1, q2, q5, q7, q11 and q12 as streaming queries with a discarding sink, with parallelism 1 and 2, each in its own
 * child process (clean peak RSS). The same bids are written once to Parquet and the same queries run in DuckDB with
 * 1 and 2 threads.
 *
 *   npx tsx test/bench/nexmark.ts [--quick] [--events N] [--repeat R] [--queries=q5,q7] [--json out.json]
 *
 * Each sluice configuration runs R times (default 2, 1 with --quick) and the best rate counts. Each run first goes
 * through `WARM_UP_TRIGGERS` triggers of the same size outside the timing (placement trials, compilation), so the
 * timed N events are a long-running stream's steady state. "2 copies of p=1"
 * runs two single-threaded children at once and divides their summed rate by the p=1 rate: how far this machine
 * scales the query's own work over two cores, the ceiling for the p=2 speed-up.
 *
 * Queries (Nexmark numbering; the Flink SQL forms adapted to sluice):
 *   q0  pass-through (every bid column)
 *   q1  currency conversion: price × 0.908
 *   q2  filter: auction % 123 = 0
 *   q5  hot items: bids per auction in 10 s windows sliding every 2 s; the max count per window is taken over the
 *       (small) per-auction output by the sink
 *   q7  highest bid per 10 s tumbling window
 *   q11 bidder sessions (10 s gap): bids per session
 *   q12 processing-time 10 s windows per bidder (window over the batch timestamp)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordBatch } from 'apache-arrow';
import {
  col,
  count,
  currentTimestamp,
  max,
  MemoryStream,
  Session,
  sessionWindow,
  window,
  type DataFrame,
  type StreamingSink,
} from '../../engine/index.js';
import { batchFromVecs } from '../../engine/types/values.js';
import { schemaOf } from '../../engine/types/data-type.js';
import type { Vec } from '../../engine/kernels/vec.js';
import { writeParquetFile } from '../../connectors/parquet/index.js';

export const BID_SCHEMA = schemaOf({
  auction: 'long',
  bidder: 'long',
  price: 'long',
  channel: 'string',
  url: 'string',
  dateTime: 'timestamp',
  extra: 'string',
});

/**
 * Triggers run before the timing starts, each as big as a timed one. A stateful operator's placement is settled in
 * them: timed on the calling thread (two triggers), moved to the workers when that pays (one), timed there (one),
 * and brought back when they cost more; the workers' code is compiled by then. The timed part is the steady state of
 * a long-running stream.
 */
const WARM_UP_TRIGGERS = Number(process.env.NEXMARK_WARM_TRIGGERS ?? 5);

/** Event-time rate of the generator: events per second of event time. */
const EVENTS_PER_SECOND = 100_000;
const BASE_TIME = Date.parse('2026-05-30T00:00:00Z');

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function strings(values: readonly string[], pick: Uint32Array): Vec {
  const enc = new TextEncoder();
  const encoded = values.map((v) => enc.encode(v));
  let total = 0;
  for (let i = 0; i < pick.length; i++) total += encoded[pick[i]!]!.length;
  const bytes = new Uint8Array(total);
  const offsets = new Int32Array(pick.length + 1);
  let p = 0;
  for (let i = 0; i < pick.length; i++) {
    const e = encoded[pick[i]!]!;
    bytes.set(e, p);
    p += e.length;
    offsets[i + 1] = p;
  }
  return { kind: 'str', type: 'string', length: pick.length, offsets, bytes, valid: null };
}

/**
 * Generates the bids among events `[from, from + n)` of the Nexmark stream: event k is a person when k % 50 = 0,
 * an auction when k % 50 ∈ 1..3, a bid otherwise; event time advances `1/EVENTS_PER_SECOND` s per event with up to
 * 0.5 s of disorder. Bids go to recent auctions with a hot set (half of the bids on 1 % of auctions).
 */
export function generateBids(from: number, n: number, seed = 7): { batch: RecordBatch; events: number } {
  const rnd = lcg(seed + from);
  const ids: number[] = [];
  for (let k = from; k < from + n; k++) if (k % 50 >= 4) ids.push(k);
  const m = ids.length;
  const auction = new Float64Array(m);
  const bidder = new Float64Array(m);
  const price = new Float64Array(m);
  const ts = new Float64Array(m);
  const chan = new Uint32Array(m);
  const url = new Uint32Array(m);
  const extra = new Uint32Array(m);
  for (let i = 0; i < m; i++) {
    const k = ids[i]!;
    const auctions = Math.floor((k / 50) * 3) + 1000;
    auction[i] = rnd() < 0.5 ? 1000 + Math.floor(rnd() * 100) : Math.max(1000, auctions - Math.floor(rnd() * 10_000));
    const persons = Math.floor(k / 50) + 1000;
    bidder[i] = rnd() < 0.5 ? 1000 + Math.floor(rnd() * 1000) : Math.max(1000, persons - Math.floor(rnd() * 100_000));
    price[i] = Math.floor(rnd() * 10_000_000);
    ts[i] = BASE_TIME + Math.floor((k * 1000) / EVENTS_PER_SECOND) - Math.floor(rnd() * 500);
    chan[i] = Math.floor(rnd() * 4);
    url[i] = Math.floor(rnd() * 16);
    extra[i] = 0;
  }
  const batch = batchFromVecs(
    BID_SCHEMA,
    [
      { kind: 'num', type: 'long', length: m, values: auction, big: null, valid: null },
      { kind: 'num', type: 'long', length: m, values: bidder, big: null, valid: null },
      { kind: 'num', type: 'long', length: m, values: price, big: null, valid: null },
      strings(['Google', 'Facebook', 'Baidu', 'Apple'], chan),
      strings(Array.from({ length: 16 }, (_, i) => `https://www.nexmark.com/item.htm?query=${i}&channel_id=${i * 7}`), url),
      { kind: 'num', type: 'timestamp', length: m, values: ts, big: null, valid: null },
      strings([''], extra),
    ],
    m,
  );
  return { batch, events: n };
}

export const PERSON_SCHEMA = schemaOf({
  id: 'long',
  name: 'string',
  emailAddress: 'string',
  creditCard: 'string',
  city: 'string',
  state: 'string',
  dateTime: 'timestamp',
  extra: 'string',
});

export const AUCTION_SCHEMA = schemaOf({
  id: 'long',
  itemName: 'string',
  description: 'string',
  initialBid: 'long',
  reserve: 'long',
  dateTime: 'timestamp',
  expires: 'timestamp',
  seller: 'long',
  category: 'long',
  extra: 'string',
});

/** Nexmark's value pools (`NexmarkUtils`/`PersonGenerator`): 6 × 6 names, 10 cities, 6 states. */
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton'];
const NAMES = FIRST_NAMES.flatMap((f) => LAST_NAMES.map((l) => `${f} ${l}`));
const CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'];
/** Nexmark's `US_STATES`: q3 keeps OR, ID and CA (half of the persons). */
export const STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
/** Nexmark's `FIRST_CATEGORY_ID` and `NUM_CATEGORIES`: q3 keeps category 10 (a fifth of the auctions). */
const FIRST_CATEGORY = 10;
const CATEGORIES = 5;
/** Nexmark's `HOT_SELLER_RATIO` (sellers grouped by 100) and `hotSellersRatio` (3 auctions in 4 go to a hot seller). */
const HOT_SELLER_RATIO = 100;
const HOT_SELLERS_ONE_IN = 4;
/** Nexmark's `NUM_ACTIVE_PEOPLE` and `PERSON_ID_LEAD`: other sellers are among the last 1000 persons or the next 10. */
const ACTIVE_PEOPLE = 1000;
const PERSON_ID_LEAD = 10;
/** Ids start here, as the bids' `auction` and `bidder` do. */
const FIRST_ID = 1000;

/** Event time of stream event `k`: persons and auctions come in order (the bids carry the disorder). */
const eventTime = (k: number): number => BASE_TIME + Math.floor((k * 1000) / EVENTS_PER_SECOND);

/** The stream events among `[from, from + n)` whose `k % 50` lies in `[lo, hi)`: persons (0, 1), auctions (1, 4). */
function eventsOf(from: number, n: number, lo: number, hi: number): number[] {
  const ids: number[] = [];
  for (let k = from - (from % 50); k < from + n; k += 50) for (let j = lo; j < hi; j++) if (k + j >= from && k + j < from + n) ids.push(k + j);
  return ids;
}

/**
 * Generates the persons among events `[from, from + n)` of the Nexmark stream (event k is a person when k % 50 = 0):
 * person `k / 50 + 1000` (the ids the bids' `bidder` and the auctions' `seller` refer to), with a name, city and state
 * from Nexmark's pools, in event-time order.
 *
 * @example
 * const { batch } = generatePersons(0, 1_048_576); // 20,972 persons
 */
export function generatePersons(from: number, n: number, seed = 11): { batch: RecordBatch; events: number } {
  const rnd = lcg(seed + from);
  const ks = eventsOf(from, n, 0, 1);
  const m = ks.length;
  const id = new Float64Array(m);
  const ts = new Float64Array(m);
  const name = new Uint32Array(m);
  const email = new Uint32Array(m);
  const card = new Uint32Array(m);
  const city = new Uint32Array(m);
  const state = new Uint32Array(m);
  const extra = new Uint32Array(m);
  for (let i = 0; i < m; i++) {
    const k = ks[i]!;
    id[i] = k / 50 + FIRST_ID;
    ts[i] = eventTime(k);
    name[i] = Math.floor(rnd() * NAMES.length);
    email[i] = Math.floor(rnd() * 64);
    card[i] = Math.floor(rnd() * 64);
    city[i] = Math.floor(rnd() * CITIES.length);
    state[i] = Math.floor(rnd() * STATES.length);
  }
  const batch = batchFromVecs(
    PERSON_SCHEMA,
    [
      { kind: 'num', type: 'long', length: m, values: id, big: null, valid: null },
      strings(NAMES, name),
      strings(Array.from({ length: 64 }, (_, i) => `user${i}@nexmark.example.com`), email),
      strings(Array.from({ length: 64 }, (_, i) => `${1000 + i} ${2000 + i} ${3000 + i} ${4000 + i}`), card),
      strings(CITIES, city),
      strings(STATES, state),
      { kind: 'num', type: 'timestamp', length: m, values: ts, big: null, valid: null },
      strings([''], extra),
    ],
    m,
  );
  return { batch, events: n };
}

/**
 * Generates the auctions among events `[from, from + n)` of the Nexmark stream (event k is an auction when
 * k % 50 ∈ 1..3): auction `3·⌊k/50⌋ + (k % 50 − 1) + 1000`, in category 10–14, sold by a hot seller (the first of
 * the last 100 persons) 3 times in 4 and otherwise by one of the last 1000 persons or the next 10 (Nexmark's
 * `AuctionGenerator`), in event-time order, expiring within 20 s.
 *
 * @example
 * const { batch } = generateAuctions(0, 1_048_576); // 62,915 auctions
 */
export function generateAuctions(from: number, n: number, seed = 13): { batch: RecordBatch; events: number } {
  const rnd = lcg(seed + from);
  const ks = eventsOf(from, n, 1, 4);
  const m = ks.length;
  const id = new Float64Array(m);
  const initialBid = new Float64Array(m);
  const reserve = new Float64Array(m);
  const ts = new Float64Array(m);
  const expires = new Float64Array(m);
  const seller = new Float64Array(m);
  const category = new Float64Array(m);
  const item = new Uint32Array(m);
  const desc = new Uint32Array(m);
  const extra = new Uint32Array(m);
  for (let i = 0; i < m; i++) {
    const k = ks[i]!;
    const person = Math.floor(k / 50); // the last person (base 0) at or before this event
    id[i] = Math.floor(k / 50) * 3 + (k % 50) - 1 + FIRST_ID;
    if (Math.floor(rnd() * HOT_SELLERS_ONE_IN) > 0) seller[i] = Math.floor(person / HOT_SELLER_RATIO) * HOT_SELLER_RATIO + FIRST_ID;
    else {
      const active = Math.min(person, ACTIVE_PEOPLE);
      seller[i] = person - active + Math.floor(rnd() * (active + PERSON_ID_LEAD)) + FIRST_ID;
    }
    category[i] = FIRST_CATEGORY + Math.floor(rnd() * CATEGORIES);
    initialBid[i] = 100 + Math.floor(rnd() * 10_000);
    reserve[i] = initialBid[i]! + Math.floor(rnd() * 10_000);
    ts[i] = eventTime(k);
    expires[i] = ts[i]! + Math.floor(rnd() * 20_000);
    item[i] = Math.floor(rnd() * 32);
    desc[i] = Math.floor(rnd() * 32);
  }
  const batch = batchFromVecs(
    AUCTION_SCHEMA,
    [
      { kind: 'num', type: 'long', length: m, values: id, big: null, valid: null },
      strings(Array.from({ length: 32 }, (_, i) => `item ${i}`), item),
      strings(Array.from({ length: 32 }, (_, i) => `description of a fine item, lot ${i}`), desc),
      { kind: 'num', type: 'long', length: m, values: initialBid, big: null, valid: null },
      { kind: 'num', type: 'long', length: m, values: reserve, big: null, valid: null },
      { kind: 'num', type: 'timestamp', length: m, values: ts, big: null, valid: null },
      { kind: 'num', type: 'timestamp', length: m, values: expires, big: null, valid: null },
      { kind: 'num', type: 'long', length: m, values: seller, big: null, valid: null },
      { kind: 'num', type: 'long', length: m, values: category, big: null, valid: null },
      strings([''], extra),
    ],
    m,
  );
  return { batch, events: n };
}

/** The queries over a bid stream. */
export const QUERIES: Record<string, { build: (bids: DataFrame) => DataFrame; mode: 'append' | 'update'; sql: string }> = {
  q0: { build: (b) => b.select('*'), mode: 'append', sql: 'SELECT * FROM bids' },
  q1: {
    build: (b) => b.select('auction', 'bidder', col('price').mul(0.908).as('price'), 'dateTime'),
    mode: 'append',
    sql: 'SELECT auction, bidder, 0.908 * price AS price, dateTime FROM bids',
  },
  q2: {
    build: (b) => b.where(col('auction').mod(123).eq(0)).select('auction', 'price'),
    mode: 'append',
    sql: 'SELECT auction, price FROM bids WHERE auction % 123 = 0',
  },
  q5: {
    build: (b) => b.withWatermark('dateTime', '1 second').groupBy(window(col('dateTime'), '10 seconds', '2 seconds'), col('auction')).agg(count('*').as('num')),
    mode: 'append',
    sql: `WITH w AS (SELECT auction, unnest(generate_series(0, 4)) AS i, (epoch_ms(dateTime) // 2000) * 2000 AS last FROM bids),
          c AS (SELECT last - i * 2000 AS ws, auction, count(*) AS num FROM w GROUP BY ALL)
          SELECT ws, max(num) FROM c GROUP BY ws`,
  },
  q7: {
    build: (b) => b.withWatermark('dateTime', '1 second').groupBy(window(col('dateTime'), '10 seconds')).agg(max('price').as('price')),
    mode: 'append',
    sql: 'SELECT (epoch_ms(dateTime) // 10000) AS w, max(price) FROM bids GROUP BY w',
  },
  q11: {
    build: (b) => b.withWatermark('dateTime', '1 second').groupBy(sessionWindow(col('dateTime'), '10 seconds'), col('bidder')).agg(count('*').as('bid_count')),
    mode: 'append',
    sql: `WITH o AS (SELECT bidder, epoch_ms(dateTime) AS t FROM bids),
          g AS (SELECT bidder, t, CASE WHEN t > max(t) OVER (PARTITION BY bidder ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + 10000 THEN 1 ELSE 0 END AS s FROM o),
          n AS (SELECT bidder, t, sum(s) OVER (PARTITION BY bidder ORDER BY t ROWS UNBOUNDED PRECEDING) AS sid FROM g)
          SELECT bidder, sid, count(*) FROM n GROUP BY bidder, sid`,
  },
  q12: {
    build: (b) => b.groupBy(window(currentTimestamp(), '10 seconds'), col('bidder')).agg(count('*').as('bid_count')),
    mode: 'update',
    sql: "SELECT bidder, count(*) FROM bids GROUP BY bidder, time_bucket(INTERVAL '10 seconds', now()::TIMESTAMP)",
  },
};

/** A sink that keeps nothing (q5 takes the max per window over the small per-auction output). */
class DiscardSink implements StreamingSink {
  readonly description = 'DiscardSink';
  rows = 0;
  async addBatch(_id: number, data: { numRows: number }): Promise<void> {
    this.rows += data.numRows;
  }
}

/** Runs one query at one parallelism in this process; prints a JSON line. */
async function child(query: string, parallelism: number, events: number, batchRows: number): Promise<void> {
  const session = new Session({ conf: { parallelism, ...(process.env.NEXMARK_MIN_ROW_NS ? { parallelMinRowNs: Number(process.env.NEXMARK_MIN_ROW_NS) } : {}) } });
  const sink = new DiscardSink();
  session.formats.register({ name: 'discard', streamingSink: () => sink });
  const input = new MemoryStream(session, BID_SCHEMA);
  const perTrigger = Number(process.env.NEXMARK_PER_TRIGGER ?? 8);
  // The warm-up's events come first in the stream; then `events` timed ones.
  const warmEvents = WARM_UP_TRIGGERS * perTrigger * batchRows;
  const batches: RecordBatch[] = [];
  let bids = 0;
  for (let k = 0; k < warmEvents + events; k += batchRows) {
    const { batch } = generateBids(k, Math.min(batchRows, warmEvents + events - k));
    batches.push(batch);
    if (k >= warmEvents) bids += batch.numRows;
  }
  const warmBatches = WARM_UP_TRIGGERS * perTrigger;
  const ckpt = join(tmpdir(), `sluice-nexmark-ckpt-${process.pid}`);
  const q = QUERIES[query]!.build(input.toDF()).writeStream.format('discard').outputMode(QUERIES[query]!.mode).option('checkpointLocation', ckpt).start();
  // Warm-up, outside the timing (see `WARM_UP_TRIGGERS`).
  for (let i = 0; i < warmBatches; i += perTrigger) {
    input.addBatches(batches.slice(i, i + perTrigger));
    await q.processAllAvailable();
  }
  const firstTimed = (q.lastProgress?.batchId ?? -1) + 1;
  if (process.env.NEXMARK_SYNC) {
    // Run with a twin (the "2 copies" ceiling): say ready, then start timing when the parent says go.
    process.stdout.write('ready\n');
    await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
    process.stdin.pause();
  }
  const timedEvents = events;
  // Peak RSS sampled in this process (ru_maxrss would include the parent's pages from before exec).
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  // CPU of the whole process (every thread) and the busy time of this thread's event loop, over the timed part.
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  for (let i = warmBatches; i < batches.length; i += perTrigger) {
    input.addBatches(batches.slice(i, i + perTrigger));
    await q.processAllAvailable();
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const mainBusyMs = performance.eventLoopUtilization(elu0).active;
  clearInterval(sampler);
  const phaseTotals: Record<string, number> = {};
  const timed = q.recentProgress.filter((pr) => pr.batchId >= firstTimed);
  for (const pr of timed) for (const [k, v] of Object.entries(pr.durationMs)) phaseTotals[k] = (phaseTotals[k] ?? 0) + v;
  if (process.env.NEXMARK_PHASES) {
    // Per data batch, warm-up included: id, state partitions, ms, state rows, state MB.
    const trace = q.recentProgress
      .filter((pr) => pr.numInputRows > 0)
      .map((pr) => {
        const op = pr.stateOperators[0];
        return `${pr.batchId}:${op?.numShufflePartitions}:${Math.round(pr.durationMs['triggerExecution'] ?? 0)}:${op?.numRowsTotal}:${Math.round((op?.memoryUsedBytes ?? 0) / 1e6)}`;
      });
    console.error(JSON.stringify({ batches: timed.length, firstTimed, phaseTotals, trace: trace.join(' ') }));
  }
  // Where the stateful operator ran at the end (1: the calling thread; 0: no state), for the table's "(inline)".
  const partitions = q.lastProgress?.stateOperators[0]?.numShufflePartitions ?? 0;
  await q.stop();
  rmSync(ckpt, { recursive: true, force: true });
  const rss = peakRss;
  console.log(JSON.stringify({ query, parallelism, events: timedEvents, bids, ms, eventsPerSec: (timedEvents / ms) * 1000, rss, out: sink.rows, cpuMs: (cpu.user + cpu.system) / 1000, sysMs: cpu.system / 1000, mainBusyMs, partitions }));
}

async function duckdb(parquet: string, threads: number, sql: string): Promise<number> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`SET threads=${threads}`);
  await c.run(`CREATE TABLE bids AS SELECT * FROM read_parquet('${parquet}')`);
  // The result is materialised into a table (as sluice hands every row to its sink), not fetched into JS.
  const run = `CREATE OR REPLACE TEMP TABLE out AS ${sql}`;
  await c.run(run); // warm-up
  const t0 = performance.now();
  await c.run(run);
  const ms = performance.now() - t0;
  c.closeSync();
  return ms;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const ei = args.indexOf('--events');
  const events = ei >= 0 ? Number(args[ei + 1]) : quick ? 2_000_000 : 10_000_000;
  const batchRows = 131_072;
  const ri = args.indexOf('--repeat');
  const repeat = ri >= 0 ? Number(args[ri + 1]) : quick ? 1 : 2;
  const ci = args.indexOf('--child');
  if (ci >= 0) {
    await child(args[ci + 1]!, Number(args[ci + 2]), events, batchRows);
    return;
  }
  const dir = join(tmpdir(), 'sluice-nexmark');
  mkdirSync(dir, { recursive: true });
  const parquet = join(dir, `bids-${events}.parquet`);
  if (!existsSync(parquet)) {
    const batches: RecordBatch[] = [];
    for (let k = 0; k < events; k += batchRows) batches.push(generateBids(k, Math.min(batchRows, events - k)).batch);
    await writeParquetFile(parquet, batches, { compression: 'snappy' });
  }
  const rows: string[][] = [];
  const results: unknown[] = [];
  const onlyArg = args.find((a) => a.startsWith('--queries='));
  const wanted = onlyArg ? onlyArg.slice('--queries='.length).split(',') : null;
  for (const [name, q] of Object.entries(QUERIES)) {
    if (wanted && !wanted.includes(name)) continue;
    const run = (p: number) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', name, String(p), '--events', String(events)], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      });
      const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (!line) throw new Error(`${name} p=${p} failed: ${r.stderr.slice(-2000)}`);
      return JSON.parse(line) as { eventsPerSec: number; rss: number; bids: number; out: number; cpuMs: number; events: number; partitions: number };
    };
    // Best of `repeat` rounds, interleaved (p=1, p=2, two copies of p=1 at once), so a slow spell of the (shared)
    // machine hits every configuration alike rather than one.
    type Run = ReturnType<typeof run>;
    const best = (a: Run | null, b: Run) => (a === null || b.eventsPerSec > a.eventsPerSec ? b : a);
    let p1: Run | null = null;
    let p2: Run | null = null;
    let pairRate = 0;
    for (let round = 0; round < repeat; round++) {
      p1 = best(p1, run(1));
      p2 = best(p2, run(2));
      // The machine's own ceiling for this query: two single-threaded copies at once, each on its own core. Their
      // summed rate over one copy's rate bounds any 2-worker speed-up (memory and caches are shared).
      const pair = await twins(name, events);
      pairRate = Math.max(pairRate, pair[0]!.eventsPerSec + pair[1]!.eventsPerSec);
    }
    if (p1 === null || p2 === null) throw new Error('no rounds');
    const ceiling = pairRate / p1.eventsPerSec;
    const d1 = await duckdb(parquet, 1, q.sql);
    const d2 = await duckdb(parquet, 2, q.sql);
    const duck1 = (events / d1) * 1000;
    const duck2 = (events / d2) * 1000;
    results.push({ query: name, p1, p2, ceiling, duck1, duck2 });
    rows.push([
      name,
      fmt(p1.eventsPerSec),
      fmt(p2.eventsPerSec),
      // "(inline)": at p=2 the stateful operator ended on the calling thread (it never moved, or came back).
      `${(p2.eventsPerSec / p1.eventsPerSec).toFixed(2)}×${p2.partitions === 1 ? ' (inline)' : ''}`,
      `${ceiling.toFixed(2)}×`,
      // How much of the machine's two-copy rate the two workers reach.
      `${Math.round((100 * p2.eventsPerSec) / pairRate)} %`,
      // CPU time (every thread) per event: how much more work two workers do in all than one thread.
      `${((p1.cpuMs * 1e6) / p1.events).toFixed(0)} / ${((p2.cpuMs * 1e6) / p2.events).toFixed(0)}`,
      `${Math.round(p1.rss / 2 ** 20)} / ${Math.round(p2.rss / 2 ** 20)}`,
      fmt(duck1),
      fmt(duck2),
      `${(p1.eventsPerSec / duck1).toFixed(2)} / ${(p2.eventsPerSec / duck2).toFixed(2)}`,
    ]);
    console.error(`done ${name}`);
  }
  const header = ['query', 'sluice p=1 ev/s', 'sluice p=2 ev/s', 'speed-up', '2 copies of p=1', 'p=2 / 2 copies', 'CPU ns/event (p1/p2)', 'peak RSS MB (p1/p2)', 'DuckDB 1t ev/s', 'DuckDB 2t ev/s', 'sluice/DuckDB (1/2)'];
  printTable(`Nexmark, ${events.toLocaleString()} events (bids: 92 %), 2 cores`, header, rows);
  const ji = args.indexOf('--json');
  if (ji >= 0) writeFileSync(args[ji + 1]!, JSON.stringify(results, null, 2));
}

/**
 * Two single-threaded children of one query whose timed parts start together: each generates its input and warms
 * up, says `ready`, and starts timing when both are ready.
 */
function twins(name: string, events: number): Promise<{ eventsPerSec: number }[]> {
  let ready = 0;
  const children = [0, 1].map(() =>
    spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', name, '1', '--events', String(events)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NEXMARK_SYNC: '1' },
    }),
  );
  return Promise.all(
    children.map(
      (c) =>
        new Promise<{ eventsPerSec: number }>((resolve, reject) => {
          let out = '';
          let err = '';
          c.stdout.on('data', (d: Buffer) => {
            const before = out;
            out += d.toString();
            if (!before.includes('ready\n') && out.includes('ready\n') && ++ready === 2) for (const t of children) t.stdin.write('go\n');
          });
          c.stderr.on('data', (d: Buffer) => (err += d.toString()));
          c.on('error', reject);
          c.on('close', () => {
            const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
            if (!line) reject(new Error(`${name} (twin) failed: ${err.slice(-2000)}`));
            else resolve(JSON.parse(line) as { eventsPerSec: number });
          });
        }),
    ),
  );
}

/** A rate for a table: `1.23M` or `456k`. @example fmt(1_234_567); // '1.23M' */
export function fmt(v: number): string {
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : `${Math.round(v / 1000)}k`;
}

/** Prints a markdown table. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${title}\n`);
  console.log(line(header));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const r of rows) console.log(line(r));
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('nexmark.ts')) {
  await main();
}
