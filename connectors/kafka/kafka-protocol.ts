/**
 * The few Kafka wire-protocol messages the Kafka source reads with, encoded and decoded by hand: Metadata v4,
 * ListOffsets v2, Fetch v5, FindCoordinator v1 and OffsetFetch v7. Pure functions over bytes, no I/O; the socket is in
 * `kafka-connection.ts`. Why not kafkajs: it has no `assign`, and its fetch path builds one JS object per record; here
 * a Fetch response stays one `Buffer` that `kafka-record-decoder.ts` turns straight into Arrow column buffers.
 *
 * Every version chosen is supported by brokers from Kafka 1.0 to 3.9 (4.0 removed only older ones).
 *
 * @module
 */

/** Kafka API keys used here. */
export const ApiKey = {
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
} as const;

/** Kafka error codes sluice reacts to (the full table is in Kafka's `Errors.java`). */
export const KafkaErrorCode = {
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  REPLICA_NOT_AVAILABLE: 9,
  NETWORK_EXCEPTION: 13,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  NOT_ENOUGH_REPLICAS: 19,
  KAFKA_STORAGE_ERROR: 56,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  OFFSET_NOT_AVAILABLE: 78,
  UNSTABLE_OFFSET_COMMIT: 88,
} as const;

const ERROR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(KafkaErrorCode).map(([k, v]) => [v, k]));

/** `UNKNOWN_TOPIC_OR_PARTITION (3)`. */
export function errorName(code: number): string {
  return `${ERROR_NAMES[code] ?? 'KAFKA_ERROR'} (${code})`;
}

/** Errors after which the same request may succeed once metadata is refreshed or the broker is back. */
export function isRetriable(code: number): boolean {
  switch (code) {
    case KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case KafkaErrorCode.LEADER_NOT_AVAILABLE:
    case KafkaErrorCode.NOT_LEADER_OR_FOLLOWER:
    case KafkaErrorCode.REQUEST_TIMED_OUT:
    case KafkaErrorCode.REPLICA_NOT_AVAILABLE:
    case KafkaErrorCode.NETWORK_EXCEPTION:
    case KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case KafkaErrorCode.COORDINATOR_NOT_AVAILABLE:
    case KafkaErrorCode.NOT_COORDINATOR:
    case KafkaErrorCode.NOT_ENOUGH_REPLICAS:
    case KafkaErrorCode.KAFKA_STORAGE_ERROR:
    case KafkaErrorCode.FENCED_LEADER_EPOCH:
    case KafkaErrorCode.UNKNOWN_LEADER_EPOCH:
    case KafkaErrorCode.OFFSET_NOT_AVAILABLE:
    case KafkaErrorCode.UNSTABLE_OFFSET_COMMIT:
      return true;
    default:
      return false;
  }
}

/** A broker answered a request with an error code. */
export class KafkaProtocolError extends Error {
  override readonly name = 'KafkaProtocolError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
  get retriable(): boolean {
    return isRetriable(this.code);
  }
}

/** ListOffsets timestamps with a special meaning. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;

/** `0`: every record in the log; `1`: only committed transactional records, up to the last stable offset. */
export type IsolationLevel = 0 | 1;
export const READ_UNCOMMITTED: IsolationLevel = 0;
export const READ_COMMITTED: IsolationLevel = 1;

const utf8 = new TextEncoder();
const TWO32 = 4294967296;

