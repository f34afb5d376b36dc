/**
 * The `kafka` format: `session.readStream` / `session.read` (Spark's Kafka source options) and `writeStream` /
 * `df.write` (Spark's Kafka sink columns, plus `deliveryGuarantee`). Importing this module registers it.
 *
 * @example
 * const counts = session.readStream.format('kafka').option('kafka.bootstrap.servers', 'localhost:9092')
 *   .option('subscribe', 'events').load()
 *   .select(fromJson(col('value'), { user: 'string', ts: 'timestamp' }).as('e')).select('e.*');
 *
 * @module
 */
import { defaultFormats } from '../../engine/io/format-registry.js';
import { parseSinkOptions, parseSourceOptions } from './kafka-options.js';
import { KafkaBatchScan, KafkaSource } from './kafka-source.js';
import { KafkaSink, sinkColumns, writeKafkaBatch } from './kafka-sink.js';
import { kafkaSourceSchema } from './kafka-record-decoder.js';

defaultFormats.register({
  name: 'kafka',
  batchScan(req) {
    return new KafkaBatchScan(parseSourceOptions(req.options, true));
  },
  streamSource(req) {
    const o = parseSourceOptions(req.options, false);
    const probe = new KafkaSource(o);
    return { schema: kafkaSourceSchema(o.fetch.includeHeaders), description: probe.description, make: () => new KafkaSource(o) };
  },
  streamingSink(req) {
    const o = parseSinkOptions(req.options);
    // Spark checks the key/value/topic columns when the query starts; so does sluice when it knows the schema.
    if (req.schema) sinkColumns(req.schema, o.topic ?? null);
    return new KafkaSink(o);
  },
  async batchWrite(req, schema, data) {
    await writeKafkaBatch(parseSinkOptions(req.options), req.mode, schema, data);
  },
});

export { KafkaSource, KafkaBatchScan } from './kafka-source.js';
export { KafkaProducerFencedError, KafkaSink, KafkaSinkSchemaError, KafkaSinkTimeoutError, kafkaSinkHooks, sinkColumns, writeKafkaBatch } from './kafka-sink.js';
export { backoffMs, isRetriableKafkaError, JAVA_CLIENT_BACKOFF, nextRetryDelay, type RetryBackoff } from './kafka-retry.js';
export { KafkaOptionError, parseSinkOptions, parseSourceOptions, type DeliveryGuarantee, type KafkaSinkOptions, type KafkaSourceOptions } from './kafka-options.js';
export { KafkaDataLossError } from './kafka-fetcher.js';
export { KafkaOffsetLookupError } from './kafka-offset-reader.js';
export { KafkaConnectionError } from './kafka-connection.js';
export { KafkaProtocolError } from './kafka-protocol.js';
export { KafkaDecodeError, kafkaSourceSchema } from './kafka-record-decoder.js';
