/**
 * Reads exact offset ranges `[start, end)` of many partitions into Arrow batches: one Fetch request per partition
 * leader per round, the next round sent before the current one is decoded (its positions come from a scan of the
 * record-batch headers), one `RecordBatch` per round. A range is done when its position reaches `end`, whatever
 * lies there (records, transaction markers, aborted data); data that is gone follows `failOnDataLoss`.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { tpKey, type KafkaClient } from './kafka-client.js';
import {
  EARLIEST_TIMESTAMP,
  errorName,
  isRetriable,
  KafkaErrorCode,
  KafkaProtocolError,
  READ_COMMITTED,
  type FetchedPartition,
  type FetchPartitionRequest,
} from './kafka-protocol.js';
import { KafkaRecordColumns, type PartitionCursor } from './kafka-record-decoder.js';
import type { FetchSettings } from './kafka-options.js';

/** Offsets the query must read are no longer in Kafka (and `failOnDataLoss` is true). */
export class KafkaDataLossError extends Error {
  override readonly name = 'KafkaDataLossError';
}

/** One partition's range: records with `start ≤ offset < end`. */
export interface OffsetRange {
  readonly topic: string;
  readonly partition: number;
  readonly start: number;
  readonly end: number;
}

/** Counters of what the fetcher did (summed over calls). */
export interface FetchStats {
  records: number;
  bytes: number;
  requests: number;
  /** Wall time spent waiting for Fetch responses. */
  waitMs: number;
  /** Wall time spent decoding into columns. */
  decodeMs: number;
  /** Offsets skipped because they were gone (failOnDataLoss=false). */
  lostOffsets: number;
}

export function newFetchStats(): FetchStats {
  return { records: 0, bytes: 0, requests: 0, waitMs: 0, decodeMs: 0, lostOffsets: 0 };
}

/** Spark's message for lost data, with the detail first. */
export function dataLossMessage(detail: string): string {
  return (
    `${detail} Some data may have been lost because they are not available in Kafka any more; either the data was aged ` +
    `out by Kafka or the topic may have been deleted before all the data in the topic was processed. If you don't want ` +
    `your streaming query to fail on such cases, set the source option "failOnDataLoss" to "false".`
  );
}

interface Cursor extends PartitionCursor {
  readonly topic: string;
  /** At least this many bytes per request: raised when a record batch did not fit. */
  floorBytes: number;
  /** Bytes per offset seen so far (0: unknown), to ask for little more than the range needs. */
  bytesPerOffset: number;
}

/**
 * The partition's byte budget for the next request: what the rest of its range needs (so a small batch does not
 * pull `max.partition.fetch.bytes` per partition), at least one whole record batch, at most the configured limit.
 */
