/**
 * Joins, sluice against DuckDB in one run (not a test).
 *
 * Batch: an equi-join of a fact table of 10 M rows with a dimension table of 1 M rows (every fact row matches one
 * dimension row; keys uniform, the dimension shuffled), read from Parquet files the bench writes once with the
 * project's Parquet writer (snappy), once on a long key and once on a string key (`cust-0000042`):
 *
 *   fact.join(dim, 'ik').select('ik', 'v', 'w')
 *   SELECT ik, v, w FROM read_parquet('fact…') AS fact JOIN read_parquet('dim…') AS dim USING (ik)
 *
 * sluice with `parallelism` 1 and 2 and with the default settings (`new Session()`), DuckDB with 1 and 2 threads, and
 * the same join written by hand in JavaScript over the same files (`floorChild`: what a join costs in JS without an
 * engine); each reads the files and materialises the whole result (sluice: Arrow batches; DuckDB: `CREATE TEMP TABLE
 * … AS`; the hand-written join: typed arrays).
 * Rates are input rows (fact + dimension) per second of wall time; the ratio of CPU times (every thread of the
 * process) is shown too, since on a shared machine it moves less than wall time.
 *
 * Streaming: Nexmark q3 and q8 over two `MemoryStream`s, persons and auctions from the Nexmark generator of
 * `nexmark.ts` (the 1:3:46 mix: 2 % of the stream's events are persons, 6 % auctions; the bids are not generated),
 * into a discarding sink with a checkpoint, at parallelism 1 and 2:
 *
 *   q3  local item suggestion: auctions in category 10 joined with persons in OR, ID or CA on seller = person id
 *       (an inner stream–stream join without watermarks: both sides are kept)
 *   q8  new users who opened auctions: persons and auctions joined on id = seller within the same 10 s tumbling
 *       window, written as a Spark user does: each side selects `window(dateTime, '10 seconds')` under a 1 s
 *       watermark, and the join condition holds `P.window = A.window` (state evicted as the watermark passes a
 *       window's end)
 *
 * Each trigger adds ~500 k input rows (six chunks of 2^20 stream events); `WARM_UP_TRIGGERS` triggers run before the
 * timing (compilation, operator placement). Rates are input rows (persons + auctions) per second of wall time; the
 * Nexmark column counts the whole stream those rows come from (× 12.5), as `nexmark.ts` counts events. DuckDB runs the
 * same queries over the same persons and auctions (written once to Parquet, loaded into tables, warm-up and timed
 * events alike) and materialises the result; sluice's output rows over its whole run (warm-up included) must equal
 * DuckDB's.
 *
 * Every configuration runs in a child process of its own (peak RSS is the child's `VmHWM`): a batch configuration
 * runs `--repeat` times inside it, a streaming one in `--repeat` children (p=1 and p=2 interleaved); the best counts. A configuration that fails (a join that cannot be planned yet) shows its error and the others still run.
 *
 *   npx tsx test/bench/join-bench.ts [--quick] [--rows N] [--dim M] [--chunks C] [--repeat R] [--only int,string,q3,q8]
 *
 * One configuration alone, e.g. to profile it (`cpu-profile-top.ts` cuts the profile to the printed `timedUs`):
 *
 *   node --cpu-prof --import tsx test/bench/join-bench.ts --child batch|floor|duck|stream|duckstream <query> <parallelism|threads|default>
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { col, MemoryStream, Session, window, type DataFrame, type StreamingSink } from '../../engine/index.js';
import { batchFromVecs } from '../../engine/types/values.js';
import { schemaOf } from '../../engine/types/data-type.js';
import { scanParquetFile, writeParquetFile } from '../../connectors/parquet/index.js';
import { prng } from '../helpers/prng.js';
import { AUCTION_SCHEMA, fmt, generateAuctions, generatePersons, PERSON_SCHEMA, printTable } from './nexmark.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const QUICK = args.includes('--quick');
const FACT_ROWS = Number(arg('--rows') ?? (QUICK ? 1_000_000 : 10_000_000));
const DIM_ROWS = Number(arg('--dim') ?? (QUICK ? 100_000 : 1_000_000));
/** Timed chunks of 2^20 Nexmark events each (one person batch and one auction batch per chunk). */
const CHUNKS = Number(arg('--chunks') ?? (QUICK ? 12 : 48));
const REPEAT = Number(arg('--repeat') ?? (QUICK ? 1 : 2));
const ONLY = (arg('--only') ?? 'int,string,q3,q8').split(',');
const CHUNK = 1 << 20;
const PER_TRIGGER = 6;
const WARM_UP_TRIGGERS = Number(process.env.JOIN_WARM_TRIGGERS ?? 2);
const BATCH = 1 << 20;
/** A configuration that runs longer than this is stopped (reduce the sizes). */
const CHILD_TIMEOUT_MS = 10 * 60_000;
const DIR = join(tmpdir(), 'sluice-join-bench');

