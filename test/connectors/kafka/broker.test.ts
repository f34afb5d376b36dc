// Proves the test broker (engine/cli/kafka/broker.ts, Kafka 3.9 KRaft) does what
// sluice's Kafka connector needs, with kafkajs 2.2.4: keyed produce/consume over
// partitions, transactions with sendOffsets (read_committed sees only committed
// data), consumer groups sharing partitions, offsets by timestamp, adding partitions.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin, Consumer, EachMessagePayload, Producer } from 'kafkajs';
import { describeKafka, kafkaBrokerList } from '../../setup/kafka.js';

import { sleep, waitFor } from '../../helpers/kafka-test-kit.js';

interface Received {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
}

const toReceived = ({ partition, message }: EachMessagePayload): Received => ({
  partition,
  offset: message.offset,
  key: message.key?.toString() ?? null,
  value: message.value?.toString() ?? null,
});

describeKafka('Kafka test broker (kafkajs 2.2.4)', () => {
  const run = randomUUID().slice(0, 8); // unique names: also safe against a reused KAFKA_BROKERS broker
  const name = (s: string) => `sluice-smoke-${s}-${run}`;
  let kafka: Kafka;
  let admin: Admin;
  const toClose: Array<Producer | Consumer> = [];

  const producer = (opts: Parameters<Kafka['producer']>[0] = {}): Producer => {
    const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...opts });
    toClose.push(p);
    return p;
  };
  const consumer = (opts: Parameters<Kafka['consumer']>[0]): Consumer => {
    // short fetch waits: stop() and rebalances wait for the fetch in flight
    const c = kafka.consumer({ heartbeatInterval: 500, sessionTimeout: 10_000, maxWaitTimeInMs: 250, ...opts });
    toClose.push(c);
    return c;
  };

  beforeAll(async () => {
    kafka = new Kafka({
      clientId: `sluice-smoke-${run}`,
      brokers: kafkaBrokerList(),
      // kafkajs logs expected rebalances as errors; KAFKAJS_DEBUG=1 shows everything
      logLevel: process.env.KAFKAJS_DEBUG === '1' ? logLevel.DEBUG : logLevel.NOTHING,
    });
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    for (const c of toClose.reverse()) await c.disconnect().catch(() => {});
    await admin?.disconnect();
  });

  it('creates a 3-partition topic and round-trips keyed messages', async () => {
    const topic = name('keyed');
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).toBe(true);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]!.partitions).toHaveLength(3);

    const p = producer();
    await p.connect();
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
    const sent = Array.from({ length: 60 }, (_, i) => ({ key: keys[i % keys.length]!, value: `v${i}` }));
    await p.send({ topic, acks: -1, messages: sent });

    const got: Received[] = [];
    const c = consumer({ groupId: name('keyed-g') });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: async (m) => void got.push(toReceived(m)) });
    await waitFor('60 keyed messages', () => got.length >= 60);
    await c.stop();

    expect(got).toHaveLength(60);
    // one key -> one partition, and order within a key is kept
    for (const key of keys) {
      const mine = got.filter((m) => m.key === key);
      expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
      expect(mine.map((m) => m.value)).toEqual(sent.filter((s) => s.key === key).map((s) => s.value));
    }
    // the keys spread over more than one partition
    expect(new Set(got.map((m) => m.partition)).size).toBeGreaterThan(1);
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(60);
  });

  it('transactions: sendOffsets + commit is visible, abort is not (read_committed)', async () => {
    const input = name('txn-in');
    const output = name('txn-out');
    const group = name('txn-g');
    await admin.createTopics({
      topics: [
        { topic: input, numPartitions: 1 },
        { topic: output, numPartitions: 3 },
      ],
      waitForLeaders: true,
    });
    const plain = producer();
    await plain.connect();
    await plain.send({ topic: input, messages: ['i0', 'i1', 'i2'].map((value) => ({ value })) });

    const tx = producer({ transactionalId: name('txn-id'), idempotent: true, maxInFlightRequests: 1 });
    await tx.connect();

    // 1: output + the group's input offset, atomically
    const t1 = await tx.transaction();
    await t1.send({ topic: output, messages: [{ key: 'k1', value: 'committed-1' }, { key: 'k2', value: 'committed-2' }] });
    await t1.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '2' }] }],
    });
    await t1.commit();

    // 2: aborted, offsets included
    const t2 = await tx.transaction();
    await t2.send({ topic: output, messages: [{ key: 'k1', value: 'aborted-1' }, { key: 'k3', value: 'aborted-2' }] });
    await t2.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '3' }] }],
    });
    await t2.abort();

    // 3: the same producer goes on after an abort
    const t3 = await tx.transaction();
    await t3.send({ topic: output, messages: [{ key: 'k2', value: 'committed-3' }] });
    await t3.commit();

    // the committed offset is the one of transaction 1
    const committed = await admin.fetchOffsets({ groupId: group, topics: [input] });
    expect(committed[0]!.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '2' })]);

    const readAll = async (readUncommitted: boolean, expected: number): Promise<string[]> => {
      const got: Received[] = [];
      const c = consumer({ groupId: name(`txn-read-${readUncommitted}`), readUncommitted });
      await c.connect();
      await c.subscribe({ topic: output, fromBeginning: true });
      await c.run({ eachMessage: async (m) => void got.push(toReceived(m)) });
      await waitFor(`${expected} records (readUncommitted=${readUncommitted})`, () => got.length >= expected);
      await sleep(500); // nothing more may arrive
      await c.stop();
      return got.map((m) => m.value!).sort();
    };
    expect(await readAll(false, 3)).toEqual(['committed-1', 'committed-2', 'committed-3']);
    // the aborted records are in the log; only read_committed hides them
    expect(await readAll(true, 5)).toEqual(['aborted-1', 'aborted-2', 'committed-1', 'committed-2', 'committed-3']);
  });

  it('consumer groups: two consumers in one group share the partitions', async () => {
    const topic = name('group');
    const group = name('group-g');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });

    const members = [0, 1].map(() => {
      const state = { assigned: [] as number[], got: [] as Received[] };
      const c = consumer({ groupId: group });
      c.on(c.events.GROUP_JOIN, (e) => {
        state.assigned = [...(e.payload.memberAssignment[topic] ?? [])].sort();
      });
      return { c, state };
    });
    for (const { c, state } of members) {
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({ eachMessage: async (m) => void state.got.push(toReceived(m)) });
    }
    const [a, b] = members.map((m) => m.state) as [(typeof members)[0]['state'], (typeof members)[0]['state']];
    await waitFor('both members to hold disjoint partitions covering 0..2', () => {
      const all = [...a.assigned, ...b.assigned].sort();
      return a.assigned.length > 0 && b.assigned.length > 0 && all.join() === '0,1,2';
    });

    const described = await admin.describeGroups([group]);
    expect(described.groups[0]!.members).toHaveLength(2);

    const p = producer();
    await p.connect();
    await p.send({
      topic,
      messages: Array.from({ length: 30 }, (_, i) => ({ partition: i % 3, value: `m${i}` })),
    });
    await waitFor('30 messages across the group', () => a.got.length + b.got.length >= 30);

    for (const s of [a, b]) {
      expect(s.got.length).toBeGreaterThan(0);
      for (const m of s.got) expect(s.assigned).toContain(m.partition);
    }
    const values = [...a.got, ...b.got].map((m) => m.value).sort();
    expect(values).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`).sort());
    for (const { c } of members) await c.stop();
  });

  it('admin.fetchTopicOffsetsByTimestamp finds the first offset at or after a timestamp', async () => {
    const topic = name('ts');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const t0 = Date.now() - 60 * 60_000; // an hour ago (CreateTime is the producer's)
    const t1 = t0 + 10 * 60_000;
    const p = producer();
    await p.connect();
    await p.send({
      topic,
      messages: [
        ...['a', 'b', 'c'].map((value, i) => ({ value, timestamp: String(t0 + i) })),
        ...['d', 'e'].map((value, i) => ({ value, timestamp: String(t1 + i) })),
      ],
    });

    expect(await admin.fetchTopicOffsetsByTimestamp(topic, t0 - 1)).toEqual([{ partition: 0, offset: '0' }]);
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 1)).toEqual([{ partition: 0, offset: '1' }]);
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, t1)).toEqual([{ partition: 0, offset: '3' }]);
    // past the last record: kafkajs answers with the high watermark
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 60_000)).toEqual([
      { partition: 0, offset: '5' },
    ]);
  });

  it('admin.createPartitions adds a partition that can be written and read', async () => {
    const topic = name('grow');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });

    // The broker answers createPartitions before its metadata cache has the new partition (KRaft propagates it
    // asynchronously): wait for it to show, then check the whole list.
    const ids = async () => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.map((p) => p.partitionId).sort();
    let seen: number[] = [];
    await waitFor('partition 2 in the metadata', async () => (seen = await ids()).length >= 3);
    expect(seen).toEqual([0, 1, 2]);

    const p = producer();
    await p.connect();
    await p.send({ topic, messages: [{ partition: 2, value: 'in-the-new-partition' }] });
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.find((o) => o.partition === 2)).toMatchObject({ low: '0', high: '1' });

    const got: Received[] = [];
    const c = consumer({ groupId: name('grow-g') });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: async (m) => void got.push(toReceived(m)) });
    await waitFor('the record in partition 2', () => got.length >= 1);
    await c.stop();
    expect(got).toEqual([expect.objectContaining({ partition: 2, value: 'in-the-new-partition' })]);
  });
});
