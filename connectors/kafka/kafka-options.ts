/**
 * The options of the `kafka` format, named as Spark's Kafka integration names them (keys are case-insensitive), parsed
 * and checked once when the query is built so that a mistake fails at `load()` / `start()` with a message naming the fix.
 *
 * @module
 */
import { parseDuration } from '../../engine/types/duration.js';
import { READ_COMMITTED, READ_UNCOMMITTED, type IsolationLevel } from './kafka-protocol.js';
import type { KafkaClientOptions } from './kafka-client.js';
import { checkOptionNames } from '../../engine/io/sink-options.js';
import { JAVA_CLIENT_BACKOFF } from './kafka-retry.js';

/** An option of the `kafka` format is missing, contradicts another, or has a value it cannot use. */
export class KafkaOptionError extends Error {
  override readonly name = 'KafkaOptionError';
}

/** Which partitions a source reads. */
export type Subscription =
  | { readonly kind: 'subscribe'; readonly topics: readonly string[] }
  | { readonly kind: 'subscribePattern'; readonly pattern: RegExp; readonly source: string }
  | { readonly kind: 'assign'; readonly partitions: readonly { topic: string; partition: number }[] };

/**
 * Where reading starts or ends. In `offsets`, -2 means earliest and -1 latest (Spark's JSON convention); `timestamps`
 * gives an epoch-ms timestamp per partition; `timestamp` one for every partition.
 */
export type OffsetSpec =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'offsets'; readonly offsets: Readonly<Record<string, Readonly<Record<string, number>>>> }
  | { readonly kind: 'timestamps'; readonly timestamps: Readonly<Record<string, Readonly<Record<string, number>>>> }
  | { readonly kind: 'timestamp'; readonly timestamp: number };

/** Fetch sizes and the isolation level of reads. */
export interface FetchSettings {
  readonly isolation: IsolationLevel;
  readonly maxBytes: number;
  readonly partitionMaxBytes: number;
  readonly maxWaitMs: number;
  readonly failOnDataLoss: boolean;
  readonly includeHeaders: boolean;
}

export interface KafkaSourceOptions {
  readonly client: KafkaClientOptions;
  readonly subscription: Subscription;
  readonly startingOffsets: OffsetSpec;
  readonly endingOffsets: OffsetSpec | null;
  /** What to do when a starting timestamp matches no record: fail (`error`, Spark's default) or start at latest. */
  readonly timestampStrategy: 'error' | 'latest';
  readonly maxOffsetsPerTrigger: number | null;
  readonly minOffsetsPerTrigger: number | null;
  readonly maxTriggerDelayMs: number;
  readonly fetch: FetchSettings;
}

/** The delivery guarantee of the Kafka sink. */
export type DeliveryGuarantee = 'at-least-once' | 'exactly-once' | 'at-most-once';

export interface KafkaSinkOptions {
  readonly client: KafkaClientOptions;
  readonly topic: string | null;
  readonly deliveryGuarantee: DeliveryGuarantee;
  /** Explicit `kafka.transactional.id` (exactly-once); otherwise derived from the query id. */
  readonly transactionalId: string | null;
  readonly transactionTimeoutMs: number;
  /** `kafka.acks`: -1 (all), 1 or 0. */
  readonly acks: -1 | 0 | 1;
  readonly compression: 'none' | 'gzip';
  /** Messages per produce request (`kafka.batch.num.messages`). */
  readonly sendBatchSize: number;
  /** Bytes per produce request (`kafka.max.request.size`; the broker refuses record batches over `message.max.bytes`). */
  readonly maxRequestBytes: number;
}

/** Case-insensitive option lookup (Spark's CaseInsensitiveMap). */
class Opts {
  private readonly m = new Map<string, string>();
  constructor(o: Readonly<Record<string, string>>) {
    for (const [k, v] of Object.entries(o)) this.m.set(k.toLowerCase(), v);
  }
  get(k: string): string | undefined {
    return this.m.get(k.toLowerCase());
  }
  has(k: string): boolean {
    return this.m.has(k.toLowerCase());
  }
}

function intOpt(o: Opts, key: string, dflt: number, min = 0): number {
  const v = o.get(key);
  if (v === undefined) return dflt;
  const n = Number(v.trim());
  if (!Number.isInteger(n) || n < min) throw new KafkaOptionError(`Option '${key}' must be an integer ≥ ${min}, got '${v}'.`);
  return n;
}

function boolOpt(o: Opts, key: string, dflt: boolean): boolean {
  const v = o.get(key);
  if (v === undefined) return dflt;
  const s = v.trim().toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw new KafkaOptionError(`Option '${key}' must be 'true' or 'false', got '${v}'.`);
}

