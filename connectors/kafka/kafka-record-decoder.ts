/**
 * Decodes Kafka record batches (message format v2) from a Fetch response straight into Arrow column buffers: key and
 * value as binary (offsets + bytes), topic, partition, offset, timestamp, timestampType and optionally headers. No JS
 * object per record. Transactional data follows the isolation level: with read_committed, batches of aborted
 * transactions are dropped using the response's aborted-transaction list (Kafka's `Fetcher` algorithm); control
 * batches (commit/abort markers) are always skipped but still advance the position, so a range that ends in markers
 * completes. Compressed batches are decoded by `kafka-codecs.ts` (gzip, snappy, lz4; zstd on Node ≥ 22.15).
 *
 * @module
 */
import { Binary, Int32, Int64, List, Struct, TimestampMillisecond, Utf8, Field as ArrowField, makeData, type Data, type RecordBatch } from 'apache-arrow';
import { field, schemaOf, structType, type Schema } from '../../engine/types/data-type.js';
import { batchFromColumns } from '../../engine/types/values.js';
import { bitmapFromValid } from '../../engine/kernels/vec.js';
import type { AbortedTransaction } from './kafka-protocol.js';
import { CODEC_NAMES, decompress, KafkaCodecError } from './kafka-codecs.js';

/** The header struct of the `headers` column: `{ key: string, value: binary }`. */
export const KAFKA_HEADER_TYPE = structType([field('key', 'string', false), field('value', 'binary', true)]);

/**
 * The rows of the Kafka source, as Spark's: key, value (binary), topic, partition, offset, timestamp, timestampType
 * (0 = CreateTime, 1 = LogAppendTime) and, with `includeHeaders`, headers.
 *
 * @example
 * kafkaSourceSchema(false).fields.map((f) => f.name); // ['key', 'value', 'topic', 'partition', 'offset', 'timestamp', 'timestampType']
 */
export function kafkaSourceSchema(includeHeaders: boolean): Schema {
  const fields = [
    field('key', 'binary', true),
    field('value', 'binary', true),
    field('topic', 'string', false),
    field('partition', 'int', false),
    field('offset', 'long', false),
    field('timestamp', 'timestamp', false),
    field('timestampType', 'int', false),
  ];
  if (includeHeaders) fields.push(field('headers', { kind: 'array', element: KAFKA_HEADER_TYPE }, true));
  return schemaOf(fields);
}

/** A record batch used a compression codec sluice cannot decode, or the data is not message format v2. */
export class KafkaDecodeError extends Error {
  override readonly name = 'KafkaDecodeError';
}

const TWO32 = 4294967296;
const utf8 = new TextEncoder();

/** A growable byte column (Arrow binary/utf8 layout). */
class ByteColumn {
  offsets: Int32Array;
  bytes: Uint8Array;
  valid: Uint8Array;
  byteLen = 0;
  nulls = 0;
  constructor(rows: number, bytes: number) {
    this.offsets = new Int32Array(rows + 1);
    this.bytes = new Uint8Array(Math.max(64, bytes));
    this.valid = new Uint8Array(rows);
  }
  growRows(cap: number): void {
    const o = new Int32Array(cap + 1);
    o.set(this.offsets);
    this.offsets = o;
    const v = new Uint8Array(cap);
    v.set(this.valid);
    this.valid = v;
  }
  reserve(n: number): void {
    if (this.byteLen + n <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < this.byteLen + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.bytes.subarray(0, this.byteLen));
    this.bytes = b;
  }
  /** Appends `src[from, from+len)` as row `row`, or a null when `len < 0`. */
  put(row: number, src: Uint8Array, from: number, len: number): void {
    if (len < 0) {
      this.valid[row] = 0;
      this.nulls++;
    } else {
      this.valid[row] = 1;
      this.reserve(len);
      const dst = this.bytes;
      let o = this.byteLen;
      if (len < 48) {
        for (let k = 0; k < len; k++) dst[o++] = src[from + k]!;
      } else {
        dst.set(src.subarray(from, from + len), o);
        o += len;
      }
      this.byteLen = o;
    }
    this.offsets[row + 1] = this.byteLen;
  }
  data(type: Binary | Utf8, length: number): Data {
    const [nullBitmap, nullCount] = bitmapFromValid(this.nulls > 0 ? this.valid.subarray(0, length) : null, length);
    return makeData({
      type,
      length,
      nullCount,
      nullBitmap,
      valueOffsets: this.offsets.slice(0, length + 1),
      data: this.bytes.slice(0, this.byteLen),
    } as never) as Data;
  }
}