const FACT_SCHEMA = schemaOf({ ik: 'long', sk: 'string', v: 'double' });
const DIM_SCHEMA = schemaOf({ ik: 'long', sk: 'string', w: 'double' });
const KEY_WIDTH = 12;

/** Writes `cust-0000042` for key 42 into `bytes` at `at` (fixed width, so offsets are `i × 12`). */
function putKey(bytes: Uint8Array, at: number, key: number): void {
  bytes.set([99, 117, 115, 116, 45], at); // 'cust-'
  for (let d = KEY_WIDTH - 1; d >= 5; d--) {
    bytes[at + d] = 48 + (key % 10);
    key = Math.floor(key / 10);
  }
}

/** One table's batches: the key of row i is `keyOf(i)`, as a long (`ik`) and as a string (`sk`), and a double. */
function table(rows: number, keyOf: (i: number) => number, seed: number, schema: typeof FACT_SCHEMA): RecordBatch[] {
  const r = prng(seed);
  const out: RecordBatch[] = [];
  for (let start = 0; start < rows; start += BATCH) {
    const n = Math.min(BATCH, rows - start);
    const ik = new Float64Array(n);
    const v = new Float64Array(n);
    const offsets = new Int32Array(n + 1);
    const bytes = new Uint8Array(n * KEY_WIDTH);
    for (let i = 0; i < n; i++) {
      const k = keyOf(start + i);
      ik[i] = k;
      putKey(bytes, i * KEY_WIDTH, k);
      offsets[i + 1] = (i + 1) * KEY_WIDTH;
      v[i] = Math.round(r() * 100_000) / 100;
    }
    out.push(
      batchFromVecs(
        schema,
        [
          { kind: 'num', type: 'long', length: n, values: ik, big: null, valid: null },
          { kind: 'str', type: 'string', length: n, offsets, bytes, valid: null },
          { kind: 'num', type: 'double', length: n, values: v, big: null, valid: null },
        ],
        n,
      ),
    );
  }
  return out;
}

