/**
 * A Kafka source query with a deliberately slow sink, run in a child process with `--expose-gc` by the backpressure
 * test: after each batch it collects garbage and prints the live memory (heap + external buffers) as one JSON line;
 * it stops once `<total>` rows went through and prints the per-batch input sizes and lag.
 *
 *   node --expose-gc --import tsx test/helpers/kafka-slow-sink-query.ts <brokers> <topic> <checkpoint> <maxOffsetsPerTrigger|none> <total>
 */
import '../../connectors/kafka/index.js';
import { Session } from '../../engine/index.js';

const [brokers, topic, checkpoint, max, total] = process.argv.slice(2) as [string, string, string, string, string];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const live = () => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const session = new Session();
let rows = 0;
let peak = 0;
const reader = session.readStream
  .format('kafka')
  .option('kafka.bootstrap.servers', brokers)
  .option('subscribe', topic)
  .option('startingOffsets', 'earliest');
if (max !== 'none') reader.option('maxOffsetsPerTrigger', max);
const baseline = live();
const q = reader
  .load()
  .writeStream.foreachBatch(async (df) => {
    const batch = await df.toBatches(); // the batch's rows, alive while the sink works
    rows += batch.reduce((s, b) => s + b.numRows, 0);
    peak = Math.max(peak, live());
    await new Promise((r) => setTimeout(r, 100)); // the slow sink
  })
  .option('checkpointLocation', checkpoint)
  .start();
console.log(JSON.stringify({ started: true }));
while (rows < Number(total) && q.exception === null) await new Promise((r) => setTimeout(r, 50));
await q.processAllAvailable();
await q.stop();
const batches = q.recentProgress
  .filter((p) => p.numInputRows > 0)
  .map((p) => ({ rows: p.numInputRows, lag: Number(p.sources[0]!.metrics['totalOffsetsBehindLatest'] ?? 0) }));
console.log(JSON.stringify({ done: true, rows, baseline, peak, batches, error: q.exception?.message ?? null }));
process.exit(0);
