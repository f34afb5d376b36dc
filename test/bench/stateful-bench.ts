/**
 * Keyed user state: the failed-login detector (alert when a user fails to log in 3 times in a row, reset on success)
 * over 10 M generated logins of 1 M users, 30 % of them failures, written once as Parquet files into a temp folder.
 *
 *   floor      the same logic by hand: a plain Node loop over the Arrow columns of those files (read with the
 *              project's Parquet reader) with a `Map<string, number>`: the floor for user code in JS
 *   operator   the `transformWithState` operator's partition alone, inline, fed the same Arrow batches (one batch
 *              per file; no stream, no checkpoint; each table's delta taken after each batch, as the runtime does):
 *              what the processor layer costs
 *   sluice p1  `groupByKey(col('user')).transformWithState(FailedLoginDetector, …)`, a streaming query over the
 *   sluice p2  Parquet folder (`availableNow`, one file per batch), parallelism 1 and 2 (the processor loaded on the
 *              worker threads by module reference)
 *
 * Each run is a child process of its own (clean peak RSS, sampled every 20 ms). Reported: rows/s (wall, and per
 * CPU-second of the process), peak RSS, the live keys at the end (users whose last logins were 1 or 2 failures) and
 * the bytes each costs: RSS and V8 heap + external memory measured with the keys held and again once they are dropped
 * (after full GCs), the difference over the keys; for the streaming query, whose stopped query keeps its state
 * reachable, held minus before the run (an upper bound). Both sides must raise the same number of alerts.
 *
 * The sluice parts need the `transformWithState` operator kind (operator) and `groupByKey` (p1, p2); in a build
 * without them they print that and the floor still runs.
 *
 * Not a test: `npx tsx test/bench/stateful-bench.ts [--quick] [--rows N] [--users U] [--only floor,operator,p1,p2]`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import { Bool, Field, RecordBatch, Schema as ArrowSchema, Struct, TimestampMillisecond, Utf8, makeData, type Vector } from 'apache-arrow';
import { col, Session, type DataFrame, type StreamingSink } from '../../engine/index.js';
import type { StatefulProcessorClass, TransformWithStateOptions } from '../../engine/api/stateful-processor.js';
import { scanParquetFile, writeParquetFile } from '../../connectors/parquet/index.js';
import { prng } from '../helpers/prng.js';
import { operatorKind, type KeyedOperator, type KeyedOperatorSpec } from '../../engine/physical/partitions/keyed-operator.js';
import { schemaOf } from '../../engine/types/data-type.js';
import { FailedLoginDetector } from './failed-login-detector.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const QUICK = args.includes('--quick');
const ROWS = Number(arg('--rows') ?? (QUICK ? 1_000_000 : 10_000_000));
const USERS = Number(arg('--users') ?? (QUICK ? 100_000 : 1_000_000));
const FAILURE_RATE = 0.3;
const FILES = 10;
const BATCH = 65_536;
const T0 = Date.UTC(2026, 0, 1);
const ONLY = (arg('--only') ?? 'floor,operator,p1,p2').split(',');

/** One file's logins: (user, success, ts), one login per ms, users uniform, failures at `FAILURE_RATE`. */
function generateFile(file: number, rows: number, first: number): RecordBatch[] {
  const r = prng(1000 + file);
  const enc = new TextEncoder();
  const fields = [new Field('user', new Utf8(), false), new Field('success', new Bool(), false), new Field('ts', new TimestampMillisecond('UTC'), false)];
  const schema = new ArrowSchema(fields);
  const out: RecordBatch[] = [];
  for (let start = 0; start < rows; start += BATCH) {
    const n = Math.min(BATCH, rows - start);
    const offsets = new Int32Array(n + 1);
    const bytes = new Uint8Array(n * 12);
    const success = new Uint8Array((n + 7) >> 3);
    const ts = new BigInt64Array(n);
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const written = enc.encodeInto(`u${Math.floor(r() * USERS)}`, bytes.subarray(pos)).written;
      pos += written;
      offsets[i + 1] = pos;
      if (r() >= FAILURE_RATE) success[i >> 3]! |= 1 << (i & 7);
      ts[i] = BigInt(T0 + first + start + i);
    }
    const children = [
      makeData({ type: fields[0]!.type as Utf8, length: n, nullCount: 0, valueOffsets: offsets, data: bytes.subarray(0, pos) }),
      makeData({ type: fields[1]!.type as Bool, length: n, nullCount: 0, data: success }),
      makeData({ type: fields[2]!.type as TimestampMillisecond, length: n, nullCount: 0, data: ts }),
    ];
    out.push(new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children })));
  }
  return out;
}