/** Writes the fact and dimension files once (kept in the temp folder between runs of the same sizes). */
async function batchFiles(): Promise<{ fact: string; dim: string }> {
  const fact = join(DIR, `fact-${FACT_ROWS}-${DIM_ROWS}.parquet`);
  const dim = join(DIR, `dim-${DIM_ROWS}.parquet`);
  if (!existsSync(dim)) {
    // A shuffled permutation of 0 … DIM_ROWS − 1: each key once, not in order.
    const perm = new Float64Array(DIM_ROWS);
    for (let i = 0; i < DIM_ROWS; i++) perm[i] = i;
    const r = prng(5);
    for (let i = DIM_ROWS - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
    await writeParquetFile(dim, table(DIM_ROWS, (i) => perm[i]!, 6, DIM_SCHEMA), { compression: 'snappy' });
  }
  if (!existsSync(fact)) {
    const r = prng(7);
    await writeParquetFile(fact, table(FACT_ROWS, () => Math.floor(r() * DIM_ROWS), 8, FACT_SCHEMA), { compression: 'snappy' });
  }
  return { fact, dim };
}

/** Persons and auctions of every chunk (warm-up first, then the timed ones), as the streams receive them. */
function nexmarkInput(): { persons: RecordBatch[]; auctions: RecordBatch[]; warmChunks: number } {
  const warmChunks = WARM_UP_TRIGGERS * PER_TRIGGER;
  const persons: RecordBatch[] = [];
  const auctions: RecordBatch[] = [];
  for (let c = 0; c < warmChunks + CHUNKS; c++) {
    persons.push(generatePersons(c * CHUNK, CHUNK).batch);
    auctions.push(generateAuctions(c * CHUNK, CHUNK).batch);
  }
  return { persons, auctions, warmChunks };
}

/** The persons and auctions of a run (warm-up and timed chunks), written once for DuckDB. */
async function nexmarkFiles(): Promise<{ persons: string; auctions: string }> {
  const tag = `${WARM_UP_TRIGGERS * PER_TRIGGER + CHUNKS}x${CHUNK}`;
  const persons = join(DIR, `persons-${tag}.parquet`);
  const auctions = join(DIR, `auctions-${tag}.parquet`);
  if (!existsSync(persons) || !existsSync(auctions)) {
    const input = nexmarkInput();
    await writeParquetFile(persons, input.persons, { compression: 'snappy' });
    await writeParquetFile(auctions, input.auctions, { compression: 'snappy' });
  }
  return { persons, auctions };
}

/** The join queries over the person and auction streams, and the same in DuckDB's SQL over tables `person`, `auction`. */
const STREAM_QUERIES: Record<string, { build: (persons: DataFrame, auctions: DataFrame) => DataFrame; sql: string }> = {
  q3: {
    build: (persons, auctions) =>
      auctions
        .where(col('category').eq(10))
        .alias('A')
        .join(persons.where(col('state').isin('OR', 'ID', 'CA')).alias('P'), col('A.seller').eq(col('P.id')))
        .select('P.name', 'P.city', 'P.state', 'A.id'),
    sql: `SELECT P.name, P.city, P.state, A.id FROM auction A JOIN person P ON A.seller = P.id
          WHERE A.category = 10 AND P.state IN ('OR', 'ID', 'CA')`,
  },
  q8: {
    build: (persons, auctions) => {
      const p = persons.withWatermark('dateTime', '1 second').select(col('id'), col('name'), window(col('dateTime'), '10 seconds').as('window'));
      const a = auctions.withWatermark('dateTime', '1 second').select(col('seller'), window(col('dateTime'), '10 seconds').as('window'));
      return p
        .alias('P')
        .join(a.alias('A'), col('P.id').eq(col('A.seller')).and(col('P.window').eq(col('A.window'))))
        .select(col('P.id'), col('P.name'), col('P.window.start').as('starttime'));
    },
    sql: `SELECT P.id, P.name, P.starttime
          FROM (SELECT id, name, epoch_ms(dateTime) // 10000 * 10000 AS starttime FROM person) P
          JOIN (SELECT seller, epoch_ms(dateTime) // 10000 * 10000 AS starttime FROM auction) A
            ON P.id = A.seller AND P.starttime = A.starttime`,
  },
};

/** The batch joins: sluice's query and DuckDB's SQL (`fact`, `dim`: the files, read as users read them). */
const BATCH_QUERIES: Record<string, { key: string }> = { int: { key: 'ik' }, string: { key: 'sk' } };
const batchSql = (key: string, fact: string, dim: string) =>
  `SELECT ${key}, v, w FROM read_parquet('${fact}') AS fact JOIN read_parquet('${dim}') AS dim USING (${key})`;

/** A sink that counts rows and keeps nothing. */
class CountSink implements StreamingSink {
  readonly description = 'CountSink';
  rows = 0;
  async addBatch(_id: number, data: { numRows: number }): Promise<void> {
    this.rows += data.numRows;
  }
}

/** Peak RSS of this process image in bytes (`VmHWM`: unlike `ru_maxrss` it does not carry the parent's pages). */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

interface ChildResult {
  ms: number;
  /**
   * The timed part on the monotonic clock, in µs (`process.hrtime`, the clock of `node --cpu-prof`'s samples): a
   * profile of a child can be cut to it.
   */
  timedUs?: [number, number];
  cpuMs: number;
  rows: number;
  out: number;
  rss: number;
  parallelism?: number;
  partitions?: number;
  stateRows?: number;
}

const makeSession = (setting: string) => (setting === 'default' ? new Session() : new Session({ conf: { parallelism: Number(setting) } }));

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** Best of `REPEAT` runs of `run` (wall time), with that run's CPU time and span. */
async function bestOf(run: () => Promise<number>): Promise<{ ms: number; cpuMs: number; out: number; timedUs: [number, number] }> {
  let best = { ms: Infinity, cpuMs: 0, out: 0, timedUs: [0, 0] as [number, number] };
  for (let i = 0; i < REPEAT; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    const us = monotonicUs();
    const out = await run();
    const ms = performance.now() - t;
    const cpu = process.cpuUsage(c);
    if (ms < best.ms) best = { ms, cpuMs: (cpu.user + cpu.system) / 1000, out, timedUs: [us, monotonicUs()] };
  }
  return best;
}

async function batchChild(query: string, setting: string): Promise<ChildResult> {
  const { fact, dim } = await batchFiles();
  const key = BATCH_QUERIES[query]!.key;
  const session = makeSession(setting);
  const r = await bestOf(async () => {
    const facts = session.read.parquet(fact);
    const dims = session.read.parquet(dim);
    let n = 0;
    for (const b of await facts.join(dims, key).select(key, 'v', 'w').toBatches()) n += b.numRows;
    return n;
  });
  return { ...r, rows: FACT_ROWS + DIM_ROWS, rss: peakRss(), parallelism: session.conf.get('parallelism') as number };
}

/**
 * The floor: the same join written by hand over the Arrow columns of the same files, read with the project's Parquet
 * reader (`scanParquetFile`, only the join's columns, one batch per row group): an open-addressing table of the
 * dimension's rows on the key (long: its two words; string: FNV-1a of its bytes, compared byte by byte), probed by
 * each fact row, the matches' key, `v` and `w` gathered into new columns. What the join costs in JavaScript without
 * an engine around it.
 */
async function floorChild(query: string): Promise<ChildResult> {
  const { fact, dim } = await batchFiles();
  const key = BATCH_QUERIES[query]!.key;
  const r = await bestOf(async () => {
    const dimBatches: RecordBatch[] = [];
    for await (const b of scanParquetFile(dim, { columns: [key, 'w'] })) dimBatches.push(b);
    const table = new FloorTable(dimBatches, key === 'sk');
    let out = 0;
    const kept: unknown[] = [];
    for await (const b of scanParquetFile(fact, { columns: [key, 'v'] })) out += table.probe(b, kept);
    return out;
  });
  return { ...r, rows: FACT_ROWS + DIM_ROWS, rss: peakRss() };
}

/** FNV-1a over `src[from, to)`, its high bits folded in. */
function hashBytes(src: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let j = from; j < to; j++) h = Math.imul(h ^ src[j]!, 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}

/** A long's two words mixed (the low bits of a multiplication by an odd constant spread sequential keys). */
const hashLong = (lo: number, hi: number): number => Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1) >>> 0;

