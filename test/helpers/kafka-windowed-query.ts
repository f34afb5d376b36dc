/**
 * The end-to-end query of the Kafka tests and the crash child: keyed JSON events from Kafka → watermark 5 s →
 * 2-second tumbling windows per user (count, sum) → Kafka, one JSON record per closed window (append mode).
 *
 * @example
 * const q = windowedKafkaQuery(session, { brokers, input, output, checkpoint, deliveryGuarantee: 'exactly-once' });
 * await q.awaitTermination();
 */
import '../../connectors/kafka/index.js';
import { col, count, fromJson, struct, sum, toJson, window, type Session, type StreamingQuery } from '../../engine/index.js';

export const WINDOW_MS = 2_000;
export const WATERMARK_DELAY_MS = 5_000;

export interface WindowedQueryOptions {
  readonly brokers: string;
  readonly input: string;
  readonly output: string;
  readonly checkpoint: string;
  readonly deliveryGuarantee?: 'exactly-once' | 'at-least-once' | 'at-most-once';
  readonly maxOffsetsPerTrigger?: number;
  /** Default availableNow. */
  readonly trigger?: { availableNow: true } | { processingTime: string };
  /** Extra source options (retries for the broker-restart test). */
  readonly sourceOptions?: Record<string, string>;
  readonly sinkOptions?: Record<string, string>;
}

export function windowedKafkaQuery(session: Session, o: WindowedQueryOptions): StreamingQuery {
  return session.readStream
    .format('kafka')
    .option('kafka.bootstrap.servers', o.brokers)
    .option('subscribe', o.input)
    .option('startingOffsets', 'earliest')
    .option('maxOffsetsPerTrigger', String(o.maxOffsetsPerTrigger ?? 400))
    .options(o.sourceOptions ?? {})
    .load()
    .select(fromJson(col('value'), { user: 'string', amount: 'long', ts: 'timestamp' }, { mode: 'failFast' }).as('e'))
    .select('e.*')
    .withWatermark('ts', `${WATERMARK_DELAY_MS} milliseconds`)
    .groupBy(window(col('ts'), `${WINDOW_MS} milliseconds`), col('user'))
    .agg(count('*').as('n'), sum('amount').as('total'))
    .select(col('user').as('key'), toJson(struct(col('window'), col('user'), col('n'), col('total'))).as('value'))
    .writeStream.format('kafka')
    .outputMode('append')
    .option('kafka.bootstrap.servers', o.brokers)
    .option('topic', o.output)
    .option('deliveryGuarantee', o.deliveryGuarantee ?? 'exactly-once')
    .options(o.sinkOptions ?? {})
    .option('checkpointLocation', o.checkpoint)
    .trigger(o.trigger ?? { availableNow: true })
    .start();
}
