// Exactly-once through process crashes for transformWithState into Kafka: the lockout detector (event-time timers, a
// ValueState with a TTL) runs in a child process that SIGKILLs itself at each phase of a batch — the Kafka sink's own
// points (records sent in an open transaction; transaction committed, commits/N not written) and the no-data batch
// that only fires timers — and is restarted until done. A read_committed consumer must then see exactly the alerts
// the oracle written from SEMANTICS §3 and §10 calls for: none twice, none missing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKafka, kafkaBrokerList } from '../../setup/kafka.js';
import { KafkaTestKit, removeTempDirs, tempDir } from '../../helpers/kafka-test-kit.js';
import { runFixtureAsync, runKillChain } from '../../helpers/crash-runs.js';
import { expectedAlerts, firstBatchWithAlerts, sortAlerts, writeLoginFiles, type AlertKey } from '../../helpers/tws-logins.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/tws-lockout-query.ts');
const FILES = 24;

describeKafka('transformWithState into Kafka (exactly-once) under SIGKILL', () => {
  let kit: KafkaTestKit;
  const input = join(mkdtempSync(join(tmpdir(), 'sluice-tws-kafka-')), 'in');
  const oracle = expectedAlerts(writeLoginFiles(input, { files: FILES, seed: 11 }));
  const want = sortAlerts(oracle.alerts);
  const at = (from: number) => firstBatchWithAlerts(oracle, from);
  const last = FILES;
  beforeAll(() => {
    kit = new KafkaTestKit(kafkaBrokerList());
  });
  afterAll(async () => {
    await kit.close();
    removeTempDirs();
  });

  async function chain(name: string, kills: readonly string[], parallelism: (run: number) => number): Promise<void> {
    const topic = await kit.topic(`tws-${name}`, 2);
    const ckpt = tempDir('sluice-tws-kafka-ckpt-');
    const report = await runKillChain(
      (kill, i) => runFixtureAsync(FIXTURE, [input, 'kafka', topic, ckpt], kill, { KAFKA_BROKERS: kit.bootstrap, PARALLELISM: String(parallelism(i)) }),
      kills,
    );
    const got = await kit.readAll(topic, want.length, { settleMs: 1_500 });
    const alerts = got.map((r) => {
      const v = JSON.parse(r.value!) as { user: string; reason: string; at: string; processedAt: string };
      expect(r.key).toBe(v.user);
      return [v.user, v.reason, Date.parse(v.at), Date.parse(v.processedAt)] as AlertKey;
    });
    expect(sortAlerts(alerts), report).toEqual(want);
  }

  const kills = () => [
    'afterOffsets:1',
    `afterSend:${at(2)}`,
    `afterTxnCommit:${at(at(2) + 1)}`,
    `afterSink:${at(8)}`,
    `afterState:${at(8)}`,
    `afterCommit:${at(12)}`,
    `afterSend:${last}`,
    // the re-run finds the transaction committed and sends nothing: the next kill is after the state
    `afterTxnCommit:${last}`,
    `afterState:${last}`,
  ];

  it('killed at every phase of a batch, then restarted until done: a read_committed consumer sees every alert exactly once', async () => {
    expect(oracle.byBatch[last]!.length).toBeGreaterThan(0);
    await chain('p1', kills(), () => 1);
  });

  it('the same on two worker threads, with restarts that change the parallelism 2 → 1 → 2', async () => {
    await chain('p212', kills(), (i) => [2, 2, 1, 1, 1, 2, 2, 1, 2, 2][i]!);
  });
});
