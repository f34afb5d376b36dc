import { describe, expect, it } from 'vitest';
import { KafkaOptionError, parseSinkOptions, parseSourceOptions } from '../../../connectors/kafka/kafka-options.js';

const base = { 'kafka.bootstrap.servers': '127.0.0.1:9092' };

describe('Kafka options', () => {
  it('need exactly one of subscribe, subscribePattern, assign', () => {
    expect(() => parseSourceOptions(base, false)).toThrow(/One of the following options must be specified for Kafka source: subscribe, subscribePattern, assign/);
    expect(() => parseSourceOptions({ ...base, subscribe: 'a', assign: '{"a":[0]}' }, false)).toThrow(/Only one of the following options/);
    expect(parseSourceOptions({ ...base, subscribe: 'b, a ,a' }, false).subscription).toEqual({ kind: 'subscribe', topics: ['a', 'b'] });
    expect(parseSourceOptions({ ...base, assign: '{"a":[1,0]}' }, false).subscription).toEqual({
      kind: 'assign',
      partitions: [
        { topic: 'a', partition: 1 },
        { topic: 'a', partition: 0 },
      ],
    });
    const p = parseSourceOptions({ ...base, subscribePattern: 'ord.*' }, false).subscription;
    expect(p.kind === 'subscribePattern' && p.pattern.test('orders') && !p.pattern.test('xorders')).toBe(true);
  });

  it('need kafka.bootstrap.servers as host:port', () => {
    expect(() => parseSourceOptions({ subscribe: 'a' }, false)).toThrow(KafkaOptionError);
    expect(() => parseSourceOptions({ subscribe: 'a', 'kafka.bootstrap.servers': 'nohost' }, false)).toThrow(/not host:port/);
  });

  it('default to latest for streams and earliest..latest for batch reads, as Spark', () => {
    expect(parseSourceOptions({ ...base, subscribe: 'a' }, false).startingOffsets).toEqual({ kind: 'latest' });
    const b = parseSourceOptions({ ...base, subscribe: 'a' }, true);
    expect([b.startingOffsets, b.endingOffsets]).toEqual([{ kind: 'earliest' }, { kind: 'latest' }]);
    expect(() => parseSourceOptions({ ...base, subscribe: 'a', startingOffsets: 'latest' }, true)).toThrow(/can't be latest for batch/);
    expect(() => parseSourceOptions({ ...base, subscribe: 'a', endingOffsets: 'earliest' }, true)).toThrow(/can't be earliest/);
    expect(() => parseSourceOptions({ ...base, subscribe: 'a', startingOffsets: '{"a":{"0":-1}}' }, true)).toThrow(/latest \(-1\)/);
  });

  it('prefer timestamps over offsets, as Spark', () => {
    const o = parseSourceOptions({ ...base, subscribe: 'a', startingOffsets: 'earliest', startingOffsetsByTimestamp: '{"a":{"0":1000}}' }, false);
    expect(o.startingOffsets).toEqual({ kind: 'timestamps', timestamps: { a: { '0': 1000 } } });
    expect(parseSourceOptions({ ...base, subscribe: 'a', startingTimestamp: '5' }, false).startingOffsets).toEqual({ kind: 'timestamp', timestamp: 5 });
    expect(() => parseSourceOptions({ ...base, subscribe: 'a', startingOffsets: '{"a":[0]}' }, false)).toThrow(/must map each topic/);
  });

  it('are case-insensitive and check trigger limits', () => {
    const o = parseSourceOptions({ 'KAFKA.BOOTSTRAP.SERVERS': 'h:1', SUBSCRIBE: 'a', maxoffsetspertrigger: '10', minOffsetsPerTrigger: '5', maxTriggerDelay: '2 seconds' }, false);
    expect([o.maxOffsetsPerTrigger, o.minOffsetsPerTrigger, o.maxTriggerDelayMs]).toEqual([10, 5, 2000]);
    expect(() => parseSourceOptions({ ...base, subscribe: 'a', maxOffsetsPerTrigger: '0' }, false)).toThrow(/maxOffsetsPerTrigger/);
    expect(() => parseSourceOptions({ ...base, subscribe: 'a', maxOffsetsPerTrigger: '5', minOffsetsPerTrigger: '6' }, false)).toThrow(/cannot be larger/);
  });

  it('refuse Kafka consumer settings that Spark refuses, naming the replacement', () => {
    expect(() => parseSourceOptions({ ...base, subscribe: 'a', 'kafka.auto.offset.reset': 'earliest' }, false)).toThrow(/startingOffsets/);
    expect(() => parseSourceOptions({ ...base, subscribe: 'a', 'kafka.value.deserializer': 'x' }, false)).toThrow(/binary/);
  });

  it('read_committed is the default isolation level', () => {
    expect(parseSourceOptions({ ...base, subscribe: 'a' }, false).fetch.isolation).toBe(1);
    expect(parseSourceOptions({ ...base, subscribe: 'a', 'kafka.isolation.level': 'read_uncommitted' }, false).fetch.isolation).toBe(0);
  });

  it('sink: at-least-once by default; exactly-once needs acks=all', () => {
    expect(parseSinkOptions(base).deliveryGuarantee).toBe('at-least-once');
    expect(parseSinkOptions({ ...base, deliveryGuarantee: 'EXACTLY_ONCE' }).deliveryGuarantee).toBe('exactly-once');
    expect(() => parseSinkOptions({ ...base, deliveryGuarantee: 'twice' })).toThrow(/deliveryGuarantee/);
    expect(() => parseSinkOptions({ ...base, deliveryGuarantee: 'exactly-once', 'kafka.acks': '1' })).toThrow(/acks=all/);
  });

  it('refuse kafka.group.id: offsets live in the checkpoint, no group is joined', () => {
    const err = (() => {
      try {
        parseSourceOptions({ ...base, subscribe: 'a', 'kafka.group.id': 'my-group' }, false);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(KafkaOptionError);
    expect(err!.message).toMatch(/'group\.id' is not supported.*checkpoint.*groupIdPrefix/s);
    expect(() => parseSourceOptions({ ...base, subscribe: 'a', 'KAFKA.GROUP.ID': 'g' }, true)).toThrow(/group\.id/);
    expect(() => parseSinkOptions({ ...base, 'kafka.group.id': 'g' })).toThrow(KafkaOptionError);
  });

  it('refuse every kafka.* option the source or sink would silently ignore, naming the ones it reads', () => {
    expect(() => parseSourceOptions({ ...base, subscribe: 'a', 'kafka.max.poll.records': '10' }, false)).toThrow(
      /'kafka\.max\.poll\.records' is not used by the Kafka source, so it would have no effect\. Remove it; the source reads kafka\.bootstrap\.servers, .*kafka\.fetch\.max\.wait\.ms\./,
    );
    expect(() => parseSourceOptions({ ...base, subscribe: 'a', 'kafka.acks': 'all' }, false)).toThrow(/It is an option of the Kafka sink/);
    expect(() => parseSinkOptions({ ...base, 'kafka.isolation.level': 'read_committed' })).toThrow(/It is an option of the Kafka source/);
    expect(() => parseSinkOptions({ ...base, 'kafka.linger.ms': '5' })).toThrow(KafkaOptionError);
    // What each side reads is accepted.
    const src = parseSourceOptions({ ...base, subscribe: 'a', 'kafka.retry.backoff.ms': '50', 'kafka.retry.backoff.max.ms': '2000', 'kafka.fetch.max.wait.ms': '100' }, false);
    expect([src.client.retryBackoff.initialMs, src.client.retryBackoff.maxMs, src.fetch.maxWaitMs]).toEqual([50, 2_000, 100]);
    expect(parseSinkOptions({ ...base, 'kafka.transaction.timeout.ms': '30000', 'Kafka.Client.Id': 'me' }).client.clientId).toBe('me');
  });

  it('retry with the Java client defaults: 100 ms doubling to 1 s within a 60 s API timeout', () => {
    const c = parseSinkOptions(base).client;
    expect([c.retryBackoff.initialMs, c.retryBackoff.maxMs, c.reconnectTimeoutMs]).toEqual([100, 1_000, 60_000]);
  });
});