/** The floor's hash table over the dimension's rows (see `floorChild`). */
class FloorTable {
  readonly mask: number;
  readonly slots: Int32Array;
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  readonly w: Float64Array;
  readonly starts: Int32Array;
  bytes: Uint8Array = new Uint8Array(0);

  constructor(
    batches: readonly RecordBatch[],
    readonly stringKey: boolean,
  ) {
    const n = batches.reduce((a, b) => a + b.numRows, 0);
    const cap = 1 << Math.ceil(Math.log2(n * 2));
    this.mask = cap - 1;
    this.slots = new Int32Array(cap);
    this.lo = new Int32Array(n);
    this.hi = new Int32Array(n);
    this.w = new Float64Array(n);
    this.starts = new Int32Array(n + 1);
    let row = 0;
    for (const b of batches) {
      const k = b.getChildAt(0)!.data[0]!;
      this.w.set(b.getChildAt(1)!.data[0]!.values as Float64Array, row);
      if (stringKey) {
        const off = k.valueOffsets as Int32Array;
        const grown = new Uint8Array(this.bytes.length + off[b.numRows]! - off[0]!);
        grown.set(this.bytes);
        grown.set((k.values as Uint8Array).subarray(off[0]!, off[b.numRows]!), this.bytes.length);
        for (let i = 0; i < b.numRows; i++) this.starts[row + i + 1] = this.bytes.length + off[i + 1]! - off[0]!;
        this.bytes = grown;
      } else {
        const words = wordsOf(k.values as BigInt64Array, b.numRows);
        for (let i = 0; i < b.numRows; i++) {
          this.lo[row + i] = words[2 * i]!;
          this.hi[row + i] = words[2 * i + 1]!;
        }
      }
      row += b.numRows;
    }
    for (let i = 0; i < n; i++) this.insert(i, stringKey ? hashBytes(this.bytes, this.starts[i]!, this.starts[i + 1]!) : hashLong(this.lo[i]!, this.hi[i]!));
  }

