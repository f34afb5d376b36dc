/**
 * Answers the Kafka source's questions about partitions and offsets (Spark's `KafkaOffsetReader`): which partitions the
 * subscription covers now, and what `earliest`, `latest`, JSON offsets or timestamps mean for them.
 *
 * @module
 */
import { KafkaClient, tpKey } from './kafka-client.js';
import { EARLIEST_TIMESTAMP, errorName, KafkaErrorCode, KafkaProtocolError, LATEST_TIMESTAMP, type IsolationLevel } from './kafka-protocol.js';
import { KafkaOptionError, type OffsetSpec, type Subscription } from './kafka-options.js';
import { sortedTps, splitTp } from './kafka-offsets.js';

/** A starting timestamp matched no record and `startingOffsetsByTimestampStrategy` is `error`. */
export class KafkaOffsetLookupError extends Error {
  override readonly name = 'KafkaOffsetLookupError';
}

export class KafkaOffsetReader {
  constructor(
    readonly client: KafkaClient,
    readonly subscription: Subscription,
    readonly isolation: IsolationLevel,
  ) {}

  /** The subscription in Spark's description form: `Subscribe[a,b]`, `SubscribePattern[x.*]`, `Assign[a-0, a-1]`. */
  static describe(sub: Subscription): string {
    switch (sub.kind) {
      case 'subscribe':
        return `Subscribe[${sub.topics.join(',')}]`;
      case 'subscribePattern':
        return `SubscribePattern[${sub.source}]`;
      case 'assign':
        return `Assign[${sub.partitions.map((p) => `${p.topic}-${p.partition}`).join(', ')}]`;
    }
  }

  /** The partitions (`tpKey`s, sorted) the subscription covers now; topics that do not exist yet have none. */
  async partitions(): Promise<string[]> {
    const sub = this.subscription;
    const assigned = sub.kind === 'assign' ? new Set(sub.partitions.map((p) => tpKey(p.topic, p.partition))) : null;
    const topics = sub.kind === 'subscribe' ? sub.topics : sub.kind === 'assign' ? [...new Set(sub.partitions.map((p) => p.topic))].sort() : null;
    return this.client.retrying('Listing Kafka partitions', async () => {
      const m = await this.client.metadata(topics);
      const out: string[] = [];
      for (const t of m.topics) {
        if (sub.kind === 'subscribePattern' && (t.isInternal || !sub.pattern.test(t.name))) continue;
        if (t.errorCode === KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION) continue;
        if (t.errorCode !== KafkaErrorCode.NONE) {
          throw new KafkaProtocolError(t.errorCode, `Reading the metadata of topic '${t.name}' failed: ${errorName(t.errorCode)}`);
        }
        // assign: the listed partitions that exist (one not created yet is waited for, like a subscribed topic)
        for (const p of t.partitions) if (assigned === null || assigned.has(tpKey(t.name, p.partition))) out.push(tpKey(t.name, p.partition));
      }
      return sortedTps(out);
    });
  }

  /** Offsets at `timestamp` (`LATEST_TIMESTAMP`, `EARLIEST_TIMESTAMP` or epoch ms; -1 when none) per partition. */
  async offsetsAt(tps: readonly string[], timestamp: number | ((tp: string) => number)): Promise<Map<string, number>> {
    const queries = tps.map((tp) => ({ ...splitTp(tp), timestamp: typeof timestamp === 'number' ? timestamp : timestamp(tp) }));
    const res = await this.client.listOffsets(queries, this.isolation);
    const out = new Map<string, number>();
    for (const tp of tps) out.set(tp, res.get(tp)!.offset);
    return out;
  }

  latest(tps: readonly string[]): Promise<Map<string, number>> {
    return this.offsetsAt(tps, LATEST_TIMESTAMP);
  }

  earliest(tps: readonly string[]): Promise<Map<string, number>> {
    return this.offsetsAt(tps, EARLIEST_TIMESTAMP);
  }

  /**
   * What `spec` means for `tps`: concrete offsets. JSON offsets and per-partition timestamps must name every
   * partition (Spark's rule); -2 and -1 in JSON mean earliest and latest. A timestamp that matches no record gives
   * latest for an end, and for a start follows `strategy`.
   */
  async resolve(spec: OffsetSpec, tps: readonly string[], role: 'starting' | 'ending', strategy: 'error' | 'latest'): Promise<Map<string, number>> {
    switch (spec.kind) {
      case 'earliest':
        return this.earliest(tps);
      case 'latest':
        return this.latest(tps);
      case 'offsets': {
        const given = this.perPartition(spec.offsets, tps, `${role}Offsets`);
        const special = tps.filter((tp) => given.get(tp)! < 0);
        const early = await this.earliest(special.filter((tp) => given.get(tp) === -2));
        const late = await this.latest(special.filter((tp) => given.get(tp) === -1));
        const out = new Map<string, number>();
        for (const tp of tps) {
          const v = given.get(tp)!;
          if (v >= 0) out.set(tp, v);
          else if (v === -2) out.set(tp, early.get(tp)!);
          else if (v === -1) out.set(tp, late.get(tp)!);
          else throw new KafkaOptionError(`${role}Offsets: ${v} for ${tp.replace(/:(\d+)$/, '-$1')} is not an offset (use ≥ 0, -2 for earliest, -1 for latest).`);
        }
        return out;
      }
      case 'timestamps':
      case 'timestamp': {
        const ts = spec.kind === 'timestamp' ? null : this.perPartition(spec.timestamps, tps, `${role}OffsetsByTimestamp`);
        const found = await this.offsetsAt(tps, (tp) => (ts === null ? (spec as { timestamp: number }).timestamp : ts.get(tp)!));
        const missing = tps.filter((tp) => found.get(tp)! < 0);
        if (missing.length === 0) return found;
        if (role === 'starting' && strategy === 'error') {
          throw new KafkaOffsetLookupError(
            `No record at or after the starting timestamp in ${missing.map((tp) => tp.replace(/:(\d+)$/, '-$1')).join(', ')}. ` +
              `Use an earlier timestamp, or set startingOffsetsByTimestampStrategy=latest to start those partitions at the latest offset.`,
          );
        }
        const late = await this.latest(missing);
        for (const tp of missing) found.set(tp, late.get(tp)!);
        return found;
      }
    }
  }

  private perPartition(json: Readonly<Record<string, Readonly<Record<string, number>>>>, tps: readonly string[], option: string): Map<string, number> {
    const given = new Map<string, number>();
    for (const [topic, parts] of Object.entries(json)) for (const [p, v] of Object.entries(parts)) given.set(tpKey(topic, Number(p)), v);
    const missing = tps.filter((tp) => !given.has(tp));
    const extra = [...given.keys()].filter((tp) => !tps.includes(tp));
    if (missing.length > 0 || extra.length > 0) {
      const name = (l: string[]) => l.map((tp) => tp.replace(/:(\d+)$/, '-$1')).join(', ');
      throw new KafkaOptionError(
        `If ${option} contains specific offsets, you must specify all TopicPartitions. ` +
          (missing.length > 0 ? `Missing: ${name(missing)}. ` : '') +
          (extra.length > 0 ? `Not subscribed or not existing: ${name(extra)}. ` : '') +
          `Partitions now: ${name(tps as string[])}.`,
      );
    }
    return given;
  }
}
