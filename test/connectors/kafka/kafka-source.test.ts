// The Kafka source against the real test broker: exact offset ranges, starting/ending offsets and timestamps,
// read limits, new partitions, transactions (read_committed), data loss, replays, connection failures, metrics.
import { createServer } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CompressionTypes } from 'kafkajs';
import '../../../connectors/kafka/index.js';
import { KafkaDataLossError } from '../../../connectors/kafka/index.js';
import { col, Session, type DataFrame } from '../../../engine/index.js';
import { executionHooks } from '../../../engine/exec/micro-batch-execution.js';
import { describeKafka, kafkaBrokerList } from '../../setup/kafka.js';
import { KafkaTestKit, sleep, tempDir, waitFor, removeTempDirs } from '../../helpers/kafka-test-kit.js';

type Row = Record<string, unknown>;

describeKafka('KafkaSource', () => {
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

  const readStream = (topicOpts: Record<string, string>) =>
    session.readStream.format('kafka').option('kafka.bootstrap.servers', kit.bootstrap).options(topicOpts).load();
  const read = (topicOpts: Record<string, string>) => session.read.format('kafka').option('kafka.bootstrap.servers', kit.bootstrap).options(topicOpts).load();
  const decoded = (df: DataFrame) =>
    df.select(col('key').cast('string').as('key'), col('value').cast('string').as('value'), 'topic', 'partition', 'offset', 'timestamp', 'timestampType');

  /** foreachBatch capture: rows per batch id, every call in order (replays included). */
  function capture() {
    const batches = new Map<number, Row[]>();
    const calls: { batchId: number; rows: Row[] }[] = [];
    const fn = async (df: DataFrame, batchId: number) => {
      const rows = await df.collect();
      calls.push({ batchId, rows });
      batches.set(batchId, rows);
    };
    return { fn, batches, calls, all: () => [...batches.keys()].sort((a, b) => a - b).flatMap((k) => batches.get(k)!) };
  }

  it('reads exactly [start, end) of each partition in a batch query', async () => {
    const topic = await kit.topic('range', 2);
    await kit.produce(topic, [
      ...Array.from({ length: 30 }, (_, i) => ({ key: `a${i}`, value: `p0-${i}`, partition: 0 })),
      ...Array.from({ length: 20 }, (_, i) => ({ key: null, value: `p1-${i}`, partition: 1 })),
    ]);
    const rows = await decoded(
      read({ subscribe: topic, startingOffsets: JSON.stringify({ [topic]: { '0': 5, '1': -2 } }), endingOffsets: JSON.stringify({ [topic]: { '0': 12, '1': -1 } }) }),
    ).collect();
    const p0 = rows.filter((r) => r['partition'] === 0);
    const p1 = rows.filter((r) => r['partition'] === 1);
    expect(p0.map((r) => r['offset'])).toEqual([5, 6, 7, 8, 9, 10, 11]);
    expect(p0.map((r) => r['value'])).toEqual([5, 6, 7, 8, 9, 10, 11].map((i) => `p0-${i}`));
    expect(p0[0]).toMatchObject({ key: 'a5', topic, timestampType: 0 });
    expect(p0[0]!['timestamp']).toBeInstanceOf(Date);
    expect(p1.map((r) => r['offset'])).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(p1.every((r) => r['key'] === null)).toBe(true);
    // JSON offsets must name every partition, as in Spark
    await expect(read({ subscribe: topic, startingOffsets: JSON.stringify({ [topic]: { '0': 5 } }) }).collect()).rejects.toThrow(
      /you must specify all TopicPartitions. Missing: .*-1/,
    );
  });

  it('starts at a timestamp (per partition, or for all), failing or starting at latest when none matches', async () => {
    const topic = await kit.topic('ts', 2);
    const t0 = Date.now() - 3_600_000;
    await kit.produce(
      topic,
      [0, 1].flatMap((partition) => Array.from({ length: 10 }, (_, i) => ({ value: `${partition}-${i}`, partition, timestamp: t0 + i * 1000 }))),
    );
    const byTs = await decoded(read({ subscribe: topic, startingOffsetsByTimestamp: JSON.stringify({ [topic]: { '0': t0 + 7000, '1': t0 + 2500 } }) })).collect();
    expect(byTs.filter((r) => r['partition'] === 0).map((r) => r['offset'])).toEqual([7, 8, 9]);
    expect(byTs.filter((r) => r['partition'] === 1).map((r) => r['offset'])).toEqual([3, 4, 5, 6, 7, 8, 9]);
    const global = await decoded(read({ subscribe: topic, startingTimestamp: String(t0 + 9000) })).collect();
    expect(global.map((r) => r['value']).sort()).toEqual(['0-9', '1-9']);
    const end = await decoded(read({ subscribe: topic, endingOffsetsByTimestamp: JSON.stringify({ [topic]: { '0': t0 + 2000, '1': t0 + 1000 } }) })).collect();
    expect(end.map((r) => r['value']).sort()).toEqual(['0-0', '0-1', '1-0']);
    const future = String(Date.now() + 3_600_000);
    await expect(read({ subscribe: topic, startingTimestamp: future }).collect()).rejects.toThrow(/No record at or after the starting timestamp/);
    expect(await read({ subscribe: topic, startingTimestamp: future, startingOffsetsByTimestampStrategy: 'latest' }).count()).toBe(0);
  });

  it('reads headers as an array of {key, value} with includeHeaders', async () => {
    const topic = await kit.topic('headers', 1);
    await kit.produce(topic, [
      { key: 'k', value: 'v', headers: { trace: 'abc', empty: '' } },
      { key: 'k2', value: null },
    ]);
    const rows = await read({ subscribe: topic, includeHeaders: 'true' }).collect();
    expect(rows).toHaveLength(2);
    const h = rows[0]!['headers'] as { key: string; value: Uint8Array }[];
    expect(h.map((x) => [x.key, Buffer.from(x.value).toString()])).toEqual([
      ['trace', 'abc'],
      ['empty', ''],
    ]);
    expect(rows[1]!['headers']).toEqual([]);
    expect(rows[1]!['value']).toBeNull();
    expect(read({ subscribe: topic }).columns).not.toContain('headers');
  });

  it('streams from latest by default, then every new record once', async () => {
    const topic = await kit.topic('latest', 3);
    await kit.produce(topic, [{ value: 'before-start' }]);
    const c = capture();
    const q = decoded(readStream({ subscribe: topic })).writeStream.foreachBatch(c.fn).start();
    await q.processAllAvailable();
    await kit.produce(topic, Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}` })));
    await waitFor('50 rows', async () => {
      await q.processAllAvailable();
      return c.all().length >= 50;
    });
    await kit.produce(topic, [{ key: 'k0', value: 'last' }]);
    await waitFor('51 rows', async () => {
      await q.processAllAvailable();
      return c.all().length >= 51;
    });
    await q.stop();
    const values = c.all().map((r) => r['value']);
    expect(values).not.toContain('before-start');
    expect(values.sort()).toEqual([...Array.from({ length: 50 }, (_, i) => `v${i}`), 'last'].sort());
  });

  it('bounds every batch with maxOffsetsPerTrigger and reports offsets and lag per partition', async () => {
    const topic = await kit.topic('maxoffsets', 4);
    await kit.produce(topic, Array.from({ length: 1000 }, (_, i) => ({ value: `v${i}`, partition: i % 4 })));
    const c = capture();
    const q = readStream({ subscribe: topic, startingOffsets: 'earliest', maxOffsetsPerTrigger: '150' })
      .writeStream.foreachBatch(c.fn)
      .option('checkpointLocation', tempDir())
      .trigger({ availableNow: true })
      .start();
    await q.awaitTermination();
    const progress = q.recentProgress.filter((p) => p.numInputRows > 0);
    const sizes = progress.map((p) => p.numInputRows);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(150);
    // 4 equal partitions share 150: floor(37.5) = 37 each
    expect(sizes.slice(0, 6)).toEqual([148, 148, 148, 148, 148, 148]);
    const first = progress[0]!.sources[0]!;
    expect(first.startOffset).toBeNull(); // batch 0 starts at the initial offsets, as Spark reports it
    expect(progress[1]!.sources[0]!.startOffset).toEqual({ [topic]: { '0': 37, '1': 37, '2': 37, '3': 37 } });
    expect(first.endOffset).toEqual({ [topic]: { '0': 37, '1': 37, '2': 37, '3': 37 } });
    expect(first.latestOffset).toEqual({ [topic]: { '0': 250, '1': 250, '2': 250, '3': 250 } });
    expect(first.metrics).toMatchObject({
      maxOffsetsBehindLatest: '213',
      minOffsetsBehindLatest: '213',
      avgOffsetsBehindLatest: '213',
      totalOffsetsBehindLatest: '852',
    });
    const lags = progress.map((p) => Number(p.sources[0]!.metrics['totalOffsetsBehindLatest']));
    expect(lags).toEqual([...lags].sort((a, b) => b - a));
    expect(lags.at(-1)).toBe(0);
    expect(c.all().map((r) => r['offset'] as number).length).toBe(1000);
  });

  it('picks up partitions added while the query runs', async () => {
    const topic = await kit.topic('grow', 2);
    const c = capture();
    const q = decoded(readStream({ subscribe: topic, startingOffsets: 'earliest' })).writeStream.foreachBatch(c.fn).start();
    await kit.produce(topic, [
      { value: 'a', partition: 0 },
      { value: 'b', partition: 1 },
    ]);
    await waitFor('2 rows', async () => {
      await q.processAllAvailable();
      return c.all().length >= 2;
    });
    await kit.addPartitions(topic, 3);
    await kit.produce(topic, [
      { value: 'c', partition: 2 },
      { value: 'd', partition: 2 },
    ]);
    await waitFor('rows of the new partition', async () => {
      await q.processAllAvailable();
      return c.all().length >= 4;
    });
    await q.stop();
    expect(c.all().filter((r) => r['partition'] === 2).map((r) => [r['offset'], r['value']])).toEqual([
      [0, 'c'],
      [1, 'd'],
    ]);
  });

  it('subscribePattern and assign choose the partitions', async () => {
    const a = await kit.topic('pat-x', 2);
    const b = await kit.topic('pat-x', 1);
    await kit.produce(a, [
      { value: 'a0', partition: 0 },
      { value: 'a1', partition: 1 },
    ]);
    await kit.produce(b, [{ value: 'b0' }]);
    const prefix = a.slice(0, a.lastIndexOf('-'));
    const all = await decoded(read({ subscribePattern: `${prefix.replace(/[.]/g, '\\.')}-.*` })).collect();
    expect(all.filter((r) => r['topic'] === a || r['topic'] === b).map((r) => r['value']).sort()).toEqual(['a0', 'a1', 'b0']);
    const assigned = await decoded(read({ assign: JSON.stringify({ [a]: [1] }) })).collect();
    expect(assigned.map((r) => r['value'])).toEqual(['a1']);
  });

  it('read_committed (the default) skips aborted transactions and finishes ranges that end in transaction markers', async () => {
    const topic = await kit.topic('txn', 1);
    const tx = kit.kafka.producer({ transactionalId: `${topic}-tx`, idempotent: true, maxInFlightRequests: 1 });
    await tx.connect();
    const t1 = await tx.transaction();
    await t1.send({ topic, messages: [{ value: 'c1' }, { value: 'c2' }] });
    await t1.commit();
    const t2 = await tx.transaction();
    await t2.send({ topic, messages: [{ value: 'aborted1' }, { value: 'aborted2' }] });
    await t2.abort();
    const t3 = await tx.transaction();
    await t3.send({ topic, messages: [{ value: 'c3' }] });
    await t3.commit();
    await tx.disconnect();
    // 5 records + 3 markers: the log ends in a marker
    await kit.waitForHighWatermarks(topic, [8]);
    const committed = await decoded(read({ subscribe: topic })).collect();
    expect(committed.map((r) => [r['offset'], r['value']])).toEqual([
      [0, 'c1'],
      [1, 'c2'],
      [6, 'c3'],
    ]);
    const uncommitted = await decoded(read({ subscribe: topic, 'kafka.isolation.level': 'read_uncommitted' })).collect();
    expect(uncommitted.map((r) => r['value'])).toEqual(['c1', 'c2', 'aborted1', 'aborted2', 'c3']);
    // a range ending on the abort marker (offset 5) completes
    const upToMarker = await decoded(read({ subscribe: topic, endingOffsets: JSON.stringify({ [topic]: { '0': 6 } }) })).collect();
    expect(upToMarker.map((r) => r['value'])).toEqual(['c1', 'c2']);

    // streaming: an open transaction holds the stream at the last stable offset until it ends
    const open = kit.kafka.producer({ transactionalId: `${topic}-open`, idempotent: true, maxInFlightRequests: 1 });
    await open.connect();
    const t4 = await open.transaction();
    await t4.send({ topic, messages: [{ value: 'pending' }] });
    const c = capture();
    const q = decoded(readStream({ subscribe: topic, startingOffsets: 'earliest' })).writeStream.foreachBatch(c.fn).start();
    await q.processAllAvailable();
    expect(c.all().map((r) => r['value'])).toEqual(['c1', 'c2', 'c3']);
    await t4.commit();
    await open.disconnect();
    await waitFor('the committed record', async () => {
      await q.processAllAvailable();
      return c.all().length >= 4;
    });
    await q.stop();
    expect(c.all().map((r) => r['value'])).toEqual(['c1', 'c2', 'c3', 'pending']);
  });

  it('a batch re-run after a failure reads exactly the same records', async () => {
    const topic = await kit.topic('replay', 3);
    const ckpt = tempDir();
    await kit.produce(topic, Array.from({ length: 90 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    const c = capture();
    const start = () =>
      decoded(readStream({ subscribe: topic, startingOffsets: 'earliest', maxOffsetsPerTrigger: '30' }))
        .writeStream.foreachBatch(c.fn)
        .option('checkpointLocation', ckpt)
        .trigger({ availableNow: true })
        .start();
    let failed = false;
    executionHooks.at = (point, batchId) => {
      if (point === 'afterSink' && batchId === 1 && !failed) {
        failed = true;
        throw new Error('injected crash after the sink');
      }
    };
    try {
      const q1 = start();
      await expect(q1.awaitTermination()).rejects.toThrow(/injected crash/);
      // more data arrives while the query is down; the re-run must not see it
      await kit.produce(topic, Array.from({ length: 30 }, (_, i) => ({ key: `late${i}`, value: `late${i}` })));
      const q2 = start();
      await q2.awaitTermination();
    } finally {
      executionHooks.at = null;
    }
    const runs = c.calls.filter((x) => x.batchId === 1);
    expect(runs).toHaveLength(2);
    expect(runs[1]!.rows).toEqual(runs[0]!.rows);
    expect(runs[0]!.rows.length).toBeGreaterThan(0);
    const values = c.all().map((r) => r['value'] as string);
    expect(values).toHaveLength(120);
    expect(new Set(values).size).toBe(120);
  });

  it('availableNow stops at the offsets available when it started, or at endingOffsets', async () => {
    const topic = await kit.topic('avnow', 2);
    await kit.produce(topic, Array.from({ length: 40 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })));
    const c = capture();
    const q = readStream({ subscribe: topic, startingOffsets: 'earliest', endingOffsets: JSON.stringify({ [topic]: { '0': 5, '1': -1 } }) })
      .writeStream.foreachBatch(c.fn)
      .option('checkpointLocation', tempDir())
      .trigger({ availableNow: true })
      .start();
    await q.awaitTermination();
    const rows = c.all();
    expect(rows.filter((r) => r['partition'] === 0)).toHaveLength(5);
    expect(rows.filter((r) => r['partition'] === 1)).toHaveLength(20);
  });

  it('fails on lost data unless failOnDataLoss is false', async () => {
    const topic = await kit.topic('loss', 1);
    await kit.produce(topic, Array.from({ length: 20 }, (_, i) => ({ value: `v${i}` })));
    await kit.deleteRecordsBefore(topic, 0, 10);
    const from0 = JSON.stringify({ [topic]: { '0': 0 } });
    await expect(read({ subscribe: topic, startingOffsets: from0 }).collect()).rejects.toThrow(KafkaDataLossError);
    await expect(read({ subscribe: topic, startingOffsets: from0 }).collect()).rejects.toThrow(/Offsets \[0, 10\) of .*-0 were deleted.*failOnDataLoss/s);
    const rows = await read({ subscribe: topic, startingOffsets: from0, failOnDataLoss: 'false' }).collect();
    expect(rows.map((r) => r['offset'])).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });

  it('fails at start with a clear error after a bounded retry when no broker answers', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const t0 = Date.now();
    const q = session.readStream
      .format('kafka')
      .option('kafka.bootstrap.servers', `127.0.0.1:${port}`)
      .option('subscribe', 'nothing')
      .option('fetchOffset.numRetries', '2')
      .option('fetchOffset.retryIntervalMs', '100')
      .load()
      .writeStream.foreachBatch(() => {})
      .start();
    await expect(q.awaitTermination()).rejects.toThrow(
      new RegExp(`Kafka did not answer after 3 attempts .*ECONNREFUSED.*kafka.bootstrap.servers=127.0.0.1:${port}`),
    );
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('minOffsetsPerTrigger waits for enough records, or for maxTriggerDelay', async () => {
    const topic = await kit.topic('minoffsets', 1);
    const c = capture();
    const q = decoded(readStream({ subscribe: topic, startingOffsets: 'earliest', minOffsetsPerTrigger: '20', maxTriggerDelay: '1 hour' }))
      .writeStream.foreachBatch(c.fn)
      .option('checkpointLocation', tempDir())
      .trigger({ processingTime: '100 milliseconds' })
      .start();
    // the first trigger is never delayed (Spark: no previous trigger); it finds nothing to read
    await q.processAllAvailable();
    await kit.produce(topic, Array.from({ length: 5 }, (_, i) => ({ value: `a${i}` })));
    await sleep(500);
    await q.processAllAvailable();
    expect(c.all()).toHaveLength(0); // 5 < 20 and the delay has not passed
    await kit.produce(topic, Array.from({ length: 20 }, (_, i) => ({ value: `b${i}` })));
    await waitFor('a batch of 25', () => c.all().length === 25, 30_000);
    await q.stop();

    // with a short delay, one record is enough once the delay has passed
    const c2 = capture();
    const q2 = decoded(readStream({ subscribe: topic, startingOffsets: JSON.stringify({ [topic]: { '0': 25 } }), minOffsetsPerTrigger: '20', maxTriggerDelay: '1 second' }))
      .writeStream.foreachBatch(c2.fn)
      .trigger({ processingTime: '100 milliseconds' })
      .start();
    await q2.processAllAvailable();
    await kit.produce(topic, [{ value: 'straggler' }]);
    await waitFor('the straggler after the delay', () => c2.all().length === 1, 30_000);
    await q2.stop();
    expect(c.calls.filter((x) => x.rows.length > 0).map((x) => x.rows.length)).toEqual([25]);
    expect(c2.all().map((r) => r['value'])).toEqual(['straggler']);
  });

  it('reads gzip-compressed batches and LogAppendTime timestamps', async () => {
    const topic = await kit.topic('gzip', 1);
    const p = await kit.producer();
    await p.send({ topic, compression: CompressionTypes.GZIP, messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `compressed-${i}` })) });
    const rows = await decoded(read({ subscribe: topic })).collect();
    expect(rows.map((r) => r['value'])).toEqual(Array.from({ length: 100 }, (_, i) => `compressed-${i}`));

    const appendTime = await kit.topic('logappend', 1, [{ name: 'message.timestamp.type', value: 'LogAppendTime' }]);
    const before = Date.now();
    await kit.produce(appendTime, [{ value: 'a', timestamp: 1_000 }, { value: 'b', timestamp: 2_000 }]);
    const la = await decoded(read({ subscribe: appendTime })).collect();
    expect(la.map((r) => r['timestampType'])).toEqual([1, 1]);
    for (const r of la) expect((r['timestamp'] as Date).getTime()).toBeGreaterThanOrEqual(before - 5_000);
  });

  it('waits for a subscribed topic that does not exist yet', async () => {
    const topic = `sluice-later-${Date.now()}`;
    const c = capture();
    const q = decoded(readStream({ subscribe: topic, startingOffsets: 'earliest' })).writeStream.foreachBatch(c.fn).start();
    await q.processAllAvailable();
    expect(q.exception).toBeNull();
    await kit.createTopic(topic, 2);
    await kit.produce(topic, [{ value: 'first', partition: 1 }]);
    await waitFor('the first record', async () => {
      await q.processAllAvailable();
      return c.all().length >= 1;
    });
    await q.stop();
    expect(c.all().map((r) => r['value'])).toEqual(['first']);
  });

  it('fails when a subscribed topic is deleted, unless failOnDataLoss is false', async () => {
    for (const failOnDataLoss of ['true', 'false']) {
      const topic = await kit.topic('deleted', 1);
      await kit.produce(topic, [{ value: 'x' }]);
      const c = capture();
      const q = decoded(readStream({ subscribe: topic, startingOffsets: 'earliest', failOnDataLoss }))
        .writeStream.foreachBatch(c.fn)
        .trigger({ processingTime: '100 milliseconds' })
        .start();
      await waitFor('the record', async () => {
        await q.processAllAvailable();
        return c.all().length === 1;
      });
      await (await kit.admin()).deleteTopics({ topics: [topic] });
      if (failOnDataLoss === 'true') {
        await expect(q.awaitTermination()).rejects.toThrow(/Partition .*-0 is gone.*failOnDataLoss/s);
      } else {
        await sleep(1_000);
        expect(q.isActive).toBe(true);
        await q.stop();
      }
    }
  });
});