  private insert(row: number, hash: number): void {
    let s = hash & this.mask;
    while (this.slots[s] !== 0) s = (s + 1) & this.mask;
    this.slots[s] = row + 1;
  }

  /** Joins one fact batch: the matches' key, v and w gathered into new columns (pushed to `kept`); their count. */
  probe(b: RecordBatch, kept: unknown[]): number {
    const m = b.numRows;
    const k = b.getChildAt(0)!.data[0]!;
    const v = b.getChildAt(1)!.data[0]!.values as Float64Array;
    const match = new Int32Array(m);
    const probe = new Int32Array(m);
    const found = this.stringKey
      ? this.probeStrings(k.valueOffsets as Int32Array, k.values as Uint8Array, m, probe, match)
      : this.probeLongs(wordsOf(k.values as BigInt64Array, m), m, probe, match);
    if (this.stringKey) {
      const off = k.valueOffsets as Int32Array;
      const offsets = new Int32Array(found + 1);
      let total = 0;
      for (let i = 0; i < found; i++) offsets[i + 1] = total += off[probe[i]! + 1]! - off[probe[i]!]!;
      const keyBytes = new Uint8Array(total);
      const src = k.values as Uint8Array;
      for (let i = 0; i < found; i++) for (let j = off[probe[i]!]!, t = offsets[i]!; j < off[probe[i]! + 1]!; j++) keyBytes[t++] = src[j]!;
      kept.push(offsets, keyBytes);
    } else {
      const words = wordsOf(k.values as BigInt64Array, m);
      const keys = new Int32Array(found * 2);
      for (let i = 0; i < found; i++) {
        keys[2 * i] = words[2 * probe[i]!]!;
        keys[2 * i + 1] = words[2 * probe[i]! + 1]!;
      }
      kept.push(keys);
    }
    const vs = new Float64Array(found);
    const ws = new Float64Array(found);
    for (let i = 0; i < found; i++) {
      vs[i] = v[probe[i]!]!;
      ws[i] = this.w[match[i]!]!;
    }
    kept.push(vs, ws);
    return found;
  }

  private probeLongs(words: Int32Array, m: number, probe: Int32Array, match: Int32Array): number {
    const { slots, lo, hi, mask } = this;
    let found = 0;
    for (let i = 0; i < m; i++) {
      const l = words[2 * i]!;
      const h = words[2 * i + 1]!;
      let s = hashLong(l, h) & mask;
      let d = slots[s]!;
      while (d !== 0) {
        if (lo[d - 1] === l && hi[d - 1] === h) {
          probe[found] = i;
          match[found++] = d - 1;
          break;
        }
        s = (s + 1) & mask;
        d = slots[s]!;
      }
    }
    return found;
  }

  private probeStrings(off: Int32Array, src: Uint8Array, m: number, probe: Int32Array, match: Int32Array): number {
    const { slots, starts, bytes, mask } = this;
    let found = 0;
    for (let i = 0; i < m; i++) {
      const a = off[i]!;
      const len = off[i + 1]! - a;
      let s = hashBytes(src, a, a + len) & mask;
      let d = slots[s]!;
      while (d !== 0) {
        const ds = starts[d - 1]!;
        if (starts[d]! - ds === len) {
          let j = 0;
          while (j < len && bytes[ds + j] === src[a + j]) j++;
          if (j === len) {
            probe[found] = i;
            match[found++] = d - 1;
            break;
          }
        }
        s = (s + 1) & mask;
        d = slots[s]!;
      }
    }
    return found;
  }
}

/** The two 32-bit words of each of `n` longs. */
const wordsOf = (a: BigInt64Array, n: number): Int32Array => new Int32Array(a.buffer, a.byteOffset, n * 2);