/** A growable big-endian byte writer. */
export class Writer {
  private buf = Buffer.allocUnsafe(256);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const b = Buffer.allocUnsafe(cap);
    this.buf.copy(b, 0, 0, this.length);
    this.buf = b;
  }
  int8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.length);
    this.length += 1;
    return this;
  }
  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }
  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.length);
    this.length += 2;
    return this;
  }
  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.length);
    this.length += 4;
    return this;
  }
  /** An int64 from a JS number (exact up to ±2^53: Kafka offsets and timestamps fit). */
  int64(v: number): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt(Math.trunc(v)), this.length);
    this.length += 8;
    return this;
  }
  uvarint(v: number): this {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.length++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.length++] = v;
    return this;
  }
  string(s: string): this {
    const b = utf8.encode(s);
    this.int16(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  nullableString(s: string | null): this {
    return s === null ? this.int16(-1) : this.string(s);
  }
  compactString(s: string): this {
    const b = utf8.encode(s);
    this.uvarint(b.length + 1);
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  /** An empty tagged-field section (flexible versions). */
  tags(): this {
    return this.uvarint(0);
  }
  array<T>(items: readonly T[] | null, each: (w: this, item: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const it of items) each(this, it);
    return this;
  }
  compactArray<T>(items: readonly T[] | null, each: (w: this, item: T) => void): this {
    if (items === null) return this.uvarint(0);
    this.uvarint(items.length + 1);
    for (const it of items) each(this, it);
    return this;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** A big-endian byte reader over one response. */
export class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    pos = 0,
  ) {
    this.pos = pos;
  }
  int8(): number {
    return this.buf.readInt8(this.pos++);
  }
  bool(): boolean {
    return this.int8() !== 0;
  }
  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  /** An int64 as a JS number (exact up to ±2^53). */
  int64(): number {
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * TWO32 + lo;
  }
  uvarint(): number {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  }
  string(): string {
    const n = this.int16();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  nullableString(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  compactNullableString(): string | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  skipTags(): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) {
      this.uvarint();
      this.pos += this.uvarint();
    }
  }
  array<T>(each: (r: this) => T): T[] {
    const n = this.int32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
  compactArray<T>(each: (r: this) => T): T[] {
    const n = this.uvarint() - 1;
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
}

/** A request body with the API it belongs to. */
export interface RequestBody {
  readonly apiKey: number;
  readonly apiVersion: number;
  /** Flexible versions (KIP-482) use request header v2 and response header v1. */
  readonly flexible: boolean;
  readonly body: Buffer;
}

/** The framed request: size, header (v1, or v2 for flexible versions), body. */
export function frameRequest(req: RequestBody, correlationId: number, clientId: string): Buffer {
  const w = new Writer().int32(0).int16(req.apiKey).int16(req.apiVersion).int32(correlationId).nullableString(clientId);
  if (req.flexible) w.tags();
  const head = w.bytes();
  const out = Buffer.allocUnsafe(head.length + req.body.length);
  head.copy(out, 0);
  req.body.copy(out, head.length);
  out.writeInt32BE(out.length - 4, 0);
  return out;
}

// ---------------------------------------------------------------- Metadata v4

export interface BrokerAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export interface PartitionMetadata {
  readonly partition: number;
  readonly errorCode: number;
  readonly leader: number;
}

export interface TopicMetadata {
  readonly name: string;
  readonly errorCode: number;
  readonly isInternal: boolean;
  readonly partitions: readonly PartitionMetadata[];
}

export interface MetadataResponse {
  readonly brokers: readonly BrokerAddress[];
  readonly topics: readonly TopicMetadata[];
}

/** Metadata of `topics` (null: every topic); never creates a topic. */
export function metadataRequest(topics: readonly string[] | null): RequestBody {
  const w = new Writer().array(topics, (w, t) => w.string(t)).bool(false);
  return { apiKey: ApiKey.Metadata, apiVersion: 4, flexible: false, body: w.bytes() };
}

export function decodeMetadata(buf: Buffer): MetadataResponse {
  const r = new Reader(buf);
  r.int32(); // throttle
  const brokers = r.array((r) => {
    const nodeId = r.int32();
    const host = r.string();
    const port = r.int32();
    r.nullableString(); // rack
    return { nodeId, host, port };
  });
  r.nullableString(); // cluster id
  r.int32(); // controller
  const topics = r.array((r) => {
    const errorCode = r.int16();
    const name = r.string();
    const isInternal = r.bool();
    const partitions = r.array((r) => {
      const errorCode = r.int16();
      const partition = r.int32();
      const leader = r.int32();
      r.array((r) => r.int32()); // replicas
      r.array((r) => r.int32()); // isr
      return { partition, errorCode, leader };
    });
    return { name, errorCode, isInternal, partitions };
  });
  return { brokers, topics };
}

// ---------------------------------------------------------------- ListOffsets v2

export interface ListOffsetsQuery {
  readonly topic: string;
  readonly partition: number;
  /** Epoch ms, or `LATEST_TIMESTAMP` / `EARLIEST_TIMESTAMP`. */
  readonly timestamp: number;
}

export interface ListOffsetsResult {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  /** The offset; -1 when a timestamp query found no record at or after the timestamp. */
  readonly offset: number;
}

export function listOffsetsRequest(queries: readonly ListOffsetsQuery[], isolation: IsolationLevel): RequestBody {
  const byTopic = groupByTopic(queries);
  const w = new Writer()
    .int32(-1)
    .int8(isolation)
    .array([...byTopic], (w, [topic, qs]) => {
      w.string(topic).array(qs, (w, q) => w.int32(q.partition).int64(q.timestamp));
    });
  return { apiKey: ApiKey.ListOffsets, apiVersion: 2, flexible: false, body: w.bytes() };
}

export function decodeListOffsets(buf: Buffer): ListOffsetsResult[] {
  const r = new Reader(buf);
  r.int32(); // throttle
  return r
    .array((r) => {
      const topic = r.string();
      return r.array((r) => {
        const partition = r.int32();
        const errorCode = r.int16();
        r.int64(); // timestamp
        const offset = r.int64();
        return { topic, partition, errorCode, offset };
      });
    })
    .flat();
}

// ---------------------------------------------------------------- Fetch v5

export interface FetchPartitionRequest {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly maxBytes: number;
}

export interface FetchOptions {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly isolation: IsolationLevel;
}

export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
}

/** One partition of a Fetch response; its records stay in the response buffer (`records[start, end)`). */
export interface FetchedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
  readonly aborted: readonly AbortedTransaction[] | null;
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
}

export function fetchRequest(parts: readonly FetchPartitionRequest[], o: FetchOptions): RequestBody {
  const byTopic = groupByTopic(parts);
  const w = new Writer()
    .int32(-1)
    .int32(o.maxWaitMs)
    .int32(o.minBytes)
    .int32(o.maxBytes)
    .int8(o.isolation)
    .array([...byTopic], (w, [topic, ps]) => {
      w.string(topic).array(ps, (w, p) => w.int32(p.partition).int64(p.offset).int64(-1).int32(p.maxBytes));
    });
  return { apiKey: ApiKey.Fetch, apiVersion: 5, flexible: false, body: w.bytes() };
}

export function decodeFetch(buf: Buffer): FetchedPartition[] {
  const r = new Reader(buf);
  r.int32(); // throttle
  const out: FetchedPartition[] = [];
  const topics = r.int32();
  for (let t = 0; t < topics; t++) {
    const topic = r.string();
    const n = r.int32();
    for (let i = 0; i < n; i++) {
      const partition = r.int32();
      const errorCode = r.int16();
      const highWatermark = r.int64();
      const lastStableOffset = r.int64();
      const logStartOffset = r.int64();
      const na = r.int32();
      let aborted: AbortedTransaction[] | null = null;
      if (na >= 0) {
        aborted = [];
        for (let k = 0; k < na; k++) aborted.push({ producerId: r.int64(), firstOffset: r.int64() });
      }
      const size = r.int32();
      const start = r.pos;
      const end = size < 0 ? start : start + size;
      r.pos = end;
      out.push({ topic, partition, errorCode, highWatermark, lastStableOffset, logStartOffset, aborted, buf, start, end });
    }
  }
  return out;
}

// ---------------------------------------------------------------- FindCoordinator v1

export interface CoordinatorResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly broker: BrokerAddress;
}

/** The coordinator of a consumer group (`keyType` 0) or a transactional id (1). */
export function findCoordinatorRequest(key: string, keyType: 0 | 1): RequestBody {
  return { apiKey: ApiKey.FindCoordinator, apiVersion: 1, flexible: false, body: new Writer().string(key).int8(keyType).bytes() };
}

export function decodeFindCoordinator(buf: Buffer): CoordinatorResult {
  const r = new Reader(buf);
  r.int32();
  const errorCode = r.int16();
  const errorMessage = r.nullableString();
  const nodeId = r.int32();
  const host = r.string();
  const port = r.int32();
  return { errorCode, errorMessage, broker: { nodeId, host, port } };
}

// ---------------------------------------------------------------- OffsetFetch v7

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  /** -1 when the group has no offset for the partition. */
  readonly offset: number;
  readonly metadata: string | null;
  readonly errorCode: number;
}