const UNSUPPORTED_KAFKA_PARAMS: Record<string, string> = {
  'group.id':
    "sluice reads without a consumer group: each query tracks the offsets it has read in its checkpoint (offsets/N), " +
    'joins no group and commits nothing to Kafka, so a group id would have no effect. (Spark 3 accepts kafka.group.id, ' +
    'with a warning, as the id of its reader; sharing the partitions of a topic between queries through a group is not ' +
    "implemented yet.) Remove the option; 'groupIdPrefix' sets the prefix of the client id.",
  'auto.offset.reset': "Instead set the source option 'startingOffsets' to 'earliest' or 'latest'.",
  'key.deserializer': 'Keys are always read as binary: decode them with DataFrame operations, e.g. col("key").cast("string").',
  'value.deserializer': 'Values are always read as binary: decode them with DataFrame operations, e.g. fromJson(col("value"), schema).',
  'key.serializer': 'Keys are written from a string or binary key column.',
  'value.serializer': 'Values are written from a string or binary value column.',
  'enable.auto.commit': 'Offsets are kept in the checkpoint, not committed to Kafka.',
  'interceptor.classes': 'Interceptors are not supported.',
};

/** `kafka.*` options both the source and the sink use (the connection and its retries). */
const CLIENT_PARAMS = [
  'bootstrap.servers',
  'client.id',
  'security.protocol',
  'socket.connection.setup.timeout.ms',
  'request.timeout.ms',
  'default.api.timeout.ms',
  'retry.backoff.ms',
  'retry.backoff.max.ms',
];

/** Every `kafka.*` option each side reads; any other one would be silently ignored, so it is refused. */
const KAFKA_PARAMS: Readonly<Record<'source' | 'sink', ReadonlySet<string>>> = {
  source: new Set([...CLIENT_PARAMS, 'isolation.level', 'fetch.max.bytes', 'max.partition.fetch.bytes', 'fetch.max.wait.ms']),
  sink: new Set([...CLIENT_PARAMS, 'acks', 'compression.type', 'transactional.id', 'transaction.timeout.ms', 'batch.num.messages', 'max.request.size']),
};

/**
 * Refuses `kafka.*` options the connector would not use: those Spark refuses too (with Spark's hints), `group.id`
 * (offsets live in the checkpoint), and any other one neither passed to a request nor read — sluice speaks the wire
 * protocol itself (reads) or through kafkajs with its own settings (writes), so unknown Kafka client configs cannot
 * be passed through as Spark passes them to the Java client.
 */
function checkKafkaParams(o: Readonly<Record<string, string>>, role: 'source' | 'sink'): void {
  for (const k of Object.keys(o)) {
    const lk = k.toLowerCase();
    if (!lk.startsWith('kafka.')) continue;
    const name = lk.slice(6);
    const hint = UNSUPPORTED_KAFKA_PARAMS[name];
    if (hint) throw new KafkaOptionError(`Kafka option '${name}' is not supported. ${hint}`);
    if (!KAFKA_PARAMS[role].has(name)) {
      const other = role === 'source' ? 'sink' : 'source';
      const elsewhere = KAFKA_PARAMS[other].has(name) ? ` It is an option of the Kafka ${other}.` : '';
      throw new KafkaOptionError(
        `Kafka option '${k}' is not used by the Kafka ${role}, so it would have no effect.${elsewhere} Remove it; the ${role} reads ` +
          `${[...KAFKA_PARAMS[role]].map((p) => `kafka.${p}`).join(', ')}.`,
      );
    }
  }
  const sec = new Opts(o).get('kafka.security.protocol');
  if (sec !== undefined && sec.toUpperCase() !== 'PLAINTEXT') {
    throw new KafkaOptionError(`kafka.security.protocol=${sec} is not supported yet: sluice's Kafka connector speaks PLAINTEXT only.`);
  }
}

