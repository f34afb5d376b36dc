/**
 * The windowed Kafka → Kafka query (exactly-once) run in a child process by the crash tests. `KILL_AT` makes it
 * SIGKILL itself:
 * - `<point>@<n>` the n-th time this run reaches an execution point (afterOffsets | afterSink | afterState |
 *   afterCommit) or a Kafka sink point (afterSend: records sent, transaction open | afterTxnCommit: committed in Kafka,
 *   commits/N not yet written);
 * - `timer:<ms>` that many milliseconds after the query started, wherever it is.
 *
 *   node --import tsx test/helpers/kafka-crash-query.ts <brokers> <input topic> <output topic> <checkpoint dir>
 */
import { Session } from '../../engine/index.js';
import { executionHooks } from '../../engine/exec/micro-batch-execution.js';
import { kafkaSinkHooks } from '../../connectors/kafka/index.js';
import { windowedKafkaQuery } from './kafka-windowed-query.js';

const [brokers, input, output, checkpoint] = process.argv.slice(2) as [string, string, string, string];
const kill = process.env['KILL_AT'];
const die = () => process.kill(process.pid, 'SIGKILL');
if (kill && !kill.startsWith('timer:')) {
  const [point, nth] = kill.split('@') as [string, string];
  let seen = 0;
  const hook = (p: string) => {
    if (p === point && ++seen === Number(nth)) die();
  };
  if (point === 'afterSend' || point === 'afterTxnCommit') kafkaSinkHooks.at = hook;
  else executionHooks.at = hook;
}
const session = new Session();
const q = windowedKafkaQuery(session, { brokers, input, output, checkpoint, maxOffsetsPerTrigger: Number(process.env['MAX_OFFSETS'] ?? 300) });
if (kill?.startsWith('timer:')) setTimeout(die, Number(kill.slice(6))).unref();
await q.awaitTermination();
console.log(JSON.stringify({ done: true, batches: q.recentProgress.length, lastBatch: q.lastProgress?.batchId ?? null }));
process.exit(0);
