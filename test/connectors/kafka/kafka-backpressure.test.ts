// Backpressure: with maxOffsetsPerTrigger and a deliberately slow sink, a burst of input becomes lag (reported per
// batch) instead of memory: batches stay bounded, live memory stays near one batch, and the lag drains once the
// burst is over. Without the limit, the same backlog is read as one batch (and held in memory at once).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKafka, kafkaBrokerList } from '../../setup/kafka.js';
import { KafkaTestKit, tempDir, removeTempDirs } from '../../helpers/kafka-test-kit.js';

const CHILD = join(import.meta.dirname, '../../helpers/kafka-slow-sink-query.ts');
const MB = 1024 * 1024;

interface Summary {
  rows: number;
  baseline: number;
  peak: number;
  batches: { rows: number; lag: number }[];
  error: string | null;
}

function startChild(args: string[]): { started: Promise<void>; done: Promise<Summary> } {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onStart: () => void = () => {};
  const started = new Promise<void>((r) => (onStart = r));
  child.stdout.on('data', (d) => {
    out += d;
    if (out.includes('"started":true')) onStart();
  });
  child.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
  const done = new Promise<Summary>((resolve, reject) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.includes('"done":true'));
      if (code !== 0 || !line) reject(new Error(`slow-sink child failed (exit ${code}):\n${err}\n${out}`));
      else resolve(JSON.parse(line) as Summary);
    }),
  );
  return { started, done };
}

describeKafka('Kafka source backpressure', () => {
  let kit: KafkaTestKit;
  beforeAll(() => {
    kit = new KafkaTestKit(kafkaBrokerList());
  });
  afterAll(async () => {
    await kit.close();
    removeTempDirs();
  });

  it('bounds batches and memory under a slow sink while lag grows, then drains', async () => {
    const topic = await kit.topic('backpressure', 4);
    const payload = 'x'.repeat(1_000);
    const burst = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${(from + i) % 50}`, value: `${from + i}:${payload}` }));
    const MAX = 1_000;
    const TOTAL = 60_000; // ~60 MB of values
    await kit.produce(topic, burst(0, 5_000));

    const limited = startChild([kit.bootstrap, topic, tempDir(), String(MAX), String(TOTAL)]);
    await limited.started;
    // the burst arrives faster than the slow sink drains it (~10 batches/s of MAX rows)
    for (let from = 5_000; from < TOTAL; from += 5_000) await kit.produce(topic, burst(from, 5_000));
    const s = await limited.done;
    expect(s.error).toBeNull();
    const rows = s.batches.map((b) => b.rows);
    const lags = s.batches.map((b) => b.lag);
    expect(rows.reduce((a, b) => a + b, 0)).toBe(TOTAL);
    expect(Math.max(...rows)).toBeLessThanOrEqual(MAX);
    // lag absorbed the burst: it rose well past one batch, then drained to zero
    expect(Math.max(...lags)).toBeGreaterThan(10 * MAX);
    expect(lags.at(-1)).toBe(0);
    // live memory while the sink holds a batch: about one batch (~1 MB), far from the 60 MB that went through
    const limitedGrowth = s.peak - s.baseline;
    expect(limitedGrowth).toBeLessThan(24 * MB);

    // the same backlog without maxOffsetsPerTrigger: one batch holds it all
    const unlimited = await startChild([kit.bootstrap, topic, tempDir(), 'none', String(TOTAL)]).done;
    expect(unlimited.batches.map((b) => b.rows)).toEqual([TOTAL]);
    const unlimitedGrowth = unlimited.peak - unlimited.baseline;
    expect(unlimitedGrowth).toBeGreaterThan(limitedGrowth + 40 * MB);
    console.log(
      `kafka backpressure: ${rows.length} batches of ≤ ${MAX}, peak lag ${Math.max(...lags)}; live memory +${(limitedGrowth / MB).toFixed(1)} MB ` +
        `(without the limit: 1 batch, +${(unlimitedGrowth / MB).toFixed(1)} MB)`,
    );
  });
});