async function duckBatchChild(query: string, threads: number): Promise<ChildResult> {
  const { fact, dim } = await batchFiles();
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`SET threads=${threads}`);
  const sql = `CREATE OR REPLACE TEMP TABLE out AS ${batchSql(BATCH_QUERIES[query]!.key, fact, dim)}`;
  const r = await bestOf(async () => {
    await c.run(sql);
    return Number((await c.runAndReadAll('SELECT count(*) AS n FROM out')).getRowObjects()[0]!['n']);
  });
  c.closeSync();
  return { ...r, rows: FACT_ROWS + DIM_ROWS, rss: peakRss() };
}

async function streamChild(query: string, setting: string): Promise<ChildResult> {
  const session = makeSession(setting);
  const sink = new CountSink();
  session.formats.register({ name: 'count', streamingSink: () => sink });
  const personStream = new MemoryStream(session, PERSON_SCHEMA);
  const auctionStream = new MemoryStream(session, AUCTION_SCHEMA);
  const { persons, auctions, warmChunks } = nexmarkInput();
  const ckpt = join(tmpdir(), `sluice-join-bench-ckpt-${process.pid}`);
  const q = STREAM_QUERIES[query]!.build(personStream.toDF(), auctionStream.toDF())
    .writeStream.format('count')
    .outputMode('append')
    .option('checkpointLocation', ckpt)
    .start();
  const trigger = async (from: number) => {
    personStream.addBatches(persons.slice(from, from + PER_TRIGGER));
    auctionStream.addBatches(auctions.slice(from, from + PER_TRIGGER));
    await q.processAllAvailable();
  };
  for (let c = 0; c < warmChunks; c += PER_TRIGGER) await trigger(c);
  let rows = 0;
  for (let c = warmChunks; c < persons.length; c++) rows += persons[c]!.numRows + auctions[c]!.numRows;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const us0 = monotonicUs();
  for (let c = warmChunks; c < persons.length; c += PER_TRIGGER) await trigger(c);
  const ms = performance.now() - t0;
  const timedUs: [number, number] = [us0, monotonicUs()];
  const cpu = process.cpuUsage(cpu0);
  const op = q.lastProgress?.stateOperators[0];
  await q.stop();
  rmSync(ckpt, { recursive: true, force: true });
  return {
    ms,
    timedUs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rows,
    out: sink.rows,
    rss: peakRss(),
    parallelism: session.conf.get('parallelism') as number,
    partitions: op?.numShufflePartitions ?? 0,
    stateRows: op?.numRowsTotal ?? 0,
  };
}

async function duckStreamChild(query: string, threads: number): Promise<ChildResult> {
  const files = await nexmarkFiles();
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`SET threads=${threads}`);
  await c.run(`CREATE TABLE person AS SELECT * FROM read_parquet('${files.persons}')`);
  await c.run(`CREATE TABLE auction AS SELECT * FROM read_parquet('${files.auctions}')`);
  const count = async (t: string) => Number((await c.runAndReadAll(`SELECT count(*) AS n FROM ${t}`)).getRowObjects()[0]!['n']);
  const rows = (await count('person')) + (await count('auction'));
  const sql = `CREATE OR REPLACE TEMP TABLE out AS ${STREAM_QUERIES[query]!.sql}`;
  await c.run(sql); // warm-up
  const r = await bestOf(async () => {
    await c.run(sql);
    return count('out');
  });
  c.closeSync();
  return { ...r, rows, rss: peakRss() };
}