function clientOptions(o: Opts, role: string): KafkaClientOptions {
  const servers = o.get('kafka.bootstrap.servers');
  if (!servers || servers.trim() === '') {
    throw new KafkaOptionError(`Option 'kafka.bootstrap.servers' must be specified for the Kafka ${role}, e.g. .option('kafka.bootstrap.servers', 'host:9092').`);
  }
  const list = servers.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) {
    if (!/^(\[[^\]]+\]|[^:\s]+):\d+$/.test(s)) throw new KafkaOptionError(`'${s}' in kafka.bootstrap.servers is not host:port.`);
  }
  const prefix = o.get('groupIdPrefix') ?? 'sluice-kafka';
  return {
    bootstrapServers: list,
    clientId: o.get('kafka.client.id') ?? `${prefix}-${role}`,
    connectTimeoutMs: intOpt(o, 'kafka.socket.connection.setup.timeout.ms', 10_000, 1),
    requestTimeoutMs: intOpt(o, 'kafka.request.timeout.ms', 30_000, 1),
    retries: intOpt(o, 'fetchOffset.numRetries', 3, 0),
    retryBackoffMs: intOpt(o, 'fetchOffset.retryIntervalMs', 1_000, 0),
    reconnectTimeoutMs: intOpt(o, 'kafka.default.api.timeout.ms', 60_000, 0),
    retryBackoff: {
      ...JAVA_CLIENT_BACKOFF,
      initialMs: intOpt(o, 'kafka.retry.backoff.ms', JAVA_CLIENT_BACKOFF.initialMs, 0),
      maxMs: intOpt(o, 'kafka.retry.backoff.max.ms', JAVA_CLIENT_BACKOFF.maxMs, 0),
    },
  };
}

