/**
 * A small Kafka cluster client for reading: metadata, partition leaders, offsets (earliest, latest, by timestamp),
 * fetches and committed group offsets, over `KafkaConnection`s to each broker. Retries are bounded twice over: until the
 * cluster has answered once, `retries` attempts `retryBackoffMs` apart (a wrong address fails fast with a clear error);
 * afterwards a request keeps retrying through broker restarts, coordinator and leader moves for `reconnectTimeoutMs`,
 * with the Java client's exponential backoff (`retryBackoff`, see `kafka-retry.ts`).
 *
 * @module
 */
import { KafkaConnection, KafkaConnectionError } from './kafka-connection.js';
import { nextRetryDelay, type RetryBackoff } from './kafka-retry.js';
import {
  decodeFetch,
  decodeFindCoordinator,
  decodeListOffsets,
  decodeMetadata,
  decodeOffsetCommit,
  decodeOffsetFetch,
  errorName,
  fetchRequest,
  findCoordinatorRequest,
  isRetriable,
  KafkaErrorCode,
  KafkaProtocolError,
  listOffsetsRequest,
  metadataRequest,
  offsetCommitRequest,
  offsetFetchRequest,
  type BrokerAddress,
  type CommittedOffset,
  type FetchedPartition,
  type FetchOptions,
  type FetchPartitionRequest,
  type IsolationLevel,
  type ListOffsetsQuery,
  type ListOffsetsResult,
  type MetadataResponse,
  type RequestBody,
} from './kafka-protocol.js';

export interface KafkaClientOptions {
  /** `host:port` strings (`kafka.bootstrap.servers`). */
  readonly bootstrapServers: readonly string[];
  readonly clientId: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Attempts after the first one, before the cluster has answered once. */
  readonly retries: number;
  readonly retryBackoffMs: number;
  /** How long a request keeps retrying once the cluster has answered (broker restarts, leader elections). */
  readonly reconnectTimeoutMs: number;
  /** The pauses between those retries (`kafka.retry.backoff.ms`, `kafka.retry.backoff.max.ms`). */
  readonly retryBackoff: RetryBackoff;
}

/** A topic-partition key: `topic:partition`. */
export function tpKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether an error may go away when the same request is sent again (after reconnecting or refreshing metadata). */
export function isTransient(e: unknown): boolean {
  return e instanceof KafkaConnectionError || (e instanceof KafkaProtocolError && e.retriable);
}

/**
 * @example
 * const client = new KafkaClient({ bootstrapServers: ['127.0.0.1:9092'], clientId: 'sluice', … });
 * await client.connect();
 * const latest = await client.listOffsets([{ topic: 'orders', partition: 0, timestamp: LATEST_TIMESTAMP }], READ_COMMITTED);
 */
export class KafkaClient {
  private readonly conns = new Map<string, Promise<KafkaConnection>>();
  private readonly brokers = new Map<number, BrokerAddress>();
  private readonly leaders = new Map<string, number>();
  private reachedOnce = false;
  private closed = false;

  constructor(readonly o: KafkaClientOptions) {}

  /** Reaches the cluster (bounded by `retries`); throws a `KafkaConnectionError` naming the address when it cannot. */
  async connect(): Promise<void> {
    await this.metadata([]);
  }