/** Runs one configuration in a child process; its result, or the first line of its error. */
function runChild(kind: string, name: string, setting: string): ChildResult | string {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', kind, name, setting, '--rows', String(FACT_ROWS), '--dim', String(DIM_ROWS), '--chunks', String(CHUNKS), '--repeat', String(REPEAT)],
    { encoding: 'utf8', maxBuffer: 1 << 24, timeout: CHILD_TIMEOUT_MS },
  );
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (line) return JSON.parse(line) as ChildResult;
  if (r.error) return `${r.error.message}`;
  // The thrown error's own line (`UnsupportedOperationError: join (inner) cannot run yet.`), not the source excerpt.
  const err = /\b[A-Z]\w*(?:Error|Exception)(?: \[\w+\])?: .*/.exec(r.stderr)?.[0] ?? r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`;
  return err.trim().slice(0, 200);
}

const faster = (a: ChildResult | string, b: ChildResult | string) =>
  typeof b === 'string' ? (typeof a === 'string' ? b : a) : typeof a === 'string' || b.ms < a.ms ? b : a;
const rate = (r: ChildResult | string) => (typeof r === 'string' ? '—' : fmt((r.rows / r.ms) * 1000));
const ratio = (a: ChildResult | string, b: ChildResult | string) => (typeof a === 'string' || typeof b === 'string' ? '—' : (b.ms / a.ms).toFixed(2));
const mb = (r: ChildResult | string) => (typeof r === 'string' ? '—' : String(Math.round(r.rss / 2 ** 20)));
const outRows = (r: ChildResult | string) => (typeof r === 'string' ? '—' : r.out.toLocaleString('en'));

function describe(label: string, r: ChildResult | string): void {
  if (typeof r === 'string') console.log(`  ${label}: failed: ${r}`);
  else
    console.log(
      `  ${label}: ${r.rows.toLocaleString('en')} rows in ${r.ms.toFixed(0)} ms wall, ${r.cpuMs.toFixed(0)} ms CPU (${((r.cpuMs * 1e6) / r.rows).toFixed(0)} ns/row), ` +
        `${r.out.toLocaleString('en')} out, peak RSS ${mb(r)} MB` +
        (r.parallelism !== undefined ? `, parallelism ${r.parallelism}` : '') +
        (r.partitions !== undefined ? `, state partitions ${r.partitions}, state rows ${r.stateRows?.toLocaleString('en')}` : ''),
    );
}

async function main(): Promise<void> {
  const ci = args.indexOf('--child');
  if (ci >= 0) {
    const [kind, name, setting] = [args[ci + 1]!, args[ci + 2]!, args[ci + 3]!];
    const r =
      kind === 'batch' ? await batchChild(name, setting)
      : kind === 'floor' ? await floorChild(name)
      : kind === 'duck' ? await duckBatchChild(name, Number(setting))
      : kind === 'stream' ? await streamChild(name, setting)
      : await duckStreamChild(name, Number(setting));
    console.log(JSON.stringify(r));
    process.exit(0); // the worker pool, if any, is not waited for
  }
  mkdirSync(DIR, { recursive: true });
  const batchQueries = Object.keys(BATCH_QUERIES).filter((q) => ONLY.includes(q));
  const streamQueries = Object.keys(STREAM_QUERIES).filter((q) => ONLY.includes(q));

  if (batchQueries.length > 0) {
    const t0 = performance.now();
    const { fact, dim } = await batchFiles();
    console.log(
      `batch: ${FACT_ROWS.toLocaleString('en')} × ${DIM_ROWS.toLocaleString('en')} rows, Parquet ${(statSync(fact).size / 1e6).toFixed(0)} + ${(statSync(dim).size / 1e6).toFixed(0)} MB ` +
        `(ready in ${((performance.now() - t0) / 1000).toFixed(1)} s); best of ${REPEAT}`,
    );
    const rows: string[][] = [];
    for (const q of batchQueries) {
      const s1 = runChild('batch', q, '1');
      describe(`${q} sluice p=1`, s1);
      const s2 = runChild('batch', q, '2');
      describe(`${q} sluice p=2`, s2);
      // The default settings; on a 2-core machine their parallelism is 2, the run above.
      const defaultParallelism = new Session().conf.get('parallelism') as number;
      const sd = defaultParallelism <= 2 ? (defaultParallelism === 1 ? s1 : s2) : runChild('batch', q, 'default');
      if (defaultParallelism > 2) describe(`${q} sluice default`, sd);
      const fl = runChild('floor', q, '1');
      describe(`${q} hand-written JS`, fl);
      const d1 = runChild('duck', q, '1');
      describe(`${q} DuckDB 1 thread`, d1);
      const d2 = runChild('duck', q, '2');
      describe(`${q} DuckDB 2 threads`, d2);
      if (typeof s1 !== 'string' && typeof d1 !== 'string' && s1.out !== d1.out) console.warn(`  ${q}: sluice ${s1.out} rows, DuckDB ${d1.out}`);
      rows.push([
        `${q === 'int' ? 'long' : 'string'} key`,
        outRows(d1),
        rate(s1),
        rate(s2),
        `${rate(sd)} (p=${defaultParallelism})`,
        rate(fl),
        rate(d1),
        rate(d2),
        `**${ratio(s1, d1)}** / ${ratio(s2, d2)}`,
        typeof s1 === 'string' || typeof d1 === 'string' ? '—' : (d1.cpuMs / s1.cpuMs).toFixed(2),
        [s1, s2, fl, d1, d2].map(mb).join(' / '),
      ]);
    }
    printTable(
      `Batch equi-join, ${FACT_ROWS.toLocaleString('en')} × ${DIM_ROWS.toLocaleString('en')} rows from Parquet; input rows per second of wall time`,
      ['join', 'rows out', 'sluice p=1', 'sluice p=2', 'sluice default', 'hand-written JS', 'DuckDB 1t', 'DuckDB 2t', 'sluice/DuckDB (p1/1t, p2/2t)', 'by CPU time (p1/1t)', 'peak RSS MB (p1/p2/JS/D1/D2)'],
      rows,
    );
  }

  if (streamQueries.length > 0) {
    const t0 = performance.now();
    await nexmarkFiles();
    const timed = CHUNKS * CHUNK;
    console.log(
      `\nstreaming: ${timed.toLocaleString('en')} Nexmark events timed (${CHUNKS} chunks, triggers of ${PER_TRIGGER}) after ${WARM_UP_TRIGGERS} warm-up triggers; ` +
        `files ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const rows: string[][] = [];
    for (const q of streamQueries) {
      // Best of `REPEAT` rounds, interleaved, so that a slow spell of the shared machine hits both alike.
      let s1: ChildResult | string = 'not run';
      let s2: ChildResult | string = 'not run';
      for (let round = 0; round < REPEAT; round++) {
        const r1 = runChild('stream', q, '1');
        describe(`${q} sluice p=1`, r1);
        s1 = faster(s1, r1);
        const r2 = runChild('stream', q, '2');
        describe(`${q} sluice p=2`, r2);
        s2 = faster(s2, r2);
      }
      const d1 = runChild('duckstream', q, '1');
      describe(`${q} DuckDB 1 thread`, d1);
      const d2 = runChild('duckstream', q, '2');
      describe(`${q} DuckDB 2 threads`, d2);
      if (typeof s1 !== 'string' && typeof d1 !== 'string' && s1.out !== d1.out) console.warn(`  ${q}: sluice ${s1.out} rows over the run, DuckDB ${d1.out}`);
      const nexmark = (r: ChildResult | string) => (typeof r === 'string' ? '—' : fmt((timed / r.ms) * 1000));
      rows.push([
        q,
        `${outRows(s1)} / ${outRows(d1)}`,
        rate(s1),
        rate(s2),
        typeof s1 === 'string' || typeof s2 === 'string' ? '—' : `${(s1.ms / s2.ms).toFixed(2)}×${s2.partitions === 1 ? ' (inline)' : ''}`,
        `${nexmark(s1)} / ${nexmark(s2)}`,
        // Per core: rows per second of the process's CPU time (every thread), which a busy machine disturbs less.
        typeof s1 === 'string' || typeof s2 === 'string' ? '—' : `${fmt((s1.rows / s1.cpuMs) * 1000)} / ${fmt((s2.rows / s2.cpuMs) * 1000)}`,
        `${mb(s1)} / ${mb(s2)}`,
        rate(d1),
        rate(d2),
        `${ratio(s1, d1)} / ${ratio(s2, d2)}`,
      ]);
    }
    printTable(
      'Nexmark joins: input rows (persons + auctions) per second of wall time',
      ['query', 'rows out (sluice/DuckDB)', 'sluice p=1', 'sluice p=2', 'speed-up', 'Nexmark events/s (p1/p2)', 'rows per CPU-s (p1/p2)', 'peak RSS MB (p1/p2)', 'DuckDB 1t', 'DuckDB 2t', 'sluice/DuckDB (1/2)'],
      rows,
    );
  }
}

await main();