function parseSubscription(o: Opts): Subscription {
  const given = ['subscribe', 'subscribePattern', 'assign'].filter((k) => o.has(k));
  if (given.length === 0) {
    throw new KafkaOptionError('One of the following options must be specified for Kafka source: subscribe, subscribePattern, assign.');
  }
  if (given.length > 1) {
    throw new KafkaOptionError(
      `Only one of the following options can be specified for Kafka source: subscribe, subscribePattern, assign; got ${given.join(', ')}.`,
    );
  }
  const key = given[0]!;
  const v = o.get(key)!;
  if (key === 'subscribe') {
    const topics = v.split(',').map((s) => s.trim()).filter(Boolean);
    if (topics.length === 0) throw new KafkaOptionError(`No topics to subscribe to: 'subscribe' is '${v}'. Give a comma-separated list.`);
    return { kind: 'subscribe', topics: [...new Set(topics)].sort() };
  }
  if (key === 'subscribePattern') {
    if (v.trim() === '') throw new KafkaOptionError("Pattern to subscribe is empty: 'subscribePattern' needs a regular expression.");
    try {
      return { kind: 'subscribePattern', pattern: new RegExp(`^(?:${v})$`), source: v };
    } catch (e) {
      throw new KafkaOptionError(`'subscribePattern' is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  const json = parseJsonOption('assign', v, `{"topicA":[0,1],"topicB":[2,4]}`);
  const partitions: { topic: string; partition: number }[] = [];
  for (const [topic, ps] of Object.entries(json)) {
    if (!Array.isArray(ps) || ps.some((p) => !Number.isInteger(p) || p < 0)) {
      throw new KafkaOptionError(`'assign' must map each topic to a list of partition numbers, e.g. {"topicA":[0,1]}; got ${JSON.stringify(ps)} for '${topic}'.`);
    }
    for (const p of ps as number[]) partitions.push({ topic, partition: p });
  }
  if (partitions.length === 0) throw new KafkaOptionError("'assign' lists no partitions.");
  return { kind: 'assign', partitions };
}

function parseJsonOption(key: string, v: string, example: string): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(v);
  } catch {
    throw new KafkaOptionError(`Option '${key}' must be JSON like ${example}, got '${v}'.`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new KafkaOptionError(`Option '${key}' must be a JSON object like ${example}, got '${v}'.`);
  return j as Record<string, unknown>;
}

function perPartitionJson(key: string, v: string, example: string): Record<string, Record<string, number>> {
  const j = parseJsonOption(key, v, example);
  const out: Record<string, Record<string, number>> = {};
  for (const [topic, parts] of Object.entries(j)) {
    if (typeof parts !== 'object' || parts === null || Array.isArray(parts)) {
      throw new KafkaOptionError(`Option '${key}' must map each topic to {"partition": number}, like ${example}.`);
    }
    out[topic] = {};
    for (const [p, n] of Object.entries(parts as Record<string, unknown>)) {
      if (!/^\d+$/.test(p) || typeof n !== 'number' || !Number.isInteger(n)) {
        throw new KafkaOptionError(`Option '${key}' has a bad entry "${p}": ${JSON.stringify(n)} for topic '${topic}'; expected like ${example}.`);
      }
      out[topic]![p] = n;
    }
  }
  return out;
}

/** `startingOffsets`/`endingOffsets` with their by-timestamp variants; timestamps win, as in Spark. */
function parseOffsetSpec(o: Opts, which: 'starting' | 'ending', dflt: OffsetSpec | null): OffsetSpec | null {
  const global = o.get(`${which}Timestamp`);
  if (global !== undefined) {
    const n = Number(global.trim());
    if (!Number.isInteger(n) || n < 0) throw new KafkaOptionError(`Option '${which}Timestamp' must be epoch milliseconds, got '${global}'.`);
    return { kind: 'timestamp', timestamp: n };
  }
  const byTs = o.get(`${which}OffsetsByTimestamp`);
  if (byTs !== undefined) {
    return { kind: 'timestamps', timestamps: perPartitionJson(`${which}OffsetsByTimestamp`, byTs, '{"topicA":{"0":1700000000000}}') };
  }
  const v = o.get(`${which}Offsets`);
  if (v === undefined) return dflt;
  const s = v.trim().toLowerCase();
  if (s === 'earliest') return { kind: 'earliest' };
  if (s === 'latest') return { kind: 'latest' };
  return { kind: 'offsets', offsets: perPartitionJson(`${which}Offsets`, v, '{"topicA":{"0":23,"1":-2}}') };
}

function fetchSettings(o: Opts): FetchSettings {
  const iso = (o.get('kafka.isolation.level') ?? 'read_committed').trim().toLowerCase();
  if (iso !== 'read_committed' && iso !== 'read_uncommitted') {
    throw new KafkaOptionError(`kafka.isolation.level must be 'read_committed' or 'read_uncommitted', got '${iso}'.`);
  }
  return {
    isolation: iso === 'read_committed' ? READ_COMMITTED : READ_UNCOMMITTED,
    maxBytes: intOpt(o, 'kafka.fetch.max.bytes', 52_428_800, 1),
    partitionMaxBytes: intOpt(o, 'kafka.max.partition.fetch.bytes', 1_048_576, 1),
    maxWaitMs: intOpt(o, 'kafka.fetch.max.wait.ms', 500, 0),
    failOnDataLoss: boolOpt(o, 'failOnDataLoss', true),
    includeHeaders: boolOpt(o, 'includeHeaders', false),
  };
}

/**
 * The options of `readStream.format('kafka')` (`batch: false`) or `read.format('kafka')` (`batch: true`).
 *
 * @example
 * parseSourceOptions({ 'kafka.bootstrap.servers': 'localhost:9092', subscribe: 'orders' }, false).startingOffsets; // { kind: 'latest' }
 */
export function parseSourceOptions(raw: Readonly<Record<string, string>>, batch: boolean): KafkaSourceOptions {
  checkKafkaParams(raw, 'source');
  const o = new Opts(raw);
  const startingOffsets = parseOffsetSpec(o, 'starting', batch ? { kind: 'earliest' } : { kind: 'latest' })!;
  const endingOffsets = parseOffsetSpec(o, 'ending', batch ? { kind: 'latest' } : null);
  if (batch) {
    if (startingOffsets.kind === 'latest') throw new KafkaOptionError("Starting offset can't be latest for batch queries on Kafka: use 'earliest', JSON offsets or a timestamp.");
    if (startingOffsets.kind === 'offsets' && Object.values(startingOffsets.offsets).some((ps) => Object.values(ps).includes(-1))) {
      throw new KafkaOptionError("Starting offset for a partition can't be latest (-1) in batch queries on Kafka.");
    }
  }
  if (endingOffsets?.kind === 'earliest') throw new KafkaOptionError("Ending offset can't be earliest for queries on Kafka: use 'latest', JSON offsets or a timestamp.");
  if (endingOffsets?.kind === 'offsets' && Object.values(endingOffsets.offsets).some((ps) => Object.values(ps).includes(-2))) {
    throw new KafkaOptionError("Ending offset for a partition can't be earliest (-2) in queries on Kafka.");
  }
  const strategy = (o.get('startingOffsetsByTimestampStrategy') ?? 'error').trim().toLowerCase();
  if (strategy !== 'error' && strategy !== 'latest') {
    throw new KafkaOptionError(`startingOffsetsByTimestampStrategy must be 'error' or 'latest', got '${strategy}'.`);
  }
  const max = o.has('maxOffsetsPerTrigger') ? intOpt(o, 'maxOffsetsPerTrigger', 0, 1) : null;
  const min = o.has('minOffsetsPerTrigger') ? intOpt(o, 'minOffsetsPerTrigger', 0, 1) : null;
  if (min !== null && max !== null && min > max) {
    throw new KafkaOptionError(`minOffsetsPerTrigger (${min}) cannot be larger than maxOffsetsPerTrigger (${max}).`);
  }
  let maxTriggerDelayMs = 15 * 60_000;
  const delay = o.get('maxTriggerDelay');
  if (delay !== undefined) {
    try {
      maxTriggerDelayMs = parseDuration(/^\s*\d+\s*$/.test(delay) ? Number(delay) : delay, 'maxTriggerDelay');
    } catch (e) {
      throw new KafkaOptionError(`maxTriggerDelay: ${(e as Error).message}`);
    }
  }
  return {
    client: clientOptions(o, 'source'),
    subscription: parseSubscription(o),
    startingOffsets,
    endingOffsets,
    timestampStrategy: strategy,
    maxOffsetsPerTrigger: max,
    minOffsetsPerTrigger: min,
    maxTriggerDelayMs,
    fetch: fetchSettings(o),
  };
}

/**
 * The options the Kafka sink reads. A `kafka.*` producer setting outside this list is refused rather than ignored:
 * sluice's client does not implement it.
 */
export const KAFKA_SINK_OPTIONS: readonly string[] = ['topic', 'deliveryGuarantee', ...[...KAFKA_PARAMS.sink].map((p) => `kafka.${p}`)];

const SOURCE_ONLY_OPTIONS = [
  'subscribe', 'subscribepattern', 'assign', 'startingoffsets', 'endingoffsets', 'startingoffsetsbytimestamp',
  'endingoffsetsbytimestamp', 'startingtimestamp', 'endingtimestamp', 'startingoffsetsbytimestampstrategy', 'maxoffsetspertrigger',
  'minoffsetspertrigger', 'maxtriggerdelay', 'failondataloss', 'includeheaders', 'groupidprefix', 'kafka.group.id',
  'kafka.isolation.level', 'kafka.fetch.max.bytes', 'kafka.fetch.max.wait.ms', 'kafka.max.partition.fetch.bytes',
  'fetchoffset.numretries', 'fetchoffset.retryintervalms', 'kafkaconsumer.polltimeoutms',
];

/**
 * The options of `writeStream.format('kafka')` and `df.write.format('kafka')`.
 *
 * @example
 * parseSinkOptions({ 'kafka.bootstrap.servers': 'localhost:9092', topic: 'out', deliveryGuarantee: 'exactly-once' }).deliveryGuarantee;
 */
export function parseSinkOptions(raw: Readonly<Record<string, string>>): KafkaSinkOptions {
  checkKafkaParams(raw, 'sink');
  checkOptionNames('Kafka sink', raw, {
    known: KAFKA_SINK_OPTIONS,
    elsewhere: (k) =>
      SOURCE_ONLY_OPTIONS.includes(k.toLowerCase())
        ? `Option '${k}' is a Kafka source option; the Kafka sink does not read it. Sink options: ${KAFKA_SINK_OPTIONS.join(', ')}.`
        : null,
  });
  const o = new Opts(raw);
  const dg = (o.get('deliveryGuarantee') ?? 'at-least-once').trim().toLowerCase().replace(/_/g, '-');
  if (dg !== 'at-least-once' && dg !== 'exactly-once' && dg !== 'at-most-once') {
    throw new KafkaOptionError(`deliveryGuarantee must be 'at-least-once', 'exactly-once' or 'at-most-once', got '${dg}'.`);
  }
  const acksRaw = (o.get('kafka.acks') ?? 'all').trim().toLowerCase();
  const acks = acksRaw === 'all' || acksRaw === '-1' ? -1 : acksRaw === '1' ? 1 : acksRaw === '0' ? 0 : null;
  if (acks === null) throw new KafkaOptionError(`kafka.acks must be 'all', '1' or '0', got '${acksRaw}'.`);
  if (dg === 'exactly-once' && acks !== -1) throw new KafkaOptionError("deliveryGuarantee 'exactly-once' needs kafka.acks=all.");
  const comp = (o.get('kafka.compression.type') ?? 'none').trim().toLowerCase();
  if (comp !== 'none' && comp !== 'gzip') throw new KafkaOptionError(`kafka.compression.type must be 'none' or 'gzip', got '${comp}'.`);
  const topic = o.get('topic');
  return {
    client: clientOptions(o, 'sink'),
    topic: topic !== undefined && topic.trim() !== '' ? topic.trim() : null,
    deliveryGuarantee: dg,
    transactionalId: o.get('kafka.transactional.id') ?? null,
    transactionTimeoutMs: intOpt(o, 'kafka.transaction.timeout.ms', 60_000, 1),
    acks,
    compression: comp,
    sendBatchSize: intOpt(o, 'kafka.batch.num.messages', 10_000, 1),
    maxRequestBytes: intOpt(o, 'kafka.max.request.size', 1_000_000, 1_024),
  };
}