function requestBytes(c: Cursor, from: number, s: FetchSettings): number {
  const need = c.bytesPerOffset === 0 ? s.partitionMaxBytes : Math.ceil((c.end - from) * c.bytesPerOffset * 1.25) + 16_384;
  return Math.max(c.floorBytes, Math.min(need, s.partitionMaxBytes), Math.min(65_536, s.partitionMaxBytes));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The records of `ranges` as Arrow batches in `kafkaSourceSchema` layout.
 *
 * @example
 * for await (const b of readRanges(client, [{ topic: 'orders', partition: 0, start: 0, end: 100 }], settings)) total += b.numRows;
 */
export async function* readRanges(
  client: KafkaClient,
  ranges: readonly OffsetRange[],
  s: FetchSettings,
  stats: FetchStats = newFetchStats(),
): AsyncIterable<RecordBatch> {
  const topics = [...new Set(ranges.map((r) => r.topic))].sort();
  const topicIndex = new Map(topics.map((t, i) => [t, i]));
  const cursors: Cursor[] = ranges
    .filter((r) => r.end > r.start)
    .map((r) => ({
      topic: r.topic,
      topicIndex: topicIndex.get(r.topic)!,
      partition: r.partition,
      pos: r.start,
      end: r.end,
      floorBytes: 0,
      bytesPerOffset: 0,
    }));
  if (cursors.length === 0) return;
  const cols = new KafkaRecordColumns(topics, s.includeHeaders, 8192);
  /** Where each cursor will be once the round in flight is decoded. */
  const planned = new Map<Cursor, number>(cursors.map((c) => [c, c.pos]));

  const open = () => cursors.filter((c) => planned.get(c)! < c.end);
  // A round travels while the previous one is decoded and consumed: mark it handled so a failure that arrives
  // meanwhile (or after the consumer stopped early) is not an unhandled rejection; awaiting it still throws.
  const send = (cs: readonly Cursor[]) => {
    const p = sendRound(client, cs, planned, s, stats);
    p.catch(() => {});
    return p;
  };
  let inFlight: Promise<Round> | null = send(open());
  let idleRounds = 0;
  let idleSince = 0;
  while (inFlight !== null) {
    const t0 = performance.now();
    const round = await inFlight;
    stats.waitMs += performance.now() - t0;
    // Plan the next round from the record-batch headers, send it, then decode this one while it travels.
    for (const { cursor, part } of round.parts) await plan(client, cursor, part, planned, s, stats);
    const next = open();
    const progressed = round.parts.some(({ cursor, part }) => part.end > part.start || planned.get(cursor)! >= cursor.end);
    idleRounds = progressed ? 0 : idleRounds + 1;
    if (idleRounds === 1) idleSince = Date.now();
    if (idleRounds > 0) {
      if (Date.now() - idleSince > client.o.reconnectTimeoutMs) {
        const stuck = next.map((c) => `${c.topic}-${c.partition}@${planned.get(c)}`).join(', ');
        throw new KafkaProtocolError(
          KafkaErrorCode.REQUEST_TIMED_OUT,
          `Reading from Kafka made no progress for ${client.o.reconnectTimeoutMs} ms (kafka.default.api.timeout.ms) on ${stuck}.`,
        );
      }
      await sleep(Math.min(50 * idleRounds, 1_000));
    }
    inFlight = next.length > 0 ? send(next) : null;
    const t1 = performance.now();
    for (const { cursor, part } of round.parts) {
      if (part.errorCode !== KafkaErrorCode.NONE || part.end === part.start) continue;
      cols.decode(part.buf, part.start, part.end, cursor, s.isolation === READ_COMMITTED ? part.aborted : null);
      stats.bytes += part.end - part.start;
    }
    // Skips decided while planning (lost data, markers past the data) move the cursor too.
    for (const c of cursors) if (planned.get(c)! > c.pos) c.pos = planned.get(c)!;
    stats.decodeMs += performance.now() - t1;
    if (cols.length > 0) {
      stats.records += cols.length;
      yield cols.finish();
    }
  }
}

interface Round {
  readonly parts: { cursor: Cursor; part: FetchedPartition }[];
}

function sendRound(client: KafkaClient, cursors: readonly Cursor[], planned: ReadonlyMap<Cursor, number>, s: FetchSettings, stats: FetchStats): Promise<Round> {
  return client.retrying('Fetching records from Kafka', async () => {
    const byLeader = new Map<number, Cursor[]>();
    for (const c of cursors) {
      const l = await client.leaderOf(c.topic, c.partition);
      let list = byLeader.get(l);
      if (!list) byLeader.set(l, (list = []));
      list.push(c);
    }
    const parts: { cursor: Cursor; part: FetchedPartition }[] = [];
    await Promise.all(
      [...byLeader].map(async ([leader, cs]) => {
        const reqs: FetchPartitionRequest[] = cs.map((c) => ({ topic: c.topic, partition: c.partition, offset: planned.get(c)!, maxBytes: requestBytes(c, planned.get(c)!, s) }));
        stats.requests++;
        const res = await client.fetch(leader, reqs, { maxWaitMs: s.maxWaitMs, minBytes: 1, maxBytes: s.maxBytes, isolation: s.isolation });
        const byKey = new Map(cs.map((c) => [tpKey(c.topic, c.partition), c]));
        for (const part of res) {
          const cursor = byKey.get(tpKey(part.topic, part.partition));
          if (cursor) parts.push({ cursor, part });
        }
      }),
    );
    return { parts };
  });
}

/**
 * Moves `planned` for one partition of a response: past every complete record batch (capped at `end`), or past data
 * that is gone. Retriable partition errors leave it where it is (the leader is looked up again).
 */
async function plan(client: KafkaClient, c: Cursor, part: FetchedPartition, planned: Map<Cursor, number>, s: FetchSettings, stats: FetchStats): Promise<void> {
  const pos = planned.get(c)!;
  const where = `${c.topic}-${c.partition}`;
  if (part.errorCode === KafkaErrorCode.OFFSET_OUT_OF_RANGE) {
    const bounds = await client.listOffsets([{ topic: c.topic, partition: c.partition, timestamp: EARLIEST_TIMESTAMP }], s.isolation);
    const earliest = bounds.get(tpKey(c.topic, c.partition))!.offset;
    if (pos < earliest) {
      const detail = `Offsets [${pos}, ${Math.min(earliest, c.end)}) of ${where} were deleted (the partition now starts at ${earliest}).`;
      if (s.failOnDataLoss) throw new KafkaDataLossError(dataLossMessage(detail));
      stats.lostOffsets += Math.min(earliest, c.end) - pos;
      planned.set(c, Math.min(earliest, c.end));
      return;
    }
    const detail = `Offsets [${pos}, ${c.end}) of ${where} are past the end of the partition: it was truncated or recreated.`;
    if (s.failOnDataLoss) throw new KafkaDataLossError(dataLossMessage(detail));
    stats.lostOffsets += c.end - pos;
    planned.set(c, c.end);
    return;
  }
  if (part.errorCode !== KafkaErrorCode.NONE) {
    if (isRetriable(part.errorCode)) {
      client.forgetLeader(c.topic, c.partition);
      return;
    }
    throw new KafkaProtocolError(part.errorCode, `Fetching ${where} from offset ${pos} failed: ${errorName(part.errorCode)}`);
  }
  let p = part.start;
  let next = pos;
  const b = part.buf;
  while (p + 12 <= part.end) {
    const len = b.readInt32BE(p + 8);
    if (p + 12 + len > part.end) break;
    const last = b.readInt32BE(p) * 4294967296 + b.readUInt32BE(p + 4) + b.readInt32BE(p + 23);
    if (last + 1 > next) next = last + 1;
    p += 12 + len;
  }
  if (next > pos) {
    c.bytesPerOffset = (p - part.start) / (next - pos);
    planned.set(c, Math.min(next, c.end));
    return;
  }
  // Nothing complete came back: a record batch larger than what was asked for, …
  if (p + 12 <= part.end) {
    c.floorBytes = Math.max(c.floorBytes, 12 + b.readInt32BE(p + 8));
    return;
  }
  // … or nothing at all. Past the readable end: the range cannot be read any more.
  const readableEnd = s.isolation === READ_COMMITTED ? part.lastStableOffset : part.highWatermark;
  if (part.end === part.start && readableEnd >= 0 && pos >= readableEnd) {
    const detail = `Offsets [${pos}, ${c.end}) of ${where} are not in Kafka: the partition ends at ${readableEnd}.`;
    if (s.failOnDataLoss) throw new KafkaDataLossError(dataLossMessage(detail));
    stats.lostOffsets += c.end - pos;
    planned.set(c, c.end);
  }
}
