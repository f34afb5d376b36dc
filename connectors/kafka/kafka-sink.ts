/**
 * `writeStream.format('kafka')` and `df.write.format('kafka')`: rows with Spark's columns `value` (string or binary,
 * required), `key` (string or binary), `topic` (string; the `topic` option wins over it), `partition` (int) and
 * `headers` (array of struct{key: string, value: binary}) become Kafka records.
 *
 * `deliveryGuarantee`:
 * - `at-least-once` (default, Spark's only guarantee): a batch re-run after a crash is sent again.
 * - `exactly-once`: each batch is one Kafka transaction whose transactional id is derived from the query id
 *   (`sluice-<queryId>`, or `kafka.transactional.id`). The same transaction commits offset `batchId + 1` for partition 0
 *   of the marker topic in the sluice-owned consumer group `<transactionalId>.batches`, so the batch id becomes
 *   visible atomically with the records. Before writing, the sink initialises the transactional producer — which
 *   fences a zombie with the same id and aborts its open transaction — then reads the group's offset with
 *   `require_stable`: a batch whose transaction committed is skipped, one that aborted or never ran is sent again.
 *   Consumers with `isolation.level=read_committed` see every record exactly once.
 *   When a step of the transaction fails with a retriable error (broker restart, lost connection, coordinator not
 *   available, not coordinator, leader election; see `kafka-retry.ts`) the batch is written again with a new producer
 *   — whose `InitProducerId` aborts or completes the interrupted transaction, so the marker decides between skipping
 *   and re-sending — after the Java client's backoff, until `kafka.default.api.timeout.ms`; then the query stops with a
 *   `KafkaSinkTimeoutError` that a restart from the checkpoint recovers exactly once. A fenced writer stops at once
 *   (`KafkaProducerFencedError`).
 * - `at-most-once`: the batch id is recorded (plain offset commit) before the records are sent, without retries; a
 *   batch re-run after a crash is skipped, so records may be lost but are never duplicated.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { RecordBatch, Table } from 'apache-arrow';
import type * as KafkaJs from 'kafkajs';
import type { Kafka, Message, Producer, TopicMessages, Transaction } from 'kafkajs';
import { lazyModule } from '../../engine/io/lazy-module.js';
import type { OutputMode, SaveMode, SinkBatchInfo, StreamingSink } from '../../engine/io/sink.js';
import { typeEquals, typeToString, type DataType, type Schema } from '../../engine/types/data-type.js';
import { columnVec } from '../../engine/types/values.js';
import type { StrVec, Vec } from '../../engine/kernels/vec.js';
import { KafkaClient } from './kafka-client.js';
import { KafkaConnectionError } from './kafka-connection.js';
import { KafkaOptionError, type KafkaSinkOptions } from './kafka-options.js';
import { FENCED_ERRORS, isRetriableKafkaError, kafkaErrorType, nextRetryDelay } from './kafka-retry.js';
import { KAFKA_HEADER_TYPE } from './kafka-record-decoder.js';

const kafkajs = lazyModule<typeof KafkaJs>('kafkajs', import.meta.url);

/** Test hooks for crash tests: called inside `addBatch` at named points; a hook may kill the process. */
export const kafkaSinkHooks: {
  at: ((point: 'afterSend' | 'afterTxnCommit', batchId: number) => void | Promise<void>) | null;
} = { at: null };

/** The data written to Kafka does not have the columns the Kafka sink needs (Spark's KafkaWriter checks). */
export class KafkaSinkSchemaError extends Error {
  override readonly name = 'KafkaSinkSchemaError';
}

/**
 * Another producer with this sink's transactional id took over (`PRODUCER_FENCED`, `INVALID_PRODUCER_EPOCH`) or the id
 * may not be used (`TRANSACTIONAL_ID_AUTHORIZATION_FAILED`). Not retried: a second query (or a second run of this one)
 * writes with the same checkpoint or `kafka.transactional.id`, and only stopping it helps. The batch was not committed
 * by this writer.
 *
 * @example
 * try { await q.awaitTermination(); } catch (e) { if (e.cause instanceof KafkaProducerFencedError) stopTheOtherWriter(); }
 */
export class KafkaProducerFencedError extends Error {
  override readonly name = 'KafkaProducerFencedError';
  /** Restarting the same query does not help while the other writer runs. */
  readonly restartable = false;
}

