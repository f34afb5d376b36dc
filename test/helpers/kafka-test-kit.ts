/**
 * What Kafka connector tests share: unique topics, producing keyed JSON events, and reading a topic back with a
 * separate kafkajs consumer (the outside oracle; `read_committed` unless asked otherwise).
 *
 * @example
 * const kit = new KafkaTestKit(kafkaBrokerList());
 * const topic = await kit.topic('orders', 3);
 * await kit.produce(topic, [{ key: 'a', value: '{"n":1}' }]);
 * const got = await kit.readAll(topic, 1);
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, Partitioners, logLevel, type Admin, type Consumer, type IHeaders, type Producer } from 'kafkajs';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms; throws naming `what` after `timeoutMs`. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

const tempDirs: string[] = [];

/** A fresh temp folder (checkpoints), removed by `removeTempDirs()`. */
export function tempDir(prefix = 'sluice-kafka-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** Removes every folder `tempDir()` made in this test file (call in `afterAll`, after queries stopped). */
export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface ProducedMessage {
  readonly key?: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly partition?: number;
  /** Epoch ms (CreateTime). */
  readonly timestamp?: number;
  readonly headers?: IHeaders;
}

export interface ReadRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
}

/** A keyed JSON event of the end-to-end tests. */
export interface TestEvent {
  readonly user: string;
  readonly amount: number;
  /** Epoch ms. */
  readonly ts: number;
}

/**
 * `n` events over `users` users: event time moves 20 ms per event with up to ±`jitterMs` of disorder; deterministic
 * for a seed.
 */
export function makeEvents(n: number, opts: { users?: number; jitterMs?: number; seed?: number; base?: number } = {}): TestEvent[] {
  const users = opts.users ?? 10;
  const jitter = opts.jitterMs ?? 1_500;
  let s = opts.seed ?? 42;
  const rand = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const base = opts.base ?? Date.UTC(2026, 0, 1);
  return Array.from({ length: n }, (_, i) => ({
    user: `u${Math.floor(rand() * users)}`,
    amount: 1 + Math.floor(rand() * 100),
    ts: base + i * 20 + Math.round((rand() * 2 - 1) * jitter),
  }));
}

/** Per (user, tumbling window) count and sum, for windows whose end ≤ `watermark` (append-mode output). */
export function expectedWindows(events: readonly TestEvent[], windowMs: number, watermark: number): Map<string, { n: number; total: number }> {
  const out = new Map<string, { n: number; total: number }>();
  for (const e of events) {
    const start = e.ts - (((e.ts % windowMs) + windowMs) % windowMs);
    if (start + windowMs > watermark) continue;
    const k = `${e.user}|${new Date(start).toISOString()}|${new Date(start + windowMs).toISOString()}`;
    const cur = out.get(k) ?? { n: 0, total: 0 };
    cur.n++;
    cur.total += e.amount;
    out.set(k, cur);
  }
  return out;
}

/** The query's output value `{"window":{start,end},"user","n","total"}` → the same key as `expectedWindows`. */
export function windowRowKey(value: string): { key: string; n: number; total: number } {
  const v = JSON.parse(value) as { window: { start: string; end: string }; user: string; n: number; total: number };
  return { key: `${v.user}|${v.window.start}|${v.window.end}`, n: v.n, total: v.total };
}

export class KafkaTestKit {
  readonly kafka: Kafka;
  private admin_: Admin | null = null;
  private producer_: Producer | null = null;
  private readonly run = randomUUID().slice(0, 8);
  private readonly consumers: Consumer[] = [];

  constructor(readonly brokers: readonly string[]) {
    this.kafka = new Kafka({
      clientId: `sluice-test-${this.run}`,
      brokers: [...brokers],
      logLevel: process.env['KAFKAJS_DEBUG'] === '1' ? logLevel.DEBUG : logLevel.NOTHING,
    });
  }

  get bootstrap(): string {
    return this.brokers.join(',');
  }

  async admin(): Promise<Admin> {
    if (!this.admin_) {
      this.admin_ = this.kafka.admin();
      await this.admin_.connect();
    }
    return this.admin_;
  }

  async producer(): Promise<Producer> {
    if (!this.producer_) {
      // idempotent: a retried produce request (leader not ready yet, …) must not write the records twice
      this.producer_ = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
      await this.producer_.connect();
    }
    return this.producer_;
  }

  /** Adds partitions to a topic; the next produce uses a new producer (kafkajs keeps metadata for minutes). */
  async addPartitions(topic: string, count: number): Promise<void> {
    await (await this.admin()).createPartitions({ topicPartitions: [{ topic, count }] });
    await this.producer_?.disconnect().catch(() => {});
    this.producer_ = null;
  }

