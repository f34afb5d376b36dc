// The Kafka sink against the real test broker, read back by a separate kafkajs consumer (read_committed):
// Spark's columns, the topic option, exactly-once through a replay of a committed batch and of an aborted one,
// zombie fencing, and what at-least-once and at-most-once do on replay.
import type { Table } from 'apache-arrow';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KafkaProducerFencedError, KafkaSink, KafkaSinkSchemaError, kafkaSinkHooks, parseSinkOptions } from '../../../connectors/kafka/index.js';
import { col, Session, struct, toJson, type StreamingQuery } from '../../../engine/index.js';
import { executionHooks } from '../../../engine/exec/micro-batch-execution.js';
import { describeKafka, kafkaBrokerList } from '../../setup/kafka.js';
import { expectedWindows, KafkaTestKit, makeEvents, tempDir, windowRowKey, removeTempDirs, type ReadRecord } from '../../helpers/kafka-test-kit.js';
import { WATERMARK_DELAY_MS, WINDOW_MS, windowedKafkaQuery } from '../../helpers/kafka-windowed-query.js';

describeKafka('KafkaSink', () => {
  let kit: KafkaTestKit;
  let session: Session;

  beforeAll(() => {
    kit = new KafkaTestKit(kafkaBrokerList());
    session = new Session();
  });
  afterAll(async () => {
    await session.streams.stopAll();
    await kit.close();
    removeTempDirs();
  });

  /** The events of the end-to-end tests and the windows they must produce. */
  async function windowedInput(n: number) {
    const input = await kit.topic('events', 3);
    const output = await kit.topic('windows', 2);
    const events = makeEvents(n);
    await kit.produceEvents(input, events);
    const maxTs = Math.max(...events.map((e) => e.ts));
    const expected = expectedWindows(events, WINDOW_MS, maxTs - WATERMARK_DELAY_MS);
    return { input, output, events, expected };
  }

  function checkExactlyExpected(got: readonly ReadRecord[], expected: Map<string, { n: number; total: number }>): void {
    const rows = got.map((r) => windowRowKey(r.value!));
    const keys = rows.map((r) => r.key);
    expect(new Set(keys).size, 'no window twice').toBe(keys.length);
    expect(new Map(rows.map((r) => [r.key, { n: r.n, total: r.total }]))).toEqual(expected);
    for (const r of got) expect(r.key).toBe(JSON.parse(r.value!).user);
  }

  it('writes key, value, per-row topic, partition and headers with df.write', async () => {
    const a = await kit.topic('write-a', 3);
    const b = await kit.topic('write-b', 1);
    const df = session.createDataFrame(
      [
        { key: 'k1', value: 'to-a-p2', topic: a, partition: 2 },
        { key: null, value: 'to-b', topic: b, partition: null },
        { key: 'k3', value: null, topic: a, partition: 0 },
      ],
      { key: 'string', value: 'string', topic: 'string', partition: 'int' },
    );
    await df.write.format('kafka').option('kafka.bootstrap.servers', kit.bootstrap).save();
    const gotA = await kit.readAll(a, 2, { settleMs: 300 });
    expect(gotA.map((r) => [r.partition, r.key, r.value]).sort()).toEqual([
      [0, 'k3', null],
      [2, 'k1', 'to-a-p2'],
    ]);
    expect((await kit.readAll(b, 1, { settleMs: 300 })).map((r) => [r.key, r.value])).toEqual([[null, 'to-b']]);

    // the topic option wins over the column; headers as array<struct<key, value: binary>>
    const c = await kit.topic('write-c', 1);
    const withHeaders = session.createDataFrame(
      [{ value: 'h', topic: 'ignored', headers: [{ key: 'trace', value: new Uint8Array([104, 105]) }] }],
      { value: 'binary', topic: 'string', headers: { kind: 'array', element: { kind: 'struct', fields: [{ name: 'key', type: 'string', nullable: false }, { name: 'value', type: 'binary', nullable: true }] } } },
    );
    await withHeaders.write.format('kafka').option('kafka.bootstrap.servers', kit.bootstrap).option('topic', c).option('deliveryGuarantee', 'exactly-once').save();
    const gotC = await kit.readAll(c, 1, { settleMs: 300 });
    expect(gotC.map((r) => [r.value, r.headers])).toEqual([['h', { trace: 'hi' }]]);
  });

  it('checks the columns as Spark does', async () => {
    const w = (df: ReturnType<Session['createDataFrame']>) => df.write.format('kafka').option('kafka.bootstrap.servers', kit.bootstrap);
    const noValue = session.createDataFrame([{ key: 'a' }], { key: 'string' });
    await expect(w(noValue).option('topic', 't').save()).rejects.toThrow(KafkaSinkSchemaError);
    await expect(w(noValue).option('topic', 't').save()).rejects.toThrow(/Required attribute 'value' not found/);
    const noTopic = session.createDataFrame([{ value: 'a' }], { value: 'string' });
    await expect(w(noTopic).save()).rejects.toThrow(/topic option required when no 'topic' attribute is present/);
    const badKey = session.createDataFrame([{ key: 1, value: 'a' }], { key: 'int', value: 'string' });
    await expect(w(badKey).option('topic', 't').save()).rejects.toThrow(/key attribute type must be a string or binary, got int/);
    await expect(w(noTopic).option('topic', 't').mode('overwrite').save()).rejects.toThrow(/Save mode overwrite not allowed for Kafka/);
  });

  it('exactly-once: a windowed aggregation reaches a read_committed consumer exactly once', async () => {
    const { input, output, expected } = await windowedInput(3000);
    const q = windowedKafkaQuery(session, { brokers: kit.bootstrap, input, output, checkpoint: tempDir() });
    await q.awaitTermination();
    expect(q.recentProgress.filter((p) => p.numInputRows > 0).length).toBeGreaterThan(5);
    expect(q.lastProgress!.sink.metrics).toMatchObject({ transactionalId: `sluice-${q.id}` });
    checkExactlyExpected(await kit.readAll(output, expected.size), expected);
    expect(expected.size).toBeGreaterThan(200);
  });

  /** Runs the query until an injected failure, then again to the end; returns the sink metrics of the second run. */
  async function crashOnceAndResume(start: () => StreamingQuery): Promise<Record<string, string>> {
    const q1 = start();
    await expect(q1.awaitTermination()).rejects.toThrow(/injected/);
    const q2 = start();
    await q2.awaitTermination();
    return q2.lastProgress?.sink.metrics ?? {};
  }

  it('exactly-once: skips a replayed batch whose transaction committed (crash after Kafka, before commits/N)', async () => {
    const { input, output, expected } = await windowedInput(2000);
    const ckpt = tempDir();
    let crashed = false;
    executionHooks.at = (point, batchId) => {
      if (point === 'afterSink' && batchId === 3 && !crashed) {
        crashed = true;
        throw new Error('injected crash after the Kafka commit');
      }
    };
    let metrics: Record<string, string>;
    try {
      metrics = await crashOnceAndResume(() => windowedKafkaQuery(session, { brokers: kit.bootstrap, input, output, checkpoint: ckpt, maxOffsetsPerTrigger: 300 }));
    } finally {
      executionHooks.at = null;
    }
    expect(crashed).toBe(true);
    expect(metrics['batchesSkippedAsDone']).toBe('1');
    checkExactlyExpected(await kit.readAll(output, expected.size), expected);
  });

  it('exactly-once: re-sends a replayed batch whose transaction aborted (crash mid-transaction)', async () => {
    const { input, output, expected } = await windowedInput(2000);
    const ckpt = tempDir();
    let crashed = false;
    kafkaSinkHooks.at = (point, batchId) => {
      if (point === 'afterSend' && batchId === 2 && !crashed) {
        crashed = true;
        throw new Error('injected crash with the records sent, before the commit');
      }
    };
    let metrics: Record<string, string>;
    try {
      metrics = await crashOnceAndResume(() => windowedKafkaQuery(session, { brokers: kit.bootstrap, input, output, checkpoint: ckpt, maxOffsetsPerTrigger: 300 }));
    } finally {
      kafkaSinkHooks.at = null;
    }
    expect(crashed).toBe(true);
    expect(metrics['batchesSkippedAsDone']).toBe('0');
    checkExactlyExpected(await kit.readAll(output, expected.size), expected);
    // the aborted records are in the log: read_uncommitted sees them twice
    const all = await kit.readAll(output, expected.size + 1, { readUncommitted: true, settleMs: 500 });
    expect(all.length).toBeGreaterThan(expected.size);
  });

  it('at-least-once writes a replayed batch again; at-most-once skips it', async () => {
    for (const guarantee of ['at-least-once', 'at-most-once'] as const) {
      const { input, output, expected } = await windowedInput(1500);
      const ckpt = tempDir();
      let crashed = false;
      executionHooks.at = (point, batchId) => {
        if (point === 'afterSink' && batchId === 2 && !crashed) {
          crashed = true;
          throw new Error('injected crash after the sink');
        }
      };
      try {
        await crashOnceAndResume(
          () => windowedKafkaQuery(session, { brokers: kit.bootstrap, input, output, checkpoint: ckpt, maxOffsetsPerTrigger: 300, deliveryGuarantee: guarantee }),
        );
      } finally {
        executionHooks.at = null;
      }
      const got = await kit.readAll(output, expected.size, { settleMs: 1_000 });
      const keys = got.map((r) => windowRowKey(r.value!).key);
      if (guarantee === 'at-least-once') {
        expect(keys.length, 'batch 2 written twice').toBeGreaterThan(expected.size);
        expect(new Set(keys)).toEqual(new Set(expected.keys()));
      } else {
        expect(new Set(keys).size).toBe(keys.length);
        expect(keys.length).toBe(expected.size); // batch 2 was written before the crash, so nothing is lost either
      }
    }
  });

  it('fences a zombie: the older producer with the same transactional id cannot commit', async () => {
    const out = await kit.topic('zombie', 1);
    const o = parseSinkOptions({ 'kafka.bootstrap.servers': kit.bootstrap, topic: out, deliveryGuarantee: 'exactly-once', 'kafka.transactional.id': `zombie-${out}` });
    const data = (v: string) => session.createDataFrame([{ value: v }], { value: 'string' }).toArrow() as Promise<Table>;
    const info = { queryId: 'q', runId: 'r', outputMode: 'append' as const, schema: session.createDataFrame([{ value: 'x' }], { value: 'string' }).schema };
    const zombie = new KafkaSink(o);
    const successor = new KafkaSink(o);
    const zombieData = await data('from-zombie');
    const successorData = await data('from-successor');
    kafkaSinkHooks.at = async (point) => {
      if (point !== 'afterSend') return;
      kafkaSinkHooks.at = null;
      // while the zombie's transaction is open, a new instance starts and writes the same batch
      await successor.addBatch(0, successorData, info);
    };
    try {
      // Fenced is final: not retried (a retry would fence the successor in turn), and the message names the cause.
      const err = await zombie.addBatch(0, zombieData, info).then(() => null, (e: unknown) => e as Error);
      expect(err).toBeInstanceOf(KafkaProducerFencedError);
      expect(err!.message).toMatch(/(INVALID_PRODUCER_EPOCH|PRODUCER_FENCED): another producer uses transactional id 'zombie-.*same checkpoint or kafka\.transactional\.id/);
      expect(zombie.metrics()['retries']).toBe('0');
    } finally {
      kafkaSinkHooks.at = null;
      await zombie.close();
      await successor.close();
    }
    const got = await kit.readAll(out, 1, { settleMs: 1_000 });
    expect(got.map((r) => r.value)).toEqual(['from-successor']);
  });

  it('streams each row as JSON with toJson(struct(...)) under at-least-once', async () => {
    const out = await kit.topic('stream-plain', 1);
    const q = session
      .createDataFrame([{ id: 1 }], { id: 'int' })
      .select(col('id').cast('string').as('key'), toJson(struct(col('id'))).as('value'));
    await q.write.format('kafka').option('kafka.bootstrap.servers', kit.bootstrap).option('topic', out).save();
    expect((await kit.readAll(out, 1, { settleMs: 300 })).map((r) => [r.key, r.value])).toEqual([['1', '{"id":1}']]);
  });
});
