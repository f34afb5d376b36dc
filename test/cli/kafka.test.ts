import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { dataFrameFromSpec, Session, type PipelineSpec } from '../../engine/index.js';
import { normalizeRows } from '../helpers/stream-test.js';
import { describeKafka, kafkaBrokerList, kafkaBrokers } from '../setup/kafka.js';
import { HOUR, makeOrders, MINUTE, runCli, tableRows, tempDir, writeSpec, type Order } from './helpers.js';

const DAY = 86_400_000;

describeKafka('sluice with a Kafka source', () => {
  // Recent days: the broker keeps records for 7 days by their timestamps.
  const day1 = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
  const day0 = day1 - DAY;
  const day2 = day1 + DAY;
  const dayText = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const topic = `cli-orders-${randomUUID().slice(0, 8)}`;
  const dir = tempDir('sluice-cli-kafka-');
  let producer: Producer;
  let spec: PipelineSpec;
  let file: string;

  const send = async (orders: readonly Order[], timestamp: (o: Order) => number) => {
    await producer.send({ topic, acks: -1, messages: orders.map((o) => ({ key: o.product_id, partition: o.order_id % 2, value: JSON.stringify(o), timestamp: String(timestamp(o)) })) });
  };

  beforeAll(async () => {
    const kafka = new Kafka({ clientId: 'sluice-cli-test', brokers: kafkaBrokerList(), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    spec = {
      name: 'kafka-sales',
      source: {
        format: 'kafka',
        options: { 'kafka.bootstrap.servers': kafkaBrokers()!, subscribe: topic, startingOffsets: 'earliest' },
        value: { format: 'json', schema: { order_id: 'long', product_id: 'string', amount: 'double', event_time: 'timestamp' } },
      },
      watermark: { column: 'event_time', delay: '10 minutes' },
      groupBy: { window: { type: 'tumbling', column: 'event_time', size: '1 hour' }, keys: ['product_id'] },
      aggregations: [
        { fn: 'count', as: 'n' },
        { fn: 'sum', column: 'amount', as: 'total' },
      ],
      outputSteps: [{ withColumn: { date: { fn: 'toDate', args: ['window.start'] } } }],
      outputMode: 'append',
      sink: { format: 'delta', path: join(dir, 'lake'), partitionBy: ['date'] },
      checkpoint: join(dir, 'ckpt'),
      trigger: { processingTime: '200 milliseconds' },
    };
    file = writeSpec(dir, 'kafka-sales.json', spec);
    // Records carry their event time as Kafka timestamp; day 0, day 1 and the first hours of day 2.
    await send(makeOrders(100, day0, day1, 1, 0, 0), (o) => Date.parse(o.event_time));
    await send(makeOrders(900, day1, day2, 2, 100, 0), (o) => Date.parse(o.event_time));
    await send(makeOrders(50, day2, day2 + 4 * HOUR, 3, 1000, 0), (o) => Date.parse(o.event_time));
  });

  afterAll(async () => {
    await producer?.disconnect();
  });

  it('runs live, drops late data, and a backfill found by timestamp folds it into the partitions of its range', async () => {
    const first = await runCli(['run', file, '--trigger', 'available-now'], { cwd: dir });
    expect(first.stderr).toBe('');
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);
    expect(first.stdout).toMatch(/^batch 0: 1050 rows in, 0 rows out, /m);
    const liveDay1 = (await tableRows(spec.sink!.path!)).filter((r) => r.includes(`"date":"${dayText(day1)}"`));
    expect(liveDay1.length).toBe(72);

    // Late orders of day 1 arrive now (their Kafka timestamp is the arrival time).
    await send(makeOrders(30, day1 + 3 * HOUR, day1 + 9 * HOUR, 4, 2000, 0), () => Date.now());
    const late = await runCli(['run', file, '--trigger', 'available-now'], { cwd: dir });
    expect(late.code, `${late.stdout}\n${late.stderr}`).toBe(0);
    expect(late.stdout).toMatch(/^batch \d+: 30 rows in, 0 rows out, .*dropped as late/m);

    const range = ['--from', new Date(day1 + 6 * HOUR).toISOString(), '--to', new Date(day1 + 7 * HOUR).toISOString()];
    const dry = await runCli(['backfill', file, ...range, '--dry-run'], { cwd: dir });
    expect(dry.code, `${dry.stdout}\n${dry.stderr}`).toBe(0);
    expect(dry.stdout).toContain(`  read         kafka from ${new Date(day1 - 10 * MINUTE).toISOString()} to latest: `);
    const ranges = [...dry.stdout.matchAll(new RegExp(`^ {4}${topic}-(\\d)  offsets (\\d+)\\.\\.(\\d+)`, 'gm'))].map((m) => ({ p: m[1], start: Number(m[2]), end: Number(m[3]) }));
    expect(ranges.map((r) => r.p)).toEqual(['0', '1']);
    // Day 0 is skipped: the read starts at the first record of day 1 (minus the watermark delay) in each partition.
    expect(ranges.reduce((s, r) => s + r.start, 0)).toBe(100);
    expect(ranges.reduce((s, r) => s + r.end, 0)).toBe(1080);

    const r = await runCli(['backfill', file, ...range], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`replaced 1 partition\\(s\\) \\(date >= '${dayText(day1)}' AND date < '${dayText(day2)}'\\) in one commit`));
    const all = await new Session().read.format('delta').load(spec.sink!.path!).collect();
    const batch = await dataFrameFromSpec(spec, new Session(), { mode: 'batch' }).collect();
    const day1Of = (rows: Record<string, unknown>[]) => normalizeRows(rows.filter((x) => x['date'] === dayText(day1)));
    expect(day1Of(all)).toEqual(day1Of(batch));
    expect(day1Of(all)).not.toEqual(liveDay1);
  });

  it('runs the query as a batch over an offset range', async () => {
    const other = writeSpec(dir, 'kafka-batch.json', { ...spec, sink: { ...spec.sink, path: join(dir, 'lake-batch') } });
    const r = await runCli(['batch', other, '--input', 'earliest..latest'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const rows = await tableRows(join(dir, 'lake-batch'));
    expect(rows.length).toBe((await dataFrameFromSpec(spec, new Session(), { mode: 'batch' }).collect()).length);
    const partial = writeSpec(dir, 'kafka-batch2.json', { ...spec, sink: { ...spec.sink, path: join(dir, 'lake-batch2') } });
    const byTime = await runCli(['batch', partial, '--input', `${new Date(day0).toISOString()}..${new Date(day1).toISOString()}`], { cwd: dir });
    expect(byTime.stderr).toBe("");
    expect(byTime.code, `${byTime.stdout}\n${byTime.stderr}`).toBe(0);
    expect(byTime.stdout).toMatch(/^wrote \d+ rows to delta /m);
    const dates = new Set((await new Session().read.format('delta').load(join(dir, 'lake-batch2')).collect()).map((x) => x['date']));
    expect(dates).toEqual(new Set([dayText(day0)]));
  });
});