  /** Deletes the records of a partition before `offset` (as retention would). */
  async deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<void> {
    const admin = await this.admin();
    await admin.fetchTopicOffsets(topic); // kafkajs needs the topic's leaders in its metadata first
    await admin.deleteTopicRecords({ topic, partitions: [{ partition, offset: String(offset) }] });
  }

  /**
   * Creates a topic with a unique name starting with `name` and waits until every partition has a leader (kafkajs's
   * own `waitForLeaders` sometimes fails with UNKNOWN_TOPIC_OR_PARTITION while the topic is still being created).
   */
  async topic(name: string, partitions: number, configEntries: { name: string; value: string }[] = []): Promise<string> {
    const topic = `sluice-${name}-${this.run}-${randomUUID().slice(0, 6)}`;
    await this.createTopic(topic, partitions, configEntries);
    return topic;
  }

  /** Creates `topic` as named and waits for its leaders. */
  async createTopic(topic: string, partitions: number, configEntries: { name: string; value: string }[] = []): Promise<void> {
    const admin = await this.admin();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, configEntries }], waitForLeaders: false });
    await waitFor(`leaders of ${topic}`, async () => {
      try {
        const m = await admin.fetchTopicMetadata({ topics: [topic] });
        const ps = m.topics[0]?.partitions ?? [];
        return ps.length === partitions && ps.every((p) => p.leader >= 0);
      } catch {
        return false;
      }
    });
  }

  /** Produces in requests of at most 5,000 messages or ~512 KB (the broker refuses record batches over 1 MB). */
  async produce(topic: string, messages: readonly ProducedMessage[]): Promise<void> {
    const p = await this.producer();
    const size = (m: ProducedMessage) => (m.value?.length ?? 0) + (m.key?.length ?? 0) + 64;
    for (let i = 0; i < messages.length; ) {
      let j = i;
      let bytes = 0;
      while (j < messages.length && j - i < 5_000 && (j === i || bytes + size(messages[j]!) < 512 * 1024)) bytes += size(messages[j++]!);
      await p.send({
        topic,
        acks: -1,
        messages: messages.slice(i, j).map((m) => ({
          key: m.key ?? null,
          value: m.value,
          ...(m.partition !== undefined ? { partition: m.partition } : {}),
          ...(m.timestamp !== undefined ? { timestamp: String(m.timestamp) } : {}),
          ...(m.headers ? { headers: m.headers } : {}),
        })),
      });
      i = j;
    }
  }

  /** Produces events as JSON values keyed by user. */
  async produceEvents(topic: string, events: readonly TestEvent[]): Promise<void> {
    await this.produce(
      topic,
      events.map((e) => ({ key: e.user, value: JSON.stringify({ user: e.user, amount: e.amount, ts: new Date(e.ts).toISOString() }) })),
    );
  }

  /** Waits until the high watermarks are `expected` (transaction markers are written after `commit()` returns). */
  async waitForHighWatermarks(topic: string, expected: readonly number[]): Promise<void> {
    await waitFor(`high watermarks ${expected.join(',')} of ${topic}`, async () => (await this.highWatermarks(topic)).join() === expected.join());
  }

  /** Offsets after the last record, per partition (the high watermark; with transactions it counts markers too). */
  async highWatermarks(topic: string): Promise<number[]> {
    const o = await (await this.admin()).fetchTopicOffsets(topic);
    return o.sort((a, b) => a.partition - b.partition).map((x) => Number(x.high));
  }

  /**
   * Reads `topic` from the beginning with a new consumer group until `expected` records arrived, then `settleMs` more
   * to catch extras (duplicates would show up there).
   */
  async readAll(topic: string, expected: number, o: { readUncommitted?: boolean; settleMs?: number; timeoutMs?: number } = {}): Promise<ReadRecord[]> {
    const got: ReadRecord[] = [];
    const c = this.kafka.consumer({
      groupId: `sluice-test-reader-${randomUUID()}`,
      readUncommitted: o.readUncommitted ?? false,
      maxWaitTimeInMs: 250,
      heartbeatInterval: 500,
      sessionTimeout: 10_000,
    });
    this.consumers.push(c);
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
        got.push({
          topic,
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers,
        });
      },
    });
    await waitFor(`${expected} records in ${topic} (got ${got.length})`, () => got.length >= expected, o.timeoutMs ?? 60_000);
    await sleep(o.settleMs ?? 1_000);
    await c.stop();
    await c.disconnect();
    return got;
  }

  async close(): Promise<void> {
    for (const c of this.consumers) await c.disconnect().catch(() => {});
    await this.producer_?.disconnect().catch(() => {});
    await this.admin_?.disconnect().catch(() => {});
  }
}