/** What the decoder tracks per partition while reading `[pos, end)`. */
export interface PartitionCursor {
  readonly topicIndex: number;
  readonly partition: number;
  /** The next offset to read. */
  pos: number;
  /** Stop before this offset. */
  readonly end: number;
}

/** What one call of `decode` found. */
export interface DecodeResult {
  /** Rows appended. */
  readonly rows: number;
  /** A record batch at the end of the data was cut off by the fetch size limit: this many bytes would hold it. */
  readonly truncatedBatchBytes: number;
}

/**
 * Accumulates Kafka records of one or more partitions into column buffers; `finish()` makes one Arrow `RecordBatch`
 * in the layout of `kafkaSourceSchema`.
 *
 * @example
 * const cols = new KafkaRecordColumns(['orders'], false);
 * cols.decode(fetched.buf, fetched.start, fetched.end, cursor, null);
 * const batch = cols.finish();
 */
export class KafkaRecordColumns {
  length = 0;
  private cap: number;
  private readonly key: ByteColumn;
  private readonly value: ByteColumn;
  private topic: Int32Array;
  private partition: Int32Array;
  /** Int64 offsets and timestamps as little-endian 32-bit word pairs. */
  private offset: Int32Array;
  private ts: Int32Array;
  private tsType: Int32Array;
  private headerRows: Int32Array | null;
  private readonly hKey: ByteColumn | null;
  private readonly hValue: ByteColumn | null;
  private headerCount = 0;
  private readonly topicBytes: Uint8Array[];
  readonly schema: Schema;

  constructor(
    readonly topics: readonly string[],
    readonly includeHeaders: boolean,
    capacity = 4096,
  ) {
    this.cap = capacity;
    this.key = new ByteColumn(capacity, capacity * 8);
    this.value = new ByteColumn(capacity, capacity * 64);
    this.topic = new Int32Array(capacity);
    this.partition = new Int32Array(capacity);
    this.offset = new Int32Array(capacity * 2);
    this.ts = new Int32Array(capacity * 2);
    this.tsType = new Int32Array(capacity);
    this.headerRows = includeHeaders ? new Int32Array(capacity + 1) : null;
    this.hKey = includeHeaders ? new ByteColumn(64, 256) : null;
    this.hValue = includeHeaders ? new ByteColumn(64, 256) : null;
    this.topicBytes = topics.map((t) => utf8.encode(t));
    this.schema = kafkaSourceSchema(includeHeaders);
  }

  private growRows(): void {
    const cap = this.cap * 2;
    this.key.growRows(cap);
    this.value.growRows(cap);
    this.topic = grow32(this.topic, cap);
    this.partition = grow32(this.partition, cap);
    this.offset = grow32(this.offset, cap * 2);
    this.ts = grow32(this.ts, cap * 2);
    this.tsType = grow32(this.tsType, cap);
    if (this.headerRows) this.headerRows = grow32(this.headerRows, cap + 1);
    this.cap = cap;
  }

  private growHeaders(): void {
    const cap = this.hKey!.valid.length * 2;
    this.hKey!.growRows(cap);
    this.hValue!.growRows(cap);
  }