/** The input folder, written once per (rows, users) and kept in the temp folder for the next run. */
async function inputFolder(): Promise<string> {
  const dir = join(tmpdir(), 'sluice-stateful-bench', `logins-${ROWS}-${USERS}`);
  const done = join(dir, '_complete');
  if (existsSync(done)) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const per = Math.ceil(ROWS / FILES);
  for (let f = 0; f * per < ROWS; f++) {
    const rows = Math.min(per, ROWS - f * per);
    await writeParquetFile(join(dir, `part-${String(f).padStart(3, '0')}.parquet`), generateFile(f, rows, f * per), { compression: 'snappy' });
  }
  mkdirSync(done);
  console.log(`  generated ${ROWS.toLocaleString('en')} logins in ${FILES} Parquet files in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return dir;
}

function parquetFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.parquet'))
    .sort()
    .map((f) => join(dir, f));
}

/** What each child prints (one JSON line). */
interface Result {
  run: string;
  rows: number;
  alerts: number;
  ms: number;
  /** The floor's loop alone (Parquet reading excluded); 0 for sluice. */
  loopMs: number;
  cpuMs: number;
  peakRss: number;
  liveKeys: number;
  rssPerKey: number;
  heapPerKey: number;
  note?: string;
}

/** Peak RSS, sampled. */
function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  return {
    stop() {
      clearInterval(t);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

/**
 * A full GC, reached without `--expose-gc` on the command line (worker threads refuse that flag in their parent's
 * execArgv, and the Parquet decoder runs on one).
 */
const gc: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

function settledMemory(): { rss: number; heap: number } {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

/** A string column's values per row: Utf8 decoded per row, a dictionary's values decoded once. */
function strings(v: Vector): (i: number) => string {
  const data = v.data[0]!;
  if (v.data.length !== 1) return (i) => v.get(i) as string;
  if (data.dictionary) {
    const dict = Array.from(data.dictionary.toArray() as Iterable<string>);
    const idx = data.values as ArrayLike<number>;
    return (i) => dict[idx[i]!]!;
  }
  const off = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  // Buffer's UTF-8 slice: the loop ran at 0.52 M rows/s with it, 0.36 M with TextDecoder.decode (1 M logins, loaded machine).
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return (i) => buf.toString('utf8', off[i]!, off[i + 1]!);
}

/** The hand-written floor: the Parquet files' Arrow batches, a loop, a Map. */
async function floor(dir: string): Promise<Result> {
  const sampler = rssSampler();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const fails = new Map<string, number>();
  let rows = 0;
  let alerts = 0;
  let loopMs = 0;
  let lastAlert: { user: string; reason: string; at: number } | null = null;
  for (const file of parquetFiles(dir)) {
    for await (const batch of scanParquetFile(file)) {
      const l0 = performance.now();
      const n = batch.numRows;
      const user = strings(batch.getChild('user')!);
      const ok = batch.getChild('success')!.data[0]!;
      const okBits = ok.values as Uint8Array;
      const okOffset = ok.offset;
      const ts = batch.getChild('ts')!.data[0]!.values as BigInt64Array | Int32Array;
      const wide = ts instanceof BigInt64Array;
      for (let i = 0; i < n; i++) {
        const u = user(i);
        const bit = okOffset + i;
        if ((okBits[bit >> 3]! >> (bit & 7)) & 1) {
          fails.delete(u);
          continue;
        }
        const c = (fails.get(u) ?? 0) + 1;
        if (c >= 3) {
          alerts++;
          lastAlert = { user: u, reason: '3 failed logins', at: wide ? Number(ts[i]!) : (ts as Int32Array)[2 * i]! + (ts as Int32Array)[2 * i + 1]! * 2 ** 32 };
          fails.delete(u);
        } else fails.set(u, c);
      }
      rows += n;
      loopMs += performance.now() - l0;
    }
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const peakRss = sampler.stop();
  const liveKeys = fails.size;
  const held = settledMemory();
  fails.clear();
  const dropped = settledMemory();
  void lastAlert;
  return {
    run: 'floor',
    rows,
    alerts,
    ms,
    loopMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakRss,
    liveKeys,
    rssPerKey: (held.rss - dropped.rss) / liveKeys,
    heapPerKey: (held.heap - dropped.heap) / liveKeys,
  };
}

/** Where the `transformWithState` operator kind is defined (absent from builds before it). */
const TWS_MODULE = '../../engine/physical/partitions/transform-with-state-partition.js';

/**
 * The `transformWithState` partition alone, built from its registered kind as a worker thread would, fed each file's
 * row groups as one batch (absorb…, finish), inline: the operator's cost without the stream around it.
 */
async function operatorOnly(dir: string): Promise<Result> {
  const notRun = (why: string): Result => ({ run: 'operator', rows: 0, alerts: 0, ms: 0, loopMs: 0, cpuMs: 0, peakRss: 0, liveKeys: 0, rssPerKey: 0, heapPerKey: 0, note: `not run: ${why}` });
  try {
    await import(TWS_MODULE);
  } catch (e) {
    return notRun(`this build has no transformWithState operator (${(e as Error).message.split('\n')[0]})`);
  }
  const inputSchema = schemaOf({ user: 'string', success: 'boolean', ts: 'timestamp' });
  const spec = {
    kind: 'transformWithState',
    inputSchemas: [inputSchema],
    keyOrdinals: [0],
    keyNames: ['user'],
    outputSchema: schemaOf({ user: 'string', reason: 'string', at: 'timestamp' }),
    timeMode: 'none',
    outputMode: 'append',
    eventTimeOrdinal: null,
    processor: { module: new URL('./failed-login-detector.ts', import.meta.url).href, export: 'FailedLoginDetector' },
    queryId: 'stateful-bench',
    runId: 'stateful-bench',
  } as KeyedOperatorSpec;
  let op: KeyedOperator | null = await operatorKind(spec).create(spec);
  const sampler = rssSampler();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rows = 0;
  let alerts = 0;
  let liveKeys = 0;
  let batchId = 0;
  for (const file of parquetFiles(dir)) {
    const info = { batchId, streaming: true, outputMode: 'append', lateWatermarkMs: 0, evictionWatermarkMs: 0, batchTimestampMs: T0 + batchId } as const;
    op.startBatch?.(info);
    for await (const batch of scanParquetFile(file)) {
      op.absorb(batch, batchId * 2 ** 30 + rows, info, 0);
      rows += batch.numRows;
    }
    const { output, metrics } = op.finish(info);
    // As the runtime does after each batch: every table's changes are taken (here, dropped).
    for (const t of op.tables) op.takeDelta(t.name);
    alerts += output?.numRows ?? 0;
    liveKeys = metrics.numRowsTotal;
    batchId++;
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const peakRss = sampler.stop();
  const held = settledMemory();
  op = null;
  const dropped = settledMemory();
  return {
    run: 'operator',
    rows,
    alerts,
    ms,
    loopMs: 0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakRss,
    liveKeys,
    rssPerKey: (held.rss - dropped.rss) / Math.max(1, liveKeys),
    heapPerKey: (held.heap - dropped.heap) / Math.max(1, liveKeys),
  };
}

class CountingSink implements StreamingSink {
  readonly description = 'CountingSink';
  rows = 0;
  async addBatch(_id: number, data: { numRows: number }): Promise<void> {
    this.rows += data.numRows;
  }
}

/** What the bench needs of `groupByKey(…).transformWithState(…)`, reached without assuming the build has it. */
type Grouped = { transformWithState(p: StatefulProcessorClass<string, never, never>, o: TransformWithStateOptions): DataFrame };
type WithGroupByKey = { groupByKey?: (...keys: unknown[]) => Grouped };

/** The detector as a streaming query over the Parquet folder, one file per batch, `availableNow`. */
async function sluice(dir: string, parallelism: number): Promise<Result> {
  const session = new Session({ conf: { parallelism } });
  const logins = session.readStream.format('parquet').option('maxFilesPerTrigger', 1).load(dir);
  const groupByKey = (logins as unknown as WithGroupByKey).groupByKey;
  if (typeof groupByKey !== 'function') {
    return { run: `p${parallelism}`, rows: 0, alerts: 0, ms: 0, loopMs: 0, cpuMs: 0, peakRss: 0, liveKeys: 0, rssPerKey: 0, heapPerKey: 0, note: 'not run: this build has no DataFrame.groupByKey / transformWithState' };
  }
  const sink = new CountingSink();
  session.formats.register({ name: 'counting', streamingSink: () => sink });
  const alerts = groupByKey.call(logins, col('user')).transformWithState(FailedLoginDetector as unknown as StatefulProcessorClass<string, never, never>, {
    outputSchema: { user: 'string', reason: 'string', at: 'timestamp' },
    timeMode: 'none',
    outputMode: 'append',
    module: { module: new URL('./failed-login-detector.ts', import.meta.url).href, export: 'FailedLoginDetector' },
  });
  const ckpt = join(tmpdir(), `sluice-stateful-bench-ckpt-${process.pid}`);
  rmSync(ckpt, { recursive: true, force: true });
  const before = settledMemory();
  const sampler = rssSampler();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const q = alerts.writeStream.format('counting').outputMode('append').option('checkpointLocation', ckpt).trigger({ availableNow: true }).start();
  await q.awaitTermination();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const peakRss = sampler.stop();
  const progress = q.recentProgress;
  const rows = progress.reduce((s, p) => s + p.numInputRows, 0);
  const op = q.lastProgress?.stateOperators[0];
  const liveKeys = op?.numRowsTotal ?? 0;
  const partitions = progress.filter((p) => p.numInputRows > 0).map((p) => p.stateOperators[0]?.numShufflePartitions ?? 0);
  // The state stays reachable from the query object after it stopped (measured: stopping it frees nothing), so
  // held − before: an upper bound, with what else the run left (compiled code; for RSS the Parquet decoder's
  // WebAssembly memory, which grows and never shrinks: the heap + external figure is the one to read).
  const held = settledMemory();
  await q.stop();
  if (process.env.STATEFUL_BENCH_DEBUG) console.error(JSON.stringify({ before, held, stopped: settledMemory() }));
  rmSync(ckpt, { recursive: true, force: true });
  return {
    run: `p${parallelism}`,
    rows,
    alerts: sink.rows,
    ms,
    loopMs: 0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakRss,
    liveKeys,
    rssPerKey: (held.rss - before.rss) / Math.max(1, liveKeys),
    heapPerKey: (held.heap - before.heap) / Math.max(1, liveKeys),
    note: `bytes per key: held − before the run (an upper bound); state partitions per batch ${partitions.join(',')}; state memory ${Math.round((op?.memoryUsedBytes ?? 0) / Math.max(1, liveKeys))} B/key by the operator's own count`,
  };
}