/**
 * A batch could not be written within `kafka.default.api.timeout.ms` although every error on the way was retriable
 * (the broker stayed away, the coordinator stayed unavailable). The query stops; restarting it from its checkpoint
 * writes the batch exactly once (exactly-once: a transaction that committed is recognised by its batch marker and
 * skipped, one that did not is aborted by the next producer and written again).
 *
 * @example
 * try { await q.awaitTermination(); } catch (e) { if (e.cause instanceof KafkaSinkTimeoutError) restartFromCheckpoint(); }
 */
export class KafkaSinkTimeoutError extends Error {
  override readonly name = 'KafkaSinkTimeoutError';
  readonly restartable = true;
}

/** Where each column of the output is, checked against Spark's rules. */
interface SinkColumns {
  readonly value: number;
  readonly key: number | null;
  readonly topic: number | null;
  readonly partition: number | null;
  readonly headers: number | null;
}

function isBytes(t: DataType): boolean {
  return t === 'string' || t === 'binary';
}

/**
 * Checks the columns as Spark's `KafkaWriter.validateQuery` does.
 *
 * @example
 * sinkColumns(schemaOf({ key: 'string', value: 'string' }), 'out'); // { value: 1, key: 0, … }
 */
export function sinkColumns(schema: Schema, topicOption: string | null): SinkColumns {
  const idx = (n: string) => {
    const i = schema.fields.findIndex((f) => f.name === n);
    return i < 0 ? null : i;
  };
  const value = idx('value');
  if (value === null) {
    throw new KafkaSinkSchemaError(`Required attribute 'value' not found. The output has ${schema.fields.map((f) => f.name).join(', ')}; select a column as 'value'.`);
  }
  const check = (i: number | null, ok: (t: DataType) => boolean, msg: string) => {
    if (i !== null && !ok(schema.fields[i]!.type)) {
      throw new KafkaSinkSchemaError(`${msg}, got ${typeToString(schema.fields[i]!.type)}.`);
    }
  };
  check(value, isBytes, "value attribute type must be a string or binary");
  const key = idx('key');
  check(key, isBytes, 'key attribute type must be a string or binary');
  const topic = idx('topic');
  if (topic === null && topicOption === null) {
    throw new KafkaSinkSchemaError("topic option required when no 'topic' attribute is present. Use the topic option for setting a topic.");
  }
  check(topic, (t) => t === 'string', 'Topic type must be a string');
  const partition = idx('partition');
  check(partition, (t) => t === 'int', 'partition attribute type must be an int');
  const headers = idx('headers');
  check(headers, (t) => typeEquals(t, { kind: 'array', element: KAFKA_HEADER_TYPE }), 'headers attribute type must be an array<struct<key:string,value:binary>>');
  return { value, key, topic: topicOption !== null ? null : topic, partition, headers };
}

function bytesAt(v: StrVec, i: number): Buffer | null {
  if (v.valid !== null && v.valid[i] === 0) return null;
  const a = v.offsets[i]!;
  return Buffer.from(v.bytes.buffer, v.bytes.byteOffset + a, v.offsets[i + 1]! - a);
}

/** The records of one batch, grouped by topic, in row order. */
export function messagesOf(batches: readonly RecordBatch[], schema: Schema, cols: SinkColumns, topicOption: string | null): Map<string, Message[]> {
  const out = new Map<string, Message[]>();
  for (const b of batches) {
    const n = b.numRows;
    if (n === 0) continue;
    const value = columnVec(b, schema, cols.value) as StrVec;
    const key = cols.key !== null ? (columnVec(b, schema, cols.key) as StrVec) : null;
    const topic = cols.topic !== null ? (columnVec(b, schema, cols.topic) as StrVec) : null;
    const part = cols.partition !== null ? columnVec(b, schema, cols.partition) : null;
    const headers = cols.headers !== null ? columnVec(b, schema, cols.headers) : null;
    for (let i = 0; i < n; i++) {
      let t = topicOption;
      if (topic !== null) {
        const tb = bytesAt(topic, i);
        if (tb === null) throw new KafkaSinkSchemaError('Null topic present in the data. Use the topic option for setting a topic.');
        t = tb.toString('utf8');
      }
      const m: Message = { value: bytesAt(value, i) };
      if (key !== null) m.key = bytesAt(key, i);
      if (part !== null && part.kind === 'num' && (part.valid === null || part.valid[i] === 1)) m.partition = part.values[i]!;
      if (headers !== null) {
        const h = headersAt(headers, i);
        if (h) m.headers = h;
      }
      let list = out.get(t!);
      if (!list) out.set(t!, (list = []));
      list.push(m);
    }
  }
  return out;
}