  /**
   * Runs `fn` until it succeeds or the retry budget is spent. Transient errors (connection, retriable error codes)
   * drop the cached metadata so the next attempt looks up leaders again.
   */
  async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    let attempt = 0;
    for (;;) {
      try {
        const v = await fn();
        this.reachedOnce = true;
        return v;
      } catch (e) {
        if (this.closed || !isTransient(e)) throw e;
        attempt++;
        const elapsed = Date.now() - started;
        // Before first contact: Spark's fixed fetchOffset.retryIntervalMs. Afterwards: the Java client's backoff.
        const pause = this.reachedOnce
          ? nextRetryDelay(attempt - 1, elapsed, this.o.reconnectTimeoutMs, this.o.retryBackoff, Math.random())
          : attempt > this.o.retries
            ? null
            : this.o.retryBackoffMs;
        if (pause === null) {
          const how = this.reachedOnce
            ? `for ${(elapsed / 1000).toFixed(1)} s (kafka.default.api.timeout.ms=${this.o.reconnectTimeoutMs})`
            : `after ${attempt} attempts over ${(elapsed / 1000).toFixed(1)} s (fetchOffset.numRetries=${this.o.retries}, fetchOffset.retryIntervalMs=${this.o.retryBackoffMs})`;
          const msg =
            `${what}: Kafka did not answer ${how}. Last error: ${(e as Error).message}. ` +
            `Check kafka.bootstrap.servers=${this.o.bootstrapServers.join(',')} and that the brokers are running.`;
          throw e instanceof KafkaProtocolError ? new KafkaProtocolError(e.code, msg) : new KafkaConnectionError(msg);
        }
        this.leaders.clear();
        await sleep(pause);
      }
    }
  }

  private async connection(host: string, port: number): Promise<KafkaConnection> {
    if (this.closed) throw new KafkaConnectionError('The Kafka client is closed');
    const key = `${host}:${port}`;
    const existing = this.conns.get(key);
    if (existing) {
      const c = await existing.catch(() => null);
      if (c && c.isOpen) return c;
      this.conns.delete(key);
    }
    const p = KafkaConnection.open(host, port, {
      clientId: this.o.clientId,
      connectTimeoutMs: this.o.connectTimeoutMs,
      requestTimeoutMs: this.o.requestTimeoutMs,
    });
    this.conns.set(key, p);
    p.catch(() => {
      if (this.conns.get(key) === p) this.conns.delete(key);
    });
    return p;
  }

  /** A connection to broker `nodeId` (known from metadata). */
  async connectionTo(nodeId: number): Promise<KafkaConnection> {
    const b = this.brokers.get(nodeId);
    if (!b) throw new KafkaProtocolError(KafkaErrorCode.LEADER_NOT_AVAILABLE, `Kafka broker ${nodeId} is not in the cluster metadata`);
    return this.connection(b.host, b.port);
  }

  private async sendAny(req: RequestBody): Promise<Buffer> {
    const candidates: [string, number][] = [
      ...[...this.brokers.values()].map((b) => [b.host, b.port] as [string, number]),
      ...this.o.bootstrapServers.map(parseHostPort),
    ];
    let last: unknown = null;
    for (const [host, port] of candidates) {
      try {
        const c = await this.connection(host, port);
        return await c.send(req);
      } catch (e) {
        if (!(e instanceof KafkaConnectionError)) throw e;
        last = e;
      }
    }
    throw last instanceof Error ? last : new KafkaConnectionError('No Kafka broker to ask');
  }

  /** Metadata of `topics` (null: all topics); refreshes the broker list and partition leaders. */
  metadata(topics: readonly string[] | null): Promise<MetadataResponse> {
    return this.retrying('Reading Kafka metadata', async () => {
      const m = decodeMetadata(await this.sendAny(metadataRequest(topics)));
      if (m.brokers.length > 0) {
        this.brokers.clear();
        for (const b of m.brokers) this.brokers.set(b.nodeId, b);
      }
      for (const t of m.topics) for (const p of t.partitions) this.leaders.set(tpKey(t.name, p.partition), p.leader);
      return m;
    });
  }

  /** The leader of a partition (looked up when unknown); throws a retriable error while it has none. */
  async leaderOf(topic: string, partition: number): Promise<number> {
    let l = this.leaders.get(tpKey(topic, partition));
    if (l === undefined) {
      await this.metadata([topic]);
      l = this.leaders.get(tpKey(topic, partition));
    }
    if (l === undefined) {
      throw new KafkaProtocolError(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Kafka has no partition ${partition} of topic '${topic}'`);
    }
    if (l < 0) {
      this.leaders.delete(tpKey(topic, partition));
      throw new KafkaProtocolError(KafkaErrorCode.LEADER_NOT_AVAILABLE, `Partition ${topic}-${partition} has no leader right now`);
    }
    return l;
  }

  /** Forgets a partition's leader (after NOT_LEADER_OR_FOLLOWER and the like). */
  forgetLeader(topic: string, partition: number): void {
    this.leaders.delete(tpKey(topic, partition));
  }

  /** Offsets for each query (by `tpKey`), from the partition leaders; retries retriable errors. */
  listOffsets(queries: readonly ListOffsetsQuery[], isolation: IsolationLevel): Promise<Map<string, ListOffsetsResult>> {
    if (queries.length === 0) return Promise.resolve(new Map());
    return this.retrying('Looking up Kafka offsets', async () => {
      const byLeader = new Map<number, ListOffsetsQuery[]>();
      for (const q of queries) {
        const l = await this.leaderOf(q.topic, q.partition);
        let list = byLeader.get(l);
        if (!list) byLeader.set(l, (list = []));
        list.push(q);
      }
      const out = new Map<string, ListOffsetsResult>();
      await Promise.all(
        [...byLeader].map(async ([leader, qs]) => {
          const c = await this.connectionTo(leader);
          for (const r of decodeListOffsets(await c.send(listOffsetsRequest(qs, isolation)))) {
            if (r.errorCode !== KafkaErrorCode.NONE) {
              if (isRetriable(r.errorCode)) this.forgetLeader(r.topic, r.partition);
              throw new KafkaProtocolError(r.errorCode, `Listing offsets of ${r.topic}-${r.partition} failed: ${errorName(r.errorCode)}`);
            }
            out.set(tpKey(r.topic, r.partition), r);
          }
        }),
      );
      return out;
    });
  }

  /** One Fetch request to one broker (no retry: the fetcher decides what to do per partition). */
  async fetch(nodeId: number, parts: readonly FetchPartitionRequest[], o: FetchOptions): Promise<FetchedPartition[]> {
    const c = await this.connectionTo(nodeId);
    return decodeFetch(await c.send(fetchRequest(parts, o), this.o.requestTimeoutMs + o.maxWaitMs));
  }

  private async coordinator(groupId: string): Promise<KafkaConnection> {
    const found = decodeFindCoordinator(await this.sendAny(findCoordinatorRequest(groupId, 0)));
    if (found.errorCode !== KafkaErrorCode.NONE) {
      throw new KafkaProtocolError(found.errorCode, `Finding the coordinator of group ${groupId} failed: ${errorName(found.errorCode)}`);
    }
    return this.connection(found.broker.host, found.broker.port);
  }

  /** Commits `offset` for one partition in a group that has no members (a plain, non-transactional commit). */
  commitOffset(groupId: string, topic: string, partition: number, offset: number, metadata: string | null): Promise<void> {
    return this.retrying(`Committing an offset for group ${groupId}`, async () => {
      const c = await this.coordinator(groupId);
      const code = decodeOffsetCommit(await c.send(offsetCommitRequest(groupId, topic, partition, offset, metadata)));
      if (code !== KafkaErrorCode.NONE) throw new KafkaProtocolError(code, `Committing an offset for group ${groupId} failed: ${errorName(code)}`);
    });
  }

  /**
   * The committed offsets of a consumer group, waiting out pending transactional commits (`require_stable`), so a
   * transaction that committed is seen with its offsets.
   */
  committedOffsets(groupId: string): Promise<CommittedOffset[]> {
    return this.retrying(`Reading the committed offsets of group ${groupId}`, async () => {
      const c = await this.coordinator(groupId);
      const res = decodeOffsetFetch(await c.send(offsetFetchRequest(groupId, null, true)));
      const bad = res.errorCode !== KafkaErrorCode.NONE ? res.errorCode : (res.offsets.find((o) => o.errorCode !== 0)?.errorCode ?? 0);
      if (bad !== KafkaErrorCode.NONE) {
        throw new KafkaProtocolError(bad, `Reading the offsets of group ${groupId} failed: ${errorName(bad)}`);
      }
      return [...res.offsets];
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.conns.values()) (await p.catch(() => null))?.close();
    this.conns.clear();
  }
}

/** `host:port` → `[host, port]` (IPv6 in brackets). */
export function parseHostPort(s: string): [string, number] {
  const t = s.trim();
  const m = /^\[(.+)\]:(\d+)$/.exec(t) ?? /^([^:]+):(\d+)$/.exec(t);
  if (!m) throw new KafkaConnectionError(`'${s}' in kafka.bootstrap.servers is not host:port`);
  return [m[1]!, Number(m[2])];
}