async function child(which: string, dir: string): Promise<void> {
  const r = which === 'floor' ? await floor(dir) : which === 'operator' ? await operatorOnly(dir) : await sluice(dir, Number(which.slice(1)));
  console.log(JSON.stringify(r));
}

async function main(): Promise<void> {
  const ci = args.indexOf('--child');
  if (ci >= 0) {
    await child(args[ci + 1]!, args[ci + 2]!);
    return;
  }
  const dir = await inputFolder();
  const mb = parquetFiles(dir).reduce((s, f) => s + statSync(f).size, 0) / 1e6;
  console.log(`${ROWS.toLocaleString('en')} logins, ${USERS.toLocaleString('en')} users, ${FAILURE_RATE * 100} % failures; ${FILES} Parquet files, ${mb.toFixed(0)} MB`);
  const results: Result[] = [];
  for (const which of ['floor', 'operator', 'p1', 'p2']) {
    if (!ONLY.includes(which)) continue;
    const r = spawnSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', which, dir, '--rows', String(ROWS), '--users', String(USERS)], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    if (!line) {
      console.log(`  ${which}: failed (exit ${r.status}): ${r.stderr.slice(-1500)}`);
      continue;
    }
    const res = JSON.parse(line) as Result;
    if (res.note?.startsWith('not run')) {
      console.log(`  ${which}: ${res.note}`);
      continue;
    }
    results.push(res);
  }
  const floorRun = results.find((r) => r.run === 'floor');
  for (const r of results) if (floorRun && r.alerts !== floorRun.alerts) console.warn(`  ${r.run}: ${r.alerts} alerts, the floor ${floorRun.alerts}`);
  const head = ['run', 'rows/s (wall)', 'rows per CPU-s', 'loop alone rows/s', 'vs floor', 'peak RSS MB', 'live keys', 'RSS B/key', 'heap+ext B/key', 'alerts'];
  const rate = (r: Result) => (r.rows / r.ms) * 1000;
  const table = results.map((r) => [
    r.run,
    `${(rate(r) / 1e6).toFixed(2)}M`,
    `${((r.rows / r.cpuMs) * 1000 / 1e6).toFixed(2)}M`,
    r.loopMs > 0 ? `${((r.rows / r.loopMs) * 1000 / 1e6).toFixed(2)}M` : '-',
    floorRun ? (rate(r) / rate(floorRun)).toFixed(2) : '-',
    String(Math.round(r.peakRss / 2 ** 20)),
    r.liveKeys.toLocaleString('en'),
    r.rssPerKey.toFixed(0),
    r.heapPerKey.toFixed(0),
    r.alerts.toLocaleString('en'),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
  console.log();
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of table) console.log(line(r));
  for (const r of results) if (r.note) console.log(`  ${r.run}: ${r.note}`);
}

await main();
