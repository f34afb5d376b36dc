/**
 * Kafka connector throughput and latency against a real broker. Not a test: run
 * `npx tsx test/bench/kafka-bench.ts [events]` (starts a broker with engine/cli/kafka/broker.ts unless $KAFKA_BROKERS is
 * set; default 1,000,000 events of ~90-byte JSON over 4 partitions).
 *
 * 1. fetch + decode: the source's reader alone, broker → Arrow batches (key/value binary columns), events/s and MB/s;
 * 2. source → engine: a streaming query (availableNow) that only counts, events/s through offsets, getBatch and a sink;
 * 3. end to end: source → fromJson → watermark → 10 s windows per user (count, sum) → sink, events/s;
 * 4. the same into the Kafka sink with exactly-once transactions;
 * 5. latency at a fixed input rate (`RATE` events/s, default 20,000, for `SECONDS`, default 15) with a 100 ms trigger,
 *    the producer in a child process: event → sink (parse + project), p50/p99/max; and window end → emitted window
 *    for 1 s windows with no watermark delay.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import '../../connectors/kafka/index.js';
import { col, count, fromJson, Session, struct, sum, toJson, window } from '../../engine/index.js';
import { KafkaClient } from '../../connectors/kafka/kafka-client.js';
import { newFetchStats, readRanges } from '../../connectors/kafka/kafka-fetcher.js';
import { parseSourceOptions } from '../../connectors/kafka/kafka-options.js';
import { rowsFromBatch } from '../../engine/types/values.js';

const quiet = { logLevel: logLevel.NOTHING };
const EVENT_SCHEMA = { user: 'string', amount: 'long', ts: 'timestamp' } as const;

function event(i: number, ts: number): string {
  return `{"user":"user-${(i * 7919) % 1000}","amount":${i % 97},"ts":"${new Date(ts).toISOString()}","pad":"${'x'.repeat(8)}"}`;
}

// ---------------------------------------------------------------- producer child (fixed rate)
if (process.argv[2] === '--produce-at-rate') {
  const [, , , brokers, topic, rate, seconds] = process.argv;
  const kafka = new Kafka({ brokers: [brokers!], ...quiet });
  const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await p.connect();
  const perTick = Math.round(Number(rate) / 100);
  const end = Date.now() + Number(seconds) * 1000;
  let i = 0;
  let next = Date.now();
  while (Date.now() < end) {
    const now = Date.now();
    const msgs = Array.from({ length: perTick }, () => ({ key: `user-${(i * 7919) % 1000}`, value: event(i++, now) }));
    await p.send({ topic: topic!, acks: 1, messages: msgs });
    next += 10;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await p.disconnect();
  console.log(JSON.stringify({ produced: i }));
  process.exit(0);
}

// ---------------------------------------------------------------- main
const N = Number(process.argv[2] ?? 1_000_000);
const PARTITIONS = Number(process.env['PARTITIONS'] ?? 4);
const RATE = Number(process.env['RATE'] ?? 20_000);
const SECONDS = Number(process.env['SECONDS'] ?? 15);

let brokers = process.env['KAFKA_BROKERS'] ?? null;
let stopBroker: (() => Promise<void>) | null = null;
if (!brokers) {
  const { startBroker } = await import('../../engine/cli/kafka/broker.js');
  const b = await startBroker({ heap: '1g' });
  if (!b.available) throw new Error(`no Kafka broker: ${b.reason}`);
  brokers = b.brokers;
  stopBroker = () => b.stop();
}
process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';
const kafka = new Kafka({ brokers: [brokers], ...quiet });
const admin = kafka.admin();
await admin.connect();
const run = Date.now().toString(36);
const topicName = (s: string) => `bench-${s}-${run}`;

async function produce(p: Producer, topic: string, n: number): Promise<number> {
  const t0 = performance.now();
  const base = Date.UTC(2026, 0, 1);
  const CHUNK = 5_000;
  let inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += CHUNK) {
    const msgs = [];
    for (let j = i; j < Math.min(n, i + CHUNK); j++) msgs.push({ key: `user-${(j * 7919) % 1000}`, value: event(j, base + j * 2) });
    inFlight.push(p.send({ topic, acks: 1, messages: msgs }));
    if (inFlight.length >= 4) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  return performance.now() - t0;
}

const results: string[] = [];
const report = (what: string, events: number, ms: number, extra = '') => {
  const line = `${what.padEnd(58)} ${String(events).padStart(9)} events ${ms.toFixed(0).padStart(7)} ms ${Math.round((events / ms) * 1000).toLocaleString('en-US').padStart(11)} events/s ${extra}`;
  results.push(line);
  console.log(line);
};

try {
  const topic = topicName('events');
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const prodMs = await produce(producer, topic, N);
  console.log(`setup: produced ${N} events into ${topic} (${PARTITIONS} partitions) with kafkajs in ${prodMs.toFixed(0)} ms (${Math.round((N / prodMs) * 1000)}/s)`);
  const offsets = await admin.fetchTopicOffsets(topic);

  // 1. fetch + decode only
  const o = parseSourceOptions({ 'kafka.bootstrap.servers': brokers, subscribe: topic }, true);
  const client = new KafkaClient(o.client);
  await client.connect();
  const ranges = offsets.map((x) => ({ topic, partition: x.partition, start: 0, end: Number(x.high) }));
  const times: number[] = [];
  let bytes = 0;
  let decodeMs = 0;
  for (let rep = 0; rep < 3; rep++) {
    const stats = newFetchStats();
    const t0 = performance.now();
    let rows = 0;
    for await (const b of readRanges(client, ranges, o.fetch, stats)) rows += b.numRows;
    times.push(performance.now() - t0);
    if (rows !== N) throw new Error(`read ${rows} of ${N}`);
    bytes = stats.bytes;
    decodeMs = stats.decodeMs;
  }
  await client.close();
  const best = Math.min(...times);
  report('1. fetch + decode into Arrow (best of 3)', N, best, `${((bytes / best) * 1000 / 1048576).toFixed(0)} MB/s, decode ${decodeMs.toFixed(0)} ms`);

  const session = new Session();
  const source = () =>
    session.readStream
      .format('kafka')
      .option('kafka.bootstrap.servers', brokers!)
      .option('subscribe', topic)
      .option('startingOffsets', 'earliest')
      .option('maxOffsetsPerTrigger', 250_000)
      .load();
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-kafka-bench-'));

  // 2. source → engine, counting only
  {
    let rows = 0;
    const t0 = performance.now();
    const q = source()
      .writeStream.foreachBatch(async (df) => {
        rows += (await df.toBatches()).reduce((s, b) => s + b.numRows, 0);
      })
      .option('checkpointLocation', join(tmp, 'count'))
      .trigger({ availableNow: true })
      .start();
    await q.awaitTermination();
    report('2. streaming source → sink (count), availableNow', rows, performance.now() - t0, `${q.recentProgress.length} batches`);
  }

  // 3. end to end windowed aggregation
  const windowed = () =>
    source()
      .select(fromJson(col('value'), EVENT_SCHEMA).as('e'))
      .select('e.*')
      .withWatermark('ts', '10 seconds')
      .groupBy(window(col('ts'), '10 seconds'), col('user'))
      .agg(count('*').as('n'), sum('amount').as('total'));
  {
    let out = 0;
    const t0 = performance.now();
    const q = windowed()
      .writeStream.foreachBatch(async (df) => {
        out += (await df.toBatches()).reduce((s, b) => s + b.numRows, 0);
      })
      .option('checkpointLocation', join(tmp, 'windowed'))
      .trigger({ availableNow: true })
      .start();
    await q.awaitTermination();
    const ms = performance.now() - t0;
    const exec = q.recentProgress.reduce((s, p) => s + (p.durationMs['execution'] ?? 0), 0);
    report('3. source → fromJson → 10 s windows per user → sink', N, ms, `${out} windows out, ${q.recentProgress.length} batches, execution ${exec} ms`);
  }

  // 4. the same into Kafka, exactly-once
  {
    const out = topicName('windows');
    await admin.createTopics({ topics: [{ topic: out, numPartitions: 2 }], waitForLeaders: true });
    const t0 = performance.now();
    const q = windowed()
      .select(col('user').as('key'), toJson(struct(col('window'), col('user'), col('n'), col('total'))).as('value'))
      .writeStream.format('kafka')
      .option('kafka.bootstrap.servers', brokers!)
      .option('topic', out)
      .option('deliveryGuarantee', 'exactly-once')
      .option('checkpointLocation', join(tmp, 'windowed-kafka'))
      .trigger({ availableNow: true })
      .start();
    await q.awaitTermination();
    const sent = q.recentProgress.reduce((s, p) => s + p.sink.numOutputRows, 0);
    report('4. … → Kafka sink, exactly-once (one transaction per batch)', N, performance.now() - t0, `${sent} records in ${q.recentProgress.length} transactions`);
  }

  // 5. latency at a fixed rate, 100 ms trigger
  for (const kind of ['stateless', 'windowed'] as const) {
    const lt = topicName(`latency-${kind}`);
    await admin.createTopics({ topics: [{ topic: lt, numPartitions: PARTITIONS }], waitForLeaders: true });
    const lat: number[] = [];
    let q;
    if (kind === 'stateless') {
      q = session.readStream
        .format('kafka')
        .option('kafka.bootstrap.servers', brokers!)
        .option('subscribe', lt)
        .load()
        .select(fromJson(col('value'), EVENT_SCHEMA).as('e'), col('timestamp'))
        .select(col('e.user').as('user'), col('e.amount').as('amount'), col('timestamp'))
        .writeStream.foreachBatch(async (df) => {
          const now = Date.now();
          for (const b of await df.toBatches()) {
            const ts = b.getChild('timestamp')!;
            for (let i = 0; i < b.numRows; i++) lat.push(now - Number(ts.get(i)));
          }
        })
        .trigger({ processingTime: '100 milliseconds' })
        .start();
    } else {
      q = session.readStream
        .format('kafka')
        .option('kafka.bootstrap.servers', brokers!)
        .option('subscribe', lt)
        .load()
        .select(fromJson(col('value'), EVENT_SCHEMA).as('e'))
        .select('e.*')
        .withWatermark('ts', '0 seconds')
        .groupBy(window(col('ts'), '1 second'), col('user'))
        .agg(count('*').as('n'))
        .writeStream.foreachBatch(async (df) => {
          const now = Date.now();
          const seen = new Set<number>();
          for (const b of await df.toBatches()) {
            for (const r of rowsFromBatch(b, df.schema)) {
              const end = ((r['window'] as { end: Date }).end).getTime();
              if (!seen.has(end)) lat.push(now - end);
              seen.add(end);
            }
          }
        })
        .trigger({ processingTime: '100 milliseconds' })
        .start();
    }
    await q.processAllAvailable();
    const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--produce-at-rate', brokers!, lt, String(RATE), String(SECONDS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let produced = '';
    child.stdout.on('data', (d) => (produced += d));
    await new Promise((r) => child.on('close', r));
    await new Promise((r) => setTimeout(r, 2_000));
    await q.processAllAvailable();
    await q.stop();
    const n = (JSON.parse(produced.trim().split('\n').at(-1)!) as { produced: number }).produced;
    lat.sort((a, b) => a - b);
    const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
    const what = kind === 'stateless' ? 'event → sink (parse, project)' : 'window end → window emitted (1 s windows)';
    const line = `5. latency at ${RATE}/s for ${SECONDS} s, 100 ms trigger, ${what}: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${lat.at(-1)} ms (${lat.length} samples, ${n} events produced)`;
    results.push(line);
    console.log(line);
  }
  rmSync(tmp, { recursive: true, force: true });
  await producer.disconnect();
} finally {
  await admin.disconnect();
  await stopBroker?.();
}
console.log(`\n${results.join('\n')}`);
