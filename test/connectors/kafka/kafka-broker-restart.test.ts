// Kafka → Kafka exactly-once queries on their own broker, which is stopped and started again (same port, same data)
// while the queries run: they ride through the outage within kafka.default.api.timeout.ms and a read_committed
// consumer sees every record exactly once. The shared test broker is never touched.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import '../../../connectors/kafka/index.js';
import { kafkaSinkHooks } from '../../../connectors/kafka/kafka-sink.js';
import { col, Session, type StreamingQuery } from '../../../engine/index.js';
import { freePort, startBroker } from '../../../engine/cli/kafka/broker.js';
import type { RunningBroker } from '../../../engine/cli/kafka/broker.js';
import { describeKafka } from '../../setup/kafka.js';
import { KafkaTestKit, removeTempDirs, sleep, tempDir, waitFor } from '../../helpers/kafka-test-kit.js';
import { restartBroker } from '../../helpers/kafka-broker-process.js';
import { ApiKey, behindProxy, FaultProxy } from '../../helpers/kafka-fault-proxy.js';
import { KafkaSinkTimeoutError } from '../../../connectors/kafka/kafka-sink.js';

describeKafka('Kafka broker restarted mid-run', () => {
  let broker: RunningBroker | null = null;
  /** The process serving the broker's port now: the first start, or the last restart. */
  let running: { stop(): Promise<void> } | null = null;
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-kafka-restart-broker-'));
  let kit: KafkaTestKit | null = null;
  let proxy: FaultProxy | null = null;

  beforeAll(async () => {
    const b = await startBroker({ dataDir });
    if (!b.available) throw new Error(b.reason);
    broker = b;
    running = b;
  });
  afterEach(() => {
    kafkaSinkHooks.at = null;
  });
  afterAll(async () => {
    await kit?.close();
    await running?.stop();
    await proxy?.close();
    rmSync(dataDir, { recursive: true, force: true });
    removeTempDirs();
  });

  /** Stops the broker, waits `downMs`, starts it again on the same port and folder. */
  async function bounce(downMs: number): Promise<void> {
    await running!.stop();
    await sleep(downMs);
    running = await restartBroker(broker!);
  }

  const values = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${(from + i) % 7}`, value: `v${from + i}` }));

  /** From now on the broker serves clients only through a `FaultProxy` on its old port (restarted to listen elsewhere). */
  async function useProxy(): Promise<FaultProxy> {
    if (proxy) return proxy;
    const b = broker!;
    await running!.stop();
    let brokerPort = await freePort();
    while (brokerPort === b.controllerPort) brokerPort = await freePort(); // stopped, the controller's port is free too
    behindProxy(b.dir, brokerPort, b.port);
    proxy = await FaultProxy.start(b.port, brokerPort);
    running = await restartBroker(b);
    return proxy;
  }

  function start(input: string, output: string, extra: Record<string, string> = {}, checkpoint = tempDir()) {
    const b = broker!;
    const session = new Session();
    let rows = 0;
    session.streams.addListener({ onQueryProgress: ({ progress }) => void (rows += progress.numInputRows) });
    let r = session.readStream.format('kafka').option('kafka.bootstrap.servers', b.brokers).option('subscribe', input).option('startingOffsets', 'earliest');
    for (const [k, v] of Object.entries(extra)) r = r.option(k, v);
    let w = r.load().select(col('key'), col('value')).writeStream.format('kafka');
    for (const [k, v] of Object.entries(extra)) if (k.startsWith('kafka.')) w = w.option(k, v);
    const q = w
      .option('kafka.bootstrap.servers', b.brokers)
      .option('topic', output)
      .option('deliveryGuarantee', 'exactly-once')
      .option('checkpointLocation', checkpoint)
      .trigger({ processingTime: '50 milliseconds' })
      .start();
    return { q, rows: () => rows };
  }

  /** An input topic holding `n` records, an empty output topic, and the records. */
  async function topicsWith(name: string, n: number): Promise<{ input: string; output: string; all: { key: string; value: string }[] }> {
    const k = new KafkaTestKit([broker!.brokers]);
    try {
      const input = await k.topic(`${name}-in`, 2);
      const output = await k.topic(`${name}-out`, 2);
      const all = values(0, n);
      await k.produce(input, all);
      return { input, output, all };
    } finally {
      await k.close();
    }
  }

  /** Stops a query that must not have failed; a read_committed consumer must see `expected` once each. The sink's metrics. */
  async function stopAndCheck(q: StreamingQuery, output: string, expected: readonly { value: string }[]): Promise<Record<string, string>> {
    expect(q.exception).toBeNull();
    const metrics = q.lastProgress!.sink.metrics ?? {};
    await q.stop();
    kit = new KafkaTestKit([broker!.brokers]);
    await expectExactlyOnce(output, expected);
    return metrics;
  }

  async function expectExactlyOnce(output: string, expected: readonly { value: string }[]): Promise<void> {
    const got = await kit!.readAll(output, expected.length, { settleMs: 1_500, timeoutMs: 90_000 });
    const seen = got.map((r) => r.value!);
    expect(seen.length - new Set(seen).size, 'duplicates').toBe(0);
    expect(new Set(seen)).toEqual(new Set(expected.map((v) => v.value)));
  }

  it('resumes reading and writing after the broker comes back, with every record exactly once', async () => {
    const b = broker!;
    kit = new KafkaTestKit([b.brokers]);
    const input = await kit.topic('restart-in', 2);
    const output = await kit.topic('restart-out', 2);
    const { q, rows } = start(input, output);
    await kit.produce(input, values(0, 200));
    await waitFor('the first 200 records through the query', () => rows() >= 200, 60_000);

    await kit.close();
    await running!.stop();
    await sleep(1_500); // the query keeps triggering against a broker that is down
    expect(q.isActive).toBe(true);
    running = await restartBroker(b);

    kit = new KafkaTestKit([b.brokers]);
    await kit.produce(input, values(200, 300));
    await waitFor('500 records through the query', () => rows() >= 500 || q.exception !== null, 120_000);
    expect(q.exception).toBeNull();
    await q.stop();
    await expectExactlyOnce(output, values(0, 500));
  });

  it('rides through restarts that begin while a transaction is open or its coordinator is being looked up', async () => {
    const { input, output, all } = await topicsWith('restart-txn', 3_000);
    // The broker goes down (SIGTERM, not awaited: the sink keeps going while it shuts down) once right after a batch
    // committed — the next batch looks up its transaction coordinator on a broker going away — and once between
    // sending a batch's records and committing them.
    const plan: { point: 'afterSend' | 'afterTxnCommit'; fromBatch: number }[] = [
      { point: 'afterTxnCommit', fromBatch: 2 },
      { point: 'afterSend', fromBatch: 0 },
    ];
    let bouncing: Promise<void> | null = null;
    let bounces = 0;
    kafkaSinkHooks.at = (point, batchId) => {
      const next = plan[bounces];
      if (bouncing !== null || next === undefined || point !== next.point || batchId < next.fromBatch) return;
      bounces++;
      bouncing = bounce(3_000).then(() => {
        bouncing = null;
        if (plan[bounces]) plan[bounces] = { ...plan[bounces]!, fromBatch: batchId + 2 };
      });
    };
    const { q, rows } = start(input, output, { maxOffsetsPerTrigger: '40' });
    await waitFor('3,000 records through the query', () => (rows() >= all.length && bounces === plan.length && bouncing === null) || q.exception !== null, 200_000);
    await bouncing;
    await stopAndCheck(q, output, all);
    expect(bounces).toBe(2);
    // Whether the sink's own loop retried here depends on timing: kafkajs's retries of one request may ride out a
    // 3 s outage by themselves (CI saw both). The next test cuts the connection at chosen requests and checks the
    // sink's retries; this one checks that a real restart at these two points loses and duplicates nothing.
  }, 300_000);

  it('retries coordinator lookups for the API timeout, and every step of a transaction when the broker goes away during it', async () => {
    const px = await useProxy();
    const { input, output, all } = await topicsWith('cut', 2_000);
    const { q, rows } = start(input, output, { maxOffsetsPerTrigger: '40' });
    await waitFor('the first batches', () => rows() >= 80 || q.exception !== null, 60_000);
    // For 20 s every FindCoordinator answers COORDINATOR_NOT_AVAILABLE, as while a broker shuts down or loads its
    // transaction log: longer than kafkajs retries on its own before "Failed to find group coordinator", well within
    // the 60 s API timeout.
    await px.coordinatorAway(20_000);
    expect(q.exception).toBeNull();
    expect(px.refusedLookups).toBeGreaterThan(0);
    // One cut at a time, each once the query has moved on: the broker vanishes for 2 s at that request — before it
    // reaches the broker, or after (the records were written, the transaction committed, but the answer is lost).
    const cuts = [
      ...[ApiKey.FindCoordinator, ApiKey.AddPartitionsToTxn, ApiKey.Produce, ApiKey.TxnOffsetCommit, ApiKey.EndTxn, ApiKey.Fetch].map((api) => ({ api, afterForwarding: false })),
      ...[ApiKey.Produce, ApiKey.EndTxn].map((api) => ({ api, afterForwarding: true })),
    ];
    for (const { api, afterForwarding } of cuts) {
      const before = rows();
      await waitFor(`the query moving on before cutting on api ${api}`, () => rows() > before || q.exception !== null, 60_000);
      if (q.exception !== null) break;
      await px.cutOn(api, 2_000, { afterForwarding });
    }
    await waitFor('2,000 records through the query', () => rows() >= all.length || q.exception !== null, 120_000);
    const metrics = await stopAndCheck(q, output, all);
    expect(px.cuts).toBe(cuts.length);
    expect(Number(metrics['retries'])).toBeGreaterThan(0);
  }, 300_000);

  it('fails with a restartable error when the broker stays away past the API timeout, and the restarted query writes each record once', async () => {
    const px = await useProxy();
    const { input, output, all } = await topicsWith('timeout', 600);
    const checkpoint = tempDir();
    const opts = { maxOffsetsPerTrigger: '40', 'kafka.default.api.timeout.ms': '2000' };
    const first = start(input, output, opts, checkpoint);
    await waitFor('some batches written', () => first.rows() >= 120 || first.q.exception !== null, 60_000);
    // Between a batch's records and its commit the broker vanishes for longer than the 2 s API timeout.
    const gone = px.cutOn(ApiKey.EndTxn, 6_000);
    await waitFor('the query to fail', () => first.q.exception !== null, 60_000);
    const err = first.q.exception!.cause;
    expect(err).toBeInstanceOf(KafkaSinkTimeoutError);
    expect((err as KafkaSinkTimeoutError).restartable).toBe(true);
    expect((err as Error).message).toMatch(/kafka\.default\.api\.timeout\.ms=2000.*restart the query from its checkpoint/s);
    await gone;
    const second = start(input, output, opts, checkpoint);
    await waitFor('the rest through the restarted query', async () => {
      if (second.q.exception !== null) return true;
      const o = (second.q.lastProgress?.sources[0]?.endOffset ?? null) as Record<string, Record<string, number>> | null;
      return o !== null && Object.values(o[input] ?? {}).reduce((s, n) => s + n, 0) >= all.length;
    }, 120_000);
    await stopAndCheck(second.q, output, all);
  }, 300_000);
});
