// A Kafka → Kafka exactly-once query on its own broker, which is stopped and started again (same port, same data)
// while the query runs: the query rides through the outage and every record arrives exactly once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import '../../../connectors/kafka/index.js';
import { col, Session } from '../../../engine/index.js';
import { startBroker } from '../../../engine/cli/kafka/broker.js';
import type { RunningBroker } from '../../../engine/cli/kafka/broker.js';
import { describeKafka } from '../../setup/kafka.js';
import { KafkaTestKit, removeTempDirs, sleep, tempDir, waitFor } from '../../helpers/kafka-test-kit.js';
import { restartBroker, type RestartedBroker } from '../../helpers/kafka-broker-process.js';

describeKafka('Kafka broker restarted mid-run', () => {
  let broker: RunningBroker | null = null;
  let restarted: RestartedBroker | null = null;
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-kafka-restart-broker-'));
  let kit: KafkaTestKit | null = null;

  beforeAll(async () => {
    const b = await startBroker({ dataDir });
    if (!b.available) throw new Error(b.reason);
    broker = b;
  });
  afterAll(async () => {
    await kit?.close();
    await restarted?.stop();
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    removeTempDirs();
  });

  it('resumes reading and writing after the broker comes back, with every record exactly once', async () => {
    const b = broker!;
    kit = new KafkaTestKit([b.brokers]);
    const input = await kit.topic('restart-in', 2);
    const output = await kit.topic('restart-out', 2);
    const session = new Session();
    const q = session.readStream
      .format('kafka')
      .option('kafka.bootstrap.servers', b.brokers)
      .option('subscribe', input)
      .option('startingOffsets', 'earliest')
      .load()
      .select(col('key'), col('value'))
      .writeStream.format('kafka')
      .option('kafka.bootstrap.servers', b.brokers)
      .option('topic', output)
      .option('deliveryGuarantee', 'exactly-once')
      .option('checkpointLocation', tempDir())
      .trigger({ processingTime: '100 milliseconds' })
      .start();
    const values = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${(from + i) % 7}`, value: `v${from + i}` }));
    await kit.produce(input, values(0, 200));
    await waitFor('the first 200 records through the query', () => (q.recentProgress.reduce((s, p) => s + p.numInputRows, 0) >= 200), 60_000);

    await kit.close();
    await b.stop();
    await sleep(1_500); // the query keeps triggering against a broker that is down
    expect(q.isActive).toBe(true);
    restarted = await restartBroker(b);

    kit = new KafkaTestKit([b.brokers]);
    await kit.produce(input, values(200, 300));
    await waitFor('500 records through the query', () => (q.recentProgress.reduce((s, p) => s + p.numInputRows, 0) >= 500) || q.exception !== null, 120_000);
    expect(q.exception).toBeNull();
    await q.stop();

    const got = await kit.readAll(output, 500, { settleMs: 1_500, timeoutMs: 90_000 });
    const seen = got.map((r) => r.value!);
    expect(seen.length - new Set(seen).size, 'duplicates').toBe(0);
    expect(new Set(seen)).toEqual(new Set(values(0, 500).map((v) => v.value)));
  });
});
