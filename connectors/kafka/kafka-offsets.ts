/**
 * The Kafka source's offsets and the pure decisions made on them: the JSON form logged in `offsets/N` (Spark's:
 * `{"topic":{"0":23,"1":42}}`, each number the next offset to read), the per-trigger rate limit, and lag metrics.
 *
 * @module
 */
import type { Offset } from '../../engine/io/source.js';
import { tpKey } from './kafka-client.js';

/** Offsets by `tpKey` (`topic:partition`). */
export type PartitionOffsets = ReadonlyMap<string, number>;

/** `topic:partition` → `{ topic, partition }`. */
export function splitTp(key: string): { topic: string; partition: number } {
  const i = key.lastIndexOf(':');
  return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) };
}

/** Sorted by topic, then partition number. */
export function sortedTps(keys: Iterable<string>): string[] {
  return [...keys].sort((a, b) => {
    const x = splitTp(a);
    const y = splitTp(b);
    return x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition;
  });
}

/**
 * The JSON logged for offsets: topics in name order, partitions in number order (so equal offsets give equal text).
 *
 * @example
 * offsetJson(new Map([['t:1', 5], ['t:0', 3]])); // { t: { '0': 3, '1': 5 } }
 */
export function offsetJson(m: PartitionOffsets): Offset {
  const out: Record<string, Record<string, number>> = {};
  for (const k of sortedTps(m.keys())) {
    const { topic, partition } = splitTp(k);
    (out[topic] ??= {})[String(partition)] = m.get(k)!;
  }
  return out;
}

/** The inverse of `offsetJson`; `null` gives an empty map. */
export function offsetsFromJson(o: Offset | null | undefined): Map<string, number> {
  const m = new Map<string, number>();
  if (o === null || o === undefined) return m;
  if (typeof o !== 'object' || Array.isArray(o)) throw new Error(`Not a Kafka source offset: ${JSON.stringify(o)}`);
  for (const [topic, parts] of Object.entries(o as Record<string, Record<string, number>>)) {
    for (const [p, n] of Object.entries(parts)) m.set(tpKey(topic, Number(p)), Number(n));
  }
  return m;
}

/**
 * Spark's `KafkaMicroBatchStream.rateLimit`: `limit` offsets are shared among partitions in proportion to what each
 * has to read; a share below 1 rounds up (no partition starves), others round down; never past `until`.
 *
 * @example
 * rateLimit(10, new Map([['t:0', 0], ['t:1', 0]]), new Map([['t:0', 100], ['t:1', 300]])); // t:0 → 2, t:1 → 7
 */
export function rateLimit(limit: number, from: PartitionOffsets, until: PartitionOffsets): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const [tp, end] of until) {
    const begin = from.get(tp);
    if (begin !== undefined && end - begin > 0) sizes.set(tp, end - begin);
  }
  let total = 0;
  for (const s of sizes.values()) total += s;
  const out = new Map(until);
  if (total < 1) return out;
  for (const [tp, end] of until) {
    const size = sizes.get(tp);
    if (size === undefined) continue;
    const prorate = limit * (size / total);
    const n = prorate < 1 ? Math.ceil(prorate) : Math.floor(prorate);
    out.set(tp, Math.min(end, from.get(tp)! + n));
  }
  return out;
}

/** How many offsets lie between `from` and `until`, over every partition (negative gaps count 0). */
export function offsetsBetween(from: PartitionOffsets, until: PartitionOffsets): number {
  let n = 0;
  for (const [tp, end] of until) n += Math.max(0, end - (from.get(tp) ?? 0));
  return n;
}

/**
 * Lag of a batch's end behind the latest offsets, as Spark reports it in `sources[i].metrics` (min/max/avg
 * OffsetsBehindLatest), plus the total and the partition that lags most.
 *
 * @example
 * lagMetrics(new Map([['t:0', 5]]), new Map([['t:0', 9]])).maxOffsetsBehindLatest; // '4'
 */
export function lagMetrics(end: PartitionOffsets, latest: PartitionOffsets): Record<string, string> {
  const lags: [string, number][] = [];
  for (const [tp, l] of latest) {
    const e = end.get(tp);
    if (e !== undefined) lags.push([tp, Math.max(0, l - e)]);
  }
  if (lags.length === 0) return {};
  let min = Infinity;
  let max = -1;
  let worst = '';
  let total = 0;
  for (const [tp, lag] of lags) {
    total += lag;
    if (lag < min) min = lag;
    if (lag > max) {
      max = lag;
      worst = tp;
    }
  }
  const { topic, partition } = splitTp(worst);
  return {
    minOffsetsBehindLatest: String(min),
    maxOffsetsBehindLatest: String(max),
    avgOffsetsBehindLatest: String(total / lags.length),
    totalOffsetsBehindLatest: String(total),
    maxOffsetsBehindLatestPartition: `${topic}-${partition}`,
  };
}