function headersAt(v: Vec, i: number): Record<string, Buffer | Buffer[]> | null {
  if (v.kind !== 'list' || (v.valid !== null && v.valid[i] === 0)) return null;
  const s = v.child;
  if (s.kind !== 'struct') return null;
  const k = s.fields[0] as StrVec;
  const val = s.fields[1] as StrVec;
  const out: Record<string, Buffer | Buffer[]> = {};
  for (let j = v.offsets[i]!; j < v.offsets[i + 1]!; j++) {
    const name = bytesAt(k, j)?.toString('utf8') ?? '';
    const bytes = bytesAt(val, j) ?? Buffer.alloc(0);
    const prev = out[name];
    out[name] = prev === undefined ? bytes : Array.isArray(prev) ? [...prev, bytes] : [prev, bytes];
  }
  return out;
}

function kafkaOf(o: KafkaSinkOptions, retries: number): Kafka {
  const { Kafka, logLevel } = kafkajs();
  return new Kafka({
    clientId: o.client.clientId,
    brokers: [...o.client.bootstrapServers],
    connectionTimeout: o.client.connectTimeoutMs,
    requestTimeout: o.client.requestTimeoutMs,
    // The Java client's backoff (kafka.retry.backoff.ms doubling to kafka.retry.backoff.max.ms, ±20 %) for kafkajs's own
    // retries of one request; the sink's batch loop retries the whole transaction on top, bounded by the API timeout.
    retry: { retries, initialRetryTime: o.client.retryBackoff.initialMs, maxRetryTime: o.client.retryBackoff.maxMs, factor: o.client.retryBackoff.jitter, multiplier: o.client.retryBackoff.multiplier },
    logLevel: process.env['KAFKAJS_DEBUG'] === '1' ? logLevel.DEBUG : logLevel.NOTHING,
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * @example
 * df.writeStream.format('kafka').option('kafka.bootstrap.servers', 'localhost:9092').option('topic', 'counts')
 *   .option('deliveryGuarantee', 'exactly-once').option('checkpointLocation', 'ckpt/').start();
 */
export class KafkaSink implements StreamingSink {
  readonly description: string;
  private kafka: Kafka | null = null;
  private producer: Producer | null = null;
  private client: KafkaClient | null = null;
  private txnId: string | null = null;
  private cols: SinkColumns | null = null;
  private written = 0;
  private skipped = 0;
  private records = 0;
  private retriesDone = 0;
  /** The last batch id known to be recorded in Kafka; null until read (and after a failure). */
  private knownLast: number | null = null;

  constructor(readonly o: KafkaSinkOptions) {
    this.description = `KafkaSink[${o.topic !== null ? `topic=${o.topic}, ` : ''}deliveryGuarantee=${o.deliveryGuarantee}]`;
  }

  /** The sluice-owned consumer group whose committed offset records the last batch written. */
  get batchGroup(): string | null {
    return this.txnId === null ? null : `${this.txnId}.batches`;
  }

  async addBatch(batchId: number, data: Table, info: SinkBatchInfo): Promise<void> {
    this.cols ??= sinkColumns(info.schema, this.o.topic);
    this.txnId ??= this.o.transactionalId ?? `sluice-${info.queryId}`;
    const messages = messagesOf(data.batches, info.schema, this.cols, this.o.topic);
    if (messages.size === 0) return; // nothing to write, nothing to remember
    const started = Date.now();
    const timeoutMs = this.o.client.reconnectTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.beforeDeadline(this.write(batchId, messages), started + timeoutMs);
        return;
      } catch (e) {
        // A new producer for the next attempt: its InitProducerId fences this one and aborts its open transaction.
        await this.reset();
        const what = `Writing batch ${batchId} to Kafka (${this.o.deliveryGuarantee})`;
        const type = kafkaErrorType(e);
        if (type !== null && FENCED_ERRORS.has(type)) {
          throw new KafkaProducerFencedError(
            `${what} failed: ${type}: another producer uses transactional id '${this.txnId}' — another query, or another ` +
              `run of this one, writes with the same checkpoint or kafka.transactional.id. Stop it; this writer did not commit batch ${batchId}.`,
            { cause: e },
          );
        }
        if (this.o.deliveryGuarantee === 'at-most-once' || !isRetriableKafkaError(e)) {
          throw new Error(`${what} failed: ${(e as Error).message}`, { cause: e });
        }
        const pause = nextRetryDelay(attempt, Date.now() - started, timeoutMs, this.o.client.retryBackoff, Math.random());
        if (pause === null) {
          throw new KafkaSinkTimeoutError(
            `${what} did not succeed within kafka.default.api.timeout.ms=${timeoutMs} (${attempt + 1} attempts); last error: ${(e as Error).message}. ` +
              `Check that the brokers at ${this.o.client.bootstrapServers.join(',')} are up, then restart the query from its checkpoint: ` +
              (this.o.deliveryGuarantee === 'exactly-once'
                ? 'the batch is written exactly once (skipped if its transaction committed, written again if not).'
                : 'the batch is sent again.'),
            { cause: e },
          );
        }
        this.retriesDone++;
        await sleep(pause);
      }
    }
  }

  /**
   * `work`, or a retriable timeout error once `deadline` passes first: kafkajs's own retries of one request may take
   * longer than the time left. The abandoned attempt's producer is dropped by the caller's `reset()`.
   */
  private async beforeDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KafkaConnectionError(`Kafka did not answer before the API timeout (kafka.default.api.timeout.ms=${this.o.client.reconnectTimeoutMs})`)), Math.max(0, deadline - Date.now()));
    });
    work.catch(() => {});
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async write(batchId: number, messages: Map<string, Message[]>): Promise<void> {
    switch (this.o.deliveryGuarantee) {
      case 'exactly-once':
        return this.writeTransactional(batchId, messages);
      case 'at-least-once': {
        const p = await this.plainProducer(5);
        await this.send((tm) => p.sendBatch(tm), messages);
        this.written++;
        return;
      }
      case 'at-most-once': {
        if (batchId <= (await this.lastRecordedBatch())) {
          this.skipped++;
          return;
        }
        await this.recordBatch(batchId, messages);
        const p = await this.plainProducer(0);
        await this.send((tm) => p.sendBatch(tm), messages);
        this.written++;
        return;
      }
    }
  }

  private async writeTransactional(batchId: number, messages: Map<string, Message[]>): Promise<void> {
    const producer = await this.transactionalProducer();
    // The first transaction() initialises the producer id: fences zombies and completes or aborts their transaction.
    const txn: Transaction = await producer.transaction();
    let ended = false;
    try {
      // Read once per producer: afterwards this producer is the only writer (any other one is fenced).
      this.knownLast ??= await this.lastRecordedBatch();
      if (batchId <= this.knownLast) {
        this.skipped++;
        await txn.abort();
        ended = true;
        return;
      }
      await this.send((tm) => txn.sendBatch(tm), messages);
      await kafkaSinkHooks.at?.('afterSend', batchId);
      await txn.sendOffsets({
        consumerGroupId: this.batchGroup!,
        topics: [{ topic: markerTopic(messages, this.o.topic), partitions: [{ partition: 0, offset: String(batchId + 1), metadata: this.markerMetadata(batchId) } as never] }],
      });
      await txn.commit();
      ended = true;
      this.knownLast = batchId;
      this.written++;
      await kafkaSinkHooks.at?.('afterTxnCommit', batchId);
    } finally {
      if (!ended) await txn.abort().catch(() => {});
    }
  }

  private markerMetadata(batchId: number): string {
    return JSON.stringify({ writer: 'sluice', transactionalId: this.txnId, batchId });
  }

  /** Sends in requests of at most `kafka.batch.num.messages` messages and `kafka.max.request.size` bytes. */
  private async send(sendBatch: (tm: { topicMessages: TopicMessages[]; acks: number; compression: number }) => Promise<unknown>, messages: Map<string, Message[]>): Promise<void> {
    const { CompressionTypes } = kafkajs();
    const compression = this.o.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    const { sendBatchSize: maxCount, maxRequestBytes: maxBytes } = this.o;
    let chunk: TopicMessages[] = [];
    let count = 0;
    let bytes = 0;
    const flush = async () => {
      if (count === 0) return;
      await sendBatch({ topicMessages: chunk, acks: this.o.acks, compression });
      chunk = [];
      count = 0;
      bytes = 0;
    };
    for (const [topic, list] of messages) {
      let from = 0;
      for (let i = 0; i < list.length; i++) {
        const m = list[i]!;
        const size = messageSize(m);
        if (count > 0 && (count >= maxCount || bytes + size > maxBytes)) {
          if (i > from) chunk.push({ topic, messages: list.slice(from, i) });
          from = i;
          await flush();
        }
        count++;
        bytes += size;
      }
      if (list.length > from) chunk.push({ topic, messages: list.slice(from) });
    }
    await flush();
    for (const list of messages.values()) this.records += list.length;
  }

  /** The highest batch id recorded in the sluice-owned group (-1: none). */
  private async lastRecordedBatch(): Promise<number> {
    this.client ??= new KafkaClient(this.o.client);
    const offsets = await this.client.committedOffsets(this.batchGroup!);
    let last = -1;
    for (const o of offsets) if (o.offset > 0) last = Math.max(last, o.offset - 1);
    return last;
  }

  private async recordBatch(batchId: number, messages: Map<string, Message[]>): Promise<void> {
    this.client ??= new KafkaClient(this.o.client);
    await this.client.commitOffset(this.batchGroup!, markerTopic(messages, this.o.topic), 0, batchId + 1, this.markerMetadata(batchId));
  }

  private async plainProducer(retries: number): Promise<Producer> {
    if (this.producer) return this.producer;
    this.kafka ??= kafkaOf(this.o, retries);
    const p = this.kafka.producer({ createPartitioner: kafkajs().Partitioners.DefaultPartitioner, retry: { retries } });
    await p.connect();
    this.producer = p;
    return p;
  }

  private async transactionalProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    this.kafka ??= kafkaOf(this.o, 5);
    const p = this.kafka.producer({
      createPartitioner: kafkajs().Partitioners.DefaultPartitioner,
      transactionalId: this.txnId!,
      transactionTimeout: this.o.transactionTimeoutMs,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await p.connect();
    this.producer = p;
    return p;
  }

  /** Drops the producer after a failure: the next attempt starts a new one (and so fences the old transaction). */
  private async reset(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    this.kafka = null;
    this.knownLast = null;
    await p?.disconnect().catch(() => {});
    await this.client?.close().catch(() => {});
    this.client = null;
  }

  metrics(): Record<string, string> {
    return {
      batchesWritten: String(this.written),
      batchesSkippedAsDone: String(this.skipped),
      recordsSent: String(this.records),
      retries: String(this.retriesDone),
      ...(this.txnId !== null && this.o.deliveryGuarantee === 'exactly-once' ? { transactionalId: this.txnId } : {}),
    };
  }

  async close(): Promise<void> {
    await this.reset();
  }
}