  /**
   * Decodes the record batches in `buf[start, end)` of the partition `c`, appending the records in `[c.pos, c.end)`
   * and moving `c.pos` past every batch read (markers and aborted batches included). `aborted` is the Fetch
   * response's aborted-transaction list under read_committed, else null.
   */
  decode(buf: Uint8Array, start: number, end: number, c: PartitionCursor, aborted: readonly AbortedTransaction[] | null): DecodeResult {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const before = this.length;
    let p = start;
    let abortQueue: AbortedTransaction[] | null = null;
    let abortedPids: Set<number> | null = null;
    if (aborted !== null && aborted.length > 0) {
      abortQueue = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
      abortedPids = new Set();
    }
    let truncated = 0;
    while (p + 12 <= end && c.pos < c.end) {
      const baseOffset = i64(dv, p);
      const batchLength = dv.getInt32(p + 8);
      const batchEnd = p + 12 + batchLength;
      if (batchEnd > end || batchLength < 49) {
        truncated = 12 + batchLength;
        break;
      }
      const magic = dv.getInt8(p + 16);
      if (magic !== 2) {
        throw new KafkaDecodeError(
          `Partition ${this.topics[c.topicIndex]}-${c.partition} holds records in message format v${magic} at offset ${baseOffset}; ` +
            `sluice reads format v2 (Kafka ≥ 0.11). Convert the topic (message.format.version) or read it with another client.`,
        );
      }
      const attrs = dv.getInt16(p + 21);
      const lastOffset = baseOffset + dv.getInt32(p + 23);
      if (lastOffset < c.pos) {
        p = batchEnd;
        continue;
      }
      const producerId = i64(dv, p + 43);
      const isTxn = (attrs & 0x10) !== 0;
      const isControl = (attrs & 0x20) !== 0;
      if (abortQueue !== null) {
        while (abortQueue.length > 0 && abortQueue[0]!.firstOffset <= lastOffset) abortedPids!.add(abortQueue.shift()!.producerId);
      }
      if (isControl) {
        if (abortedPids !== null && abortedPids.has(producerId) && controlType(buf, p + 61, batchEnd) === 0) abortedPids.delete(producerId);
        c.pos = Math.min(lastOffset + 1, c.end);
        p = batchEnd;
        continue;
      }
      if (isTxn && abortedPids !== null && abortedPids.has(producerId)) {
        c.pos = Math.min(lastOffset + 1, c.end);
        p = batchEnd;
        continue;
      }
      const codec = attrs & 7;
      let rbuf: Uint8Array = buf;
      let rp = p + 61;
      let rend = batchEnd;
      if (codec !== 0) {
        try {
          rbuf = decompress(codec, buf.subarray(p + 61, batchEnd));
        } catch (e) {
          const what = e instanceof KafkaCodecError ? e.message : String(e);
          throw new KafkaDecodeError(
            `Partition ${this.topics[c.topicIndex]}-${c.partition}: the ${CODEC_NAMES[codec] ?? `codec ${codec}`} record batch at offset ${baseOffset} cannot be decoded: ${what}`,
          );
        }
        rp = 0;
        rend = rbuf.length;
      }
      const logAppend = (attrs & 0x08) !== 0;
      const baseTs = i64(dv, p + 27);
      const maxTs = i64(dv, p + 35);
      const count = dv.getInt32(p + 57);
      this.readRecords(rbuf, rp, rend, count, baseOffset, logAppend ? maxTs : baseTs, logAppend, c);
      c.pos = Math.min(lastOffset + 1, c.end);
      p = batchEnd;
    }
    return { rows: this.length - before, truncatedBatchBytes: truncated };
  }

  private readRecords(b: Uint8Array, p: number, end: number, count: number, baseOffset: number, baseTs: number, logAppend: boolean, c: PartitionCursor): void {
    const tsType = logAppend ? 1 : 0;
    for (let r = 0; r < count && p < end; r++) {
      // length varint, attributes int8, timestampDelta varlong, offsetDelta varint, key, value, headers
      let x = b[p++]!;
      let len = x & 0x7f;
      if (x >= 0x80) {
        let shift = 7;
        do {
          x = b[p++]!;
          len |= (x & 0x7f) << shift;
          shift += 7;
        } while (x >= 0x80);
      }
      len = (len >>> 1) ^ -(len & 1);
      const recEnd = p + len;
      p++; // attributes
      // timestampDelta (varlong, zigzag)
      let raw = 0;
      let mul = 1;
      do {
        x = b[p++]!;
        raw += (x & 0x7f) * mul;
        mul *= 128;
      } while (x >= 0x80);
      const tsDelta = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      // offsetDelta
      x = b[p++]!;
      let od = x & 0x7f;
      if (x >= 0x80) {
        let shift = 7;
        do {
          x = b[p++]!;
          od |= (x & 0x7f) << shift;
          shift += 7;
        } while (x >= 0x80);
      }
      od = (od >>> 1) ^ -(od & 1);
      const offset = baseOffset + od;
      if (offset < c.pos) {
        p = recEnd;
        continue;
      }
      if (offset >= c.end) return;
      const row = this.length;
      if (row === this.cap) this.growRows();
      // key
      x = b[p++]!;
      let kl = x & 0x7f;
      if (x >= 0x80) {
        let shift = 7;
        do {
          x = b[p++]!;
          kl |= (x & 0x7f) << shift;
          shift += 7;
        } while (x >= 0x80);
      }
      kl = (kl >>> 1) ^ -(kl & 1);
      this.key.put(row, b, p, kl);
      if (kl > 0) p += kl;
      // value
      x = b[p++]!;
      let vl = x & 0x7f;
      if (x >= 0x80) {
        let shift = 7;
        do {
          x = b[p++]!;
          vl |= (x & 0x7f) << shift;
          shift += 7;
        } while (x >= 0x80);
      }
      vl = (vl >>> 1) ^ -(vl & 1);
      this.value.put(row, b, p, vl);
      if (vl > 0) p += vl;
      if (this.headerRows !== null) p = this.readHeaders(b, p, row);
      this.topic[row] = c.topicIndex;
      this.partition[row] = c.partition;
      this.offset[2 * row] = offset >>> 0;
      this.offset[2 * row + 1] = Math.floor(offset / TWO32);
      const ts = logAppend ? baseTs : baseTs + tsDelta;
      this.ts[2 * row] = ts >>> 0;
      this.ts[2 * row + 1] = Math.floor(ts / TWO32);
      this.tsType[row] = tsType;
      this.length = row + 1;
      p = recEnd;
    }
  }

