/**
 * The Kafka offsets a backfill reads: per partition, from the first record at or after a timestamp to the latest
 * offset. Looked up with kafkajs's admin client (the CLI is outside the engine, which never imports kafkajs), then
 * handed to the Kafka source as explicit `startingOffsets`, so the dry run shows exactly what the run reads.
 *
 * @module
 */
import type * as KafkaJs from 'kafkajs';
import { lazyModule } from '../../io/lazy-module.js';

const kafkajs = lazyModule<typeof KafkaJs>('kafkajs', import.meta.url);

/** One partition's share of a backfill read. */
export interface PartitionRange {
  readonly topic: string;
  readonly partition: number;
  /** First offset to read. */
  readonly start: number;
  /** The latest offset now (exclusive end). */
  readonly end: number;
}

function option(options: Readonly<Record<string, string>>, key: string): string | undefined {
  const k = Object.keys(options).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : options[k];
}

/**
 * Offsets from `startMs` to latest of every partition the source options subscribe to.
 *
 * @example
 * await kafkaRangeFrom({ 'kafka.bootstrap.servers': 'localhost:9092', subscribe: 'orders' }, Date.parse('2026-05-30'));
 */
export async function kafkaRangeFrom(options: Readonly<Record<string, string>>, startMs: number): Promise<PartitionRange[]> {
  const servers = option(options, 'kafka.bootstrap.servers');
  if (!servers) throw new Error("The Kafka source needs option 'kafka.bootstrap.servers'.");
  const { Kafka, logLevel } = kafkajs();
  const kafka = new Kafka({ clientId: 'sluice-backfill', brokers: servers.split(',').map((s) => s.trim()), logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    let topics: string[];
    const assign = option(options, 'assign');
    const pattern = option(options, 'subscribePattern');
    const subscribe = option(options, 'subscribe');
    let only: Map<string, Set<number>> | null = null;
    if (assign !== undefined) {
      const json = JSON.parse(assign) as Record<string, number[]>;
      only = new Map(Object.entries(json).map(([t, ps]) => [t, new Set(ps)]));
      topics = [...only.keys()];
    } else if (pattern !== undefined) {
      const re = new RegExp(`^(?:${pattern})$`);
      topics = (await admin.listTopics()).filter((t) => re.test(t) && !t.startsWith('__'));
    } else topics = (subscribe ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const out: PartitionRange[] = [];
    for (const topic of topics.sort()) {
      const latest = await admin.fetchTopicOffsets(topic);
      const byTs = await admin.fetchTopicOffsetsByTimestamp(topic, startMs);
      for (const l of latest.sort((a, b) => a.partition - b.partition)) {
        if (only && !only.get(topic)!.has(l.partition)) continue;
        const end = Number(l.high);
        const t = byTs.find((x) => x.partition === l.partition);
        const found = t === undefined ? -1 : Number(t.offset);
        const start = found < 0 || found > end ? end : Math.max(found, Number(l.low));
        out.push({ topic, partition: l.partition, start, end });
      }
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** `startingOffsets` JSON of a range (`{"orders":{"0":42}}`). */
export function startingOffsetsJson(ranges: readonly PartitionRange[]): string {
  const o: Record<string, Record<string, number>> = {};
  for (const r of ranges) (o[r.topic] ??= {})[String(r.partition)] = r.start;
  return JSON.stringify(o);
}