function messageSize(m: Message): number {
  let n = 70 + ((m.value as Buffer | null)?.length ?? 0) + ((m.key as Buffer | null | undefined)?.length ?? 0);
  if (m.headers) for (const [k, v] of Object.entries(m.headers)) n += k.length + 8 + (Array.isArray(v) ? v.reduce((s, x) => s + x.length + 8, 0) : ((v as Buffer | undefined)?.length ?? 0));
  return n;
}

/** The topic whose partition 0 carries the batch marker: the `topic` option, else the first topic of the batch. */
function markerTopic(messages: Map<string, Message[]>, topicOption: string | null): string {
  return topicOption ?? [...messages.keys()].sort()[0]!;
}

/**
 * `df.write.format('kafka')`: writes a batch DataFrame once. Save modes `append` and `errorIfExists` (the default) both
 * append, as in Spark. With `deliveryGuarantee=exactly-once` the whole write is one transaction: all or nothing.
 *
 * @example
 * await df.select(col('id').cast('string').as('key'), toJson(struct(col('*'))).as('value'))
 *   .write.format('kafka').option('kafka.bootstrap.servers', 'localhost:9092').option('topic', 'out').save();
 */
export async function writeKafkaBatch(o: KafkaSinkOptions, mode: SaveMode, schema: Schema, data: Table): Promise<void> {
  if (mode === 'overwrite' || mode === 'ignore') {
    throw new KafkaOptionError(`Save mode ${mode} not allowed for Kafka. Allowed save modes are append and errorIfExists (default).`);
  }
  const sink = new KafkaSink(o.deliveryGuarantee === 'exactly-once' ? { ...o, transactionalId: o.transactionalId ?? `sluice-write-${randomUUID()}` } : o);
  try {
    await sink.addBatch(0, data, { queryId: randomUUID(), runId: randomUUID(), outputMode: 'append' as OutputMode, schema });
  } finally {
    await sink.close();
  }
}