  private readHeaders(b: Uint8Array, p: number, row: number): number {
    const cur = { p };
    const n = zigzag(b, cur);
    const hk = this.hKey!;
    const hv = this.hValue!;
    for (let i = 0; i < n; i++) {
      if (this.headerCount === hk.valid.length) this.growHeaders();
      const kl = zigzag(b, cur);
      hk.put(this.headerCount, b, cur.p, kl);
      cur.p += Math.max(kl, 0);
      const vl = zigzag(b, cur);
      hv.put(this.headerCount, b, cur.p, vl);
      cur.p += Math.max(vl, 0);
      this.headerCount++;
    }
    this.headerRows![row + 1] = this.headerCount;
    return cur.p;
  }

  /** The rows so far as one `RecordBatch`; the builder is then empty (and keeps its buffers' sizes). */
  finish(): RecordBatch {
    const n = this.length;
    const cols: Data[] = [
      this.key.data(new Binary(), n),
      this.value.data(new Binary(), n),
      this.topicData(n),
      makeData({ type: new Int32(), length: n, data: this.partition.slice(0, n) }),
      makeData({ type: new Int64(), length: n, data: new BigInt64Array(this.offset.slice(0, 2 * n).buffer) }),
      makeData({ type: new TimestampMillisecond('UTC'), length: n, data: new BigInt64Array(this.ts.slice(0, 2 * n).buffer) } as never) as Data,
      makeData({ type: new Int32(), length: n, data: this.tsType.slice(0, n) }),
    ];
    if (this.headerRows !== null) cols.push(this.headersData(n));
    const batch = batchFromColumns(this.schema, cols, n);
    this.length = 0;
    this.key.byteLen = this.key.nulls = 0;
    this.value.byteLen = this.value.nulls = 0;
    this.headerCount = 0;
    if (this.hKey) this.hKey.byteLen = this.hKey.nulls = 0;
    if (this.hValue) this.hValue.byteLen = this.hValue.nulls = 0;
    return batch;
  }

  private topicData(n: number): Data {
    const lens = this.topicBytes.map((t) => t.length);
    let total = 0;
    for (let i = 0; i < n; i++) total += lens[this.topic[i]!]!;
    const bytes = new Uint8Array(total);
    const offsets = new Int32Array(n + 1);
    let o = 0;
    for (let i = 0; i < n; i++) {
      const t = this.topicBytes[this.topic[i]!]!;
      bytes.set(t, o);
      o += t.length;
      offsets[i + 1] = o;
    }
    return makeData({ type: new Utf8(), length: n, valueOffsets: offsets, data: bytes });
  }

  private headersData(n: number): Data {
    const h = this.headerCount;
    const keyType = new Utf8();
    const structT = new Struct([new ArrowField('key', keyType, false), new ArrowField('value', new Binary(), true)]);
    const child = makeData({ type: structT, length: h, nullCount: 0, children: [this.hKey!.data(keyType, h), this.hValue!.data(new Binary(), h)] });
    return makeData({
      type: new List(new ArrowField('element', structT, true)),
      length: n,
      nullCount: 0,
      valueOffsets: this.headerRows!.slice(0, n + 1),
      child,
    });
  }
}

function grow32(a: Int32Array, cap: number): Int32Array {
  const b = new Int32Array(cap);
  b.set(a);
  return b;
}

function i64(dv: DataView, p: number): number {
  return dv.getInt32(p) * TWO32 + dv.getUint32(p + 4);
}

function zigzag(b: Uint8Array, cur: { p: number }): number {
  let raw = 0;
  let mul = 1;
  let x: number;
  do {
    x = b[cur.p++]!;
    raw += (x & 0x7f) * mul;
    mul *= 128;
  } while (x >= 0x80);
  return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
}

/** The type of the control record in a control batch: 0 = abort, 1 = commit (key: version int16, type int16). */
function controlType(b: Uint8Array, p: number, end: number): number {
  const cur = { p };
  zigzag(b, cur); // length
  cur.p++; // attributes
  zigzag(b, cur); // timestamp delta
  zigzag(b, cur); // offset delta
  const kl = zigzag(b, cur);
  if (kl < 4 || cur.p + 4 > end) return -1;
  return (b[cur.p + 2]! << 8) | b[cur.p + 3]!;
}
