/**
 * `readStream.format('kafka')`: Spark's Kafka source. Offsets live in sluice's offset log, one number per
 * topic-partition (the next offset to read), never in Kafka consumer-group commits, so a re-run batch reads exactly the
 * same records. No consumer group, no rebalancing: partitions are read by offset range (`kafka-fetcher.ts`).
 *
 * Isolation: sluice reads with `read_committed` by default (Spark's default is read_uncommitted). Offsets then stop
 * at the last stable offset, so an offset logged for a batch never covers a transaction that could still abort, and a
 * replay sees the same records; aborted records are never read. Set `kafka.isolation.level=read_uncommitted` for
 * Spark's behaviour.
 *
 * @module
 */
import { join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { ConcurrentUpdateError, readIfExists, writeOnce } from '../../engine/checkpoint/atomic-file.js';
import type { BatchScan, Offset, ReadLimit, SourceContext, StreamSource } from '../../engine/io/source.js';
import type { Schema } from '../../engine/types/data-type.js';
import { KafkaClient } from './kafka-client.js';
import { dataLossMessage, KafkaDataLossError, newFetchStats, readRanges, type FetchStats, type OffsetRange } from './kafka-fetcher.js';
import { KafkaOffsetReader } from './kafka-offset-reader.js';
import { lagMetrics, offsetJson, offsetsBetween, offsetsFromJson, rateLimit, splitTp, type PartitionOffsets } from './kafka-offsets.js';
import type { KafkaSourceOptions } from './kafka-options.js';
import { kafkaSourceSchema } from './kafka-record-decoder.js';

const INITIAL_OFFSETS_FILE = 'initialOffsets';

function ranges(from: PartitionOffsets, until: PartitionOffsets): OffsetRange[] {
  const out: OffsetRange[] = [];
  for (const [tp, end] of until) {
    // A partition the start does not know was added after it: read it from its beginning.
    const start = from.get(tp) ?? 0;
    if (end > start) out.push({ ...splitTp(tp), start, end });
  }
  return out;
}

function name(tp: string): string {
  return tp.replace(/:(\d+)$/, '-$1');
}

/**
 * @example
 * const df = session.readStream.format('kafka')
 *   .option('kafka.bootstrap.servers', 'localhost:9092').option('subscribe', 'orders')
 *   .option('maxOffsetsPerTrigger', 100000).load();
 */
export class KafkaSource implements StreamSource {
  readonly schema: Schema;
  readonly description: string;
  private client: KafkaClient | null = null;
  private reader: KafkaOffsetReader | null = null;
  private dir: string | null = null;
  private initial: Map<string, number> | null = null;
  private ending: Map<string, number> | null = null;
  private availableNowEnd: Map<string, number> | null = null;
  private latest: Map<string, number> = new Map();
  private lastTriggerMs = 0;
  /** Counters over the run; `batchStats` holds the last batch's share. */
  readonly stats: FetchStats = newFetchStats();
  private batchStats: FetchStats = newFetchStats();

  constructor(readonly o: KafkaSourceOptions) {
    this.schema = kafkaSourceSchema(o.fetch.includeHeaders);
    this.description = `KafkaSource[${KafkaOffsetReader.describe(o.subscription)}]`;
  }

  /** Connects (bounded retry: a wrong address fails the query at start with a clear error). */
  async open(ctx: SourceContext): Promise<void> {
    this.dir = ctx.metadataDir;
    this.client = new KafkaClient(this.o.client);
    this.reader = new KafkaOffsetReader(this.client, this.o.subscription, this.o.fetch.isolation);
    await this.client.connect();
  }

  private get r(): KafkaOffsetReader {
    if (!this.reader) throw new Error('The Kafka source is not open');
    return this.reader;
  }

  defaultReadLimit(): ReadLimit {
    const { minOffsetsPerTrigger: min, maxOffsetsPerTrigger: max, maxTriggerDelayMs } = this.o;
    if (min !== null) return max !== null ? { kind: 'minRows', min, max, maxTriggerDelayMs } : { kind: 'minRows', min, maxTriggerDelayMs };
    if (max !== null) return { kind: 'maxRows', max };
    return { kind: 'all' };
  }

  /**
   * The offsets the first batch starts from: resolved once from `startingOffsets` and kept in
   * `sources/<i>/initialOffsets`, so a restart before batch 0 commits starts from the same place (Spark does the same).
   */
  private async initialOffsets(): Promise<Map<string, number>> {
    if (this.initial) return this.initial;
    const file = this.dir ? join(this.dir, INITIAL_OFFSETS_FILE) : null;
    const saved = file ? await readIfExists(file) : null;
    if (saved) {
      this.initial = offsetsFromJson(JSON.parse(saved.toString('utf8')) as Offset);
      return this.initial;
    }
    const tps = await this.r.partitions();
    const resolved = await this.r.resolve(this.o.startingOffsets, tps, 'starting', this.o.timestampStrategy);
    if (file) {
      try {
        await writeOnce(file, JSON.stringify(offsetJson(resolved)));
      } catch (e) {
        if (!(e instanceof ConcurrentUpdateError)) throw e;
        return this.initialOffsets();
      }
    }
    this.initial = resolved;
    return resolved;
  }

  /** AvailableNow: read up to the offsets that are the latest now (or `endingOffsets`, if earlier). */
  async prepareForAvailableNow(): Promise<void> {
    const tps = await this.r.partitions();
    this.availableNowEnd = await this.r.latest(tps);
  }

  private async endingCap(tps: readonly string[]): Promise<Map<string, number> | null> {
    if (!this.o.endingOffsets) return null;
    this.ending ??= await this.r.resolve(this.o.endingOffsets, tps, 'ending', 'latest');
    return this.ending;
  }

  private reportDataLoss(detail: string): void {
    if (this.o.fetch.failOnDataLoss) throw new KafkaDataLossError(dataLossMessage(detail));
  }

  async latestOffset(start: Offset | null, limit: ReadLimit): Promise<Offset | null> {
    const from = start === null ? new Map(await this.initialOffsets()) : offsetsFromJson(start);
    let tps = await this.r.partitions();
    if ([...from.keys()].some((tp) => !tps.includes(tp))) {
      // A partition seems gone: ask again before calling it data loss (metadata can lag right after a broker restart).
      await new Promise((r) => setTimeout(r, 500));
      tps = await this.r.partitions();
    }
    const latest = await this.r.latest(tps);
    this.latest = latest;
    let until = new Map(latest);
    for (const cap of [await this.endingCap(tps), this.availableNowEnd]) {
      if (!cap) continue;
      for (const [tp, off] of until) {
        const c = cap.get(tp);
        if (c === undefined) until.delete(tp);
        else if (c < off) until.set(tp, c);
      }
    }
    // Partitions that appeared since `from`: read from their earliest offset (0 unless data already aged out).
    const added = [...until.keys()].filter((tp) => !from.has(tp));
    if (added.length > 0) {
      const earliest = await this.r.earliest(added);
      for (const tp of added) {
        const e = earliest.get(tp)!;
        if (e !== 0) this.reportDataLoss(`Added partition ${name(tp)} starts from ${e} instead of 0.`);
        from.set(tp, e);
      }
    }
    for (const tp of [...from.keys()]) {
      if (until.has(tp)) continue;
      if (latest.has(tp)) {
        until.set(tp, from.get(tp)!); // excluded by a cap: stays where it is
        continue;
      }
      this.reportDataLoss(`Partition ${name(tp)} is gone (its topic was deleted or the subscription no longer covers it).`);
      from.delete(tp);
    }
    for (const [tp, off] of until) {
      const f = from.get(tp)!;
      if (off < f) this.reportDataLoss(`Partition ${name(tp)}'s offset was changed from ${f} to ${off}.`);
    }
    const newRecords = offsetsBetween(from, until);
    if (limit.kind === 'maxRows') until = rateLimit(limit.max, from, until);
    else if (limit.kind === 'minRows') {
      if (this.availableNowEnd === null) {
        const now = Date.now();
        if (now - this.lastTriggerMs < limit.maxTriggerDelayMs && newRecords < limit.min) return start;
        this.lastTriggerMs = now;
      }
      if (limit.max !== undefined) until = rateLimit(limit.max, from, until);
    }
    if (start === null && newRecords === 0) return null;
    return offsetJson(until);
  }

  reportLatestOffset(): Offset | null {
    return this.latest.size > 0 ? offsetJson(this.latest) : null;
  }

  async *getBatch(start: Offset | null, end: Offset): AsyncIterable<RecordBatch> {
    const from = start === null ? await this.initialOffsets() : offsetsFromJson(start);
    const before = { ...this.stats };
    try {
      yield* readRanges(this.client!, ranges(from, offsetsFromJson(end)), this.o.fetch, this.stats);
    } finally {
      this.batchStats = {
        records: this.stats.records - before.records,
        bytes: this.stats.bytes - before.bytes,
        requests: this.stats.requests - before.requests,
        waitMs: this.stats.waitMs - before.waitMs,
        decodeMs: this.stats.decodeMs - before.decodeMs,
        lostOffsets: this.stats.lostOffsets - before.lostOffsets,
      };
    }
  }

  /**
   * Spark's `minOffsetsBehindLatest`, `maxOffsetsBehindLatest`, `avgOffsetsBehindLatest` (latest − this batch's end per
   * partition), with the total lag, the partition lagging most, and what the batch's fetch cost.
   */
  metrics(end: Offset | null): Record<string, string> {
    const b = this.batchStats;
    return {
      ...(end !== null ? lagMetrics(offsetsFromJson(end), this.latest) : {}),
      fetchRequests: String(b.requests),
      fetchedBytes: String(b.bytes),
      fetchWaitMs: String(Math.round(b.waitMs)),
      decodeMs: String(Math.round(b.decodeMs)),
      lostOffsets: String(b.lostOffsets),
    };
  }

  async stop(): Promise<void> {
    await this.client?.close();
    this.client = null;
  }
}

/**
 * `read.format('kafka')`: the records between `startingOffsets` (default earliest) and `endingOffsets` (default
 * latest), both resolved when the scan runs.
 *
 * @example
 * const df = session.read.format('kafka').option('kafka.bootstrap.servers', 'localhost:9092')
 *   .option('subscribe', 'orders').option('endingOffsets', '{"orders":{"0":100}}').load();
 */
export class KafkaBatchScan implements BatchScan {
  readonly schema: Schema;
  readonly description: string;
  readonly stats: FetchStats = newFetchStats();

  constructor(readonly o: KafkaSourceOptions) {
    this.schema = kafkaSourceSchema(o.fetch.includeHeaders);
    this.description = `KafkaRelation[${KafkaOffsetReader.describe(o.subscription)}]`;
  }

  async *scan(): AsyncIterable<RecordBatch> {
    const client = new KafkaClient(this.o.client);
    try {
      await client.connect();
      const reader = new KafkaOffsetReader(client, this.o.subscription, this.o.fetch.isolation);
      const tps = await reader.partitions();
      const from = await reader.resolve(this.o.startingOffsets, tps, 'starting', this.o.timestampStrategy);
      const until = await reader.resolve(this.o.endingOffsets ?? { kind: 'latest' }, tps, 'ending', 'latest');
      yield* readRanges(client, ranges(from, until), this.o.fetch, this.stats);
    } finally {
      await client.close();
    }
  }
}