export interface OffsetFetchResult {
  readonly errorCode: number;
  readonly offsets: readonly CommittedOffset[];
}

/**
 * The committed offsets of a group (`topics` null: all). `requireStable` (KIP-447) makes the coordinator answer
 * UNSTABLE_OFFSET_COMMIT while a transactional offset commit of the group is still pending, instead of the old value.
 */
export function offsetFetchRequest(groupId: string, topics: readonly { topic: string; partitions: readonly number[] }[] | null, requireStable: boolean): RequestBody {
  const w = new Writer()
    .compactString(groupId)
    .compactArray(topics, (w, t) => {
      w.compactString(t.topic).compactArray(t.partitions, (w, p) => w.int32(p)).tags();
    })
    .bool(requireStable)
    .tags();
  return { apiKey: ApiKey.OffsetFetch, apiVersion: 7, flexible: true, body: w.bytes() };
}

export function decodeOffsetFetch(buf: Buffer): OffsetFetchResult {
  const r = new Reader(buf);
  r.int32(); // throttle
  const offsets = r
    .compactArray((r) => {
      const topic = r.compactNullableString() ?? '';
      const parts = r.compactArray((r) => {
        const partition = r.int32();
        const offset = r.int64();
        r.int32(); // leader epoch
        const metadata = r.compactNullableString();
        const errorCode = r.int16();
        r.skipTags();
        return { topic, partition, offset, metadata, errorCode };
      });
      r.skipTags();
      return parts;
    })
    .flat();
  const errorCode = r.int16();
  return { errorCode, offsets };
}

// ---------------------------------------------------------------- OffsetCommit v2

/** Commits one offset for a group without members (generation -1), as admin tools do. */
export function offsetCommitRequest(groupId: string, topic: string, partition: number, offset: number, metadata: string | null): RequestBody {
  const w = new Writer()
    .string(groupId)
    .int32(-1)
    .string('')
    .int64(-1)
    .array([topic], (w, t) => w.string(t).array([partition], (w, p) => w.int32(p).int64(offset).nullableString(metadata)));
  return { apiKey: ApiKey.OffsetCommit, apiVersion: 2, flexible: false, body: w.bytes() };
}

/** The first error code of an OffsetCommit v2 response (0 when all partitions were committed). */
export function decodeOffsetCommit(buf: Buffer): number {
  const r = new Reader(buf);
  const codes = r.array((r) => {
    r.string();
    return r.array((r) => {
      r.int32();
      return r.int16();
    });
  });
  return codes.flat().find((c) => c !== 0) ?? 0;
}

function groupByTopic<T extends { topic: string }>(items: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    let l = m.get(it.topic);
    if (!l) m.set(it.topic, (l = []));
    l.push(it);
  }
  return m;
}
