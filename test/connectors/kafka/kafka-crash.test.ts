// Exactly-once through process crashes: the windowed Kafka → Kafka query runs in a child process that SIGKILLs itself
// at chosen points of a batch (and at random times), and is restarted until it finishes. A read_committed consumer
// must then see exactly the expected windows: none twice, none missing.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKafka, kafkaBrokerList } from '../../setup/kafka.js';
import { expectedWindows, KafkaTestKit, makeEvents, tempDir, windowRowKey, removeTempDirs } from '../../helpers/kafka-test-kit.js';
import { WATERMARK_DELAY_MS, WINDOW_MS } from '../../helpers/kafka-windowed-query.js';
import { runFixtureAsync } from '../../helpers/crash-runs.js';

const CHILD = join(import.meta.dirname, '../../helpers/kafka-crash-query.ts');

interface ChildRun {
  readonly killAt: string | null;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function runChild(args: readonly string[], killAt: string | null): Promise<ChildRun> {
  const r = await runFixtureAsync(CHILD, args, killAt ?? undefined);
  return { killAt, code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

describeKafka('Kafka exactly-once through SIGKILL', () => {
  let kit: KafkaTestKit;
  beforeAll(() => {
    kit = new KafkaTestKit(kafkaBrokerList());
  });
  afterAll(async () => {
    await kit.close();
    removeTempDirs();
  });

  it('a read_committed consumer sees every window exactly once after kills at every point of a batch', async () => {
    const input = await kit.topic('crash-in', 3);
    const output = await kit.topic('crash-out', 2);
    const events = makeEvents(20_000, { seed: 7 });
    await kit.produceEvents(input, events);
    const expected = expectedWindows(events, WINDOW_MS, Math.max(...events.map((e) => e.ts)) - WATERMARK_DELAY_MS);
    const ckpt = tempDir('sluice-kafka-crash-');

    let seed = 20260101;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const timer = () => `timer:${Math.round(50 + rand() * 700)}`;
    // each point kills within the first two batches of a run, so all of them fire before the input runs out;
    // then random timers kill wherever the query is
    const points = [
      'afterOffsets@1',
      'afterSend@1',
      'afterTxnCommit@1',
      'afterSink@2',
      'afterState@1',
      'afterCommit@2',
      'afterSend@2',
      'afterTxnCommit@2',
      'afterOffsets@2',
      'afterState@2',
    ];
    const plan = [...points, timer(), timer(), timer(), timer()];
    const runs: ChildRun[] = [];
    for (let i = 0; i < 30; i++) {
      const run = await runChild([kit.bootstrap, input, output, ckpt], plan[i] ?? null);
      runs.push(run);
      if (run.code === 0) break;
      if (run.signal !== 'SIGKILL') {
        throw new Error(`child failed (kill ${run.killAt}, code ${run.code}, signal ${run.signal}):\n${run.stderr}\n${run.stdout}`);
      }
    }
    const report = runs.map((r) => `${r.killAt ?? 'none'} → ${r.signal ?? `exit ${r.code}`}`).join('\n');
    expect(runs.at(-1)!.code, report).toBe(0);
    expect(runs.slice(0, points.length).map((r) => r.signal), report).toEqual(points.map(() => 'SIGKILL'));
    expect(runs.slice(points.length).filter((r) => r.signal === 'SIGKILL').length, report).toBeGreaterThanOrEqual(1);

    const got = await kit.readAll(output, expected.size, { settleMs: 1_500 });
    const rows = got.map((r) => windowRowKey(r.value!));
    const keys = rows.map((r) => r.key);
    expect(keys.length - new Set(keys).size, `duplicates\n${report}`).toBe(0);
    expect(new Map(rows.map((r) => [r.key, { n: r.n, total: r.total }])), report).toEqual(expected);
  });
});
