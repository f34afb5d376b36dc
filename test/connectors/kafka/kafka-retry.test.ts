import { KafkaJSConnectionError, KafkaJSGroupCoordinatorNotFound, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaConnectionError } from '../../../connectors/kafka/kafka-connection.js';
import { KafkaErrorCode, KafkaProtocolError } from '../../../connectors/kafka/kafka-protocol.js';
import { backoffMs, isRetriableKafkaError, JAVA_CLIENT_BACKOFF, kafkaErrorType, nextRetryDelay } from '../../../connectors/kafka/kafka-retry.js';

const protocolError = (type: string, retriable: boolean) => new KafkaJSProtocolError({ message: type, type, retriable, code: 0 } as never);

describe('Kafka retry schedule', () => {
  it("follows Kafka's ExponentialBackoff: 100 ms doubling to 1 s", () => {
    const middle = Array.from({ length: 7 }, (_, a) => backoffMs(a, JAVA_CLIENT_BACKOFF, 0.5));
    expect(middle).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('draws ±20 % jitter without ever passing the maximum', () => {
    expect(backoffMs(0, JAVA_CLIENT_BACKOFF, 0)).toBe(80);
    expect(backoffMs(0, JAVA_CLIENT_BACKOFF, 0.999)).toBe(119);
    expect(backoffMs(2, JAVA_CLIENT_BACKOFF, 0)).toBe(320);
    for (let a = 0; a < 40; a++) for (const r of [0, 0.25, 0.5, 0.75, 0.999]) expect(backoffMs(a, JAVA_CLIENT_BACKOFF, r)).toBeLessThanOrEqual(1_000);
    expect(backoffMs(4, JAVA_CLIENT_BACKOFF, 0)).toBe(1_000 * 0.8 * 1.0);
  });

  it('is constant when the maximum is not above the first pause, and without jitter exact', () => {
    expect(backoffMs(5, { ...JAVA_CLIENT_BACKOFF, initialMs: 500, maxMs: 300 }, 0.9)).toBe(300);
    expect(backoffMs(3, { initialMs: 50, maxMs: 10_000, multiplier: 3, jitter: 0 }, 0.9)).toBe(1_350);
  });

  it('stops at the API timeout and shortens the last pause to end there', () => {
    const b = JAVA_CLIENT_BACKOFF;
    // The whole schedule of a 5 s timeout with the middle draw: pauses until the time is spent.
    const pauses: number[] = [];
    let elapsed = 0;
    for (let a = 0; ; a++) {
      const p = nextRetryDelay(a, elapsed, 5_000, b, 0.5);
      if (p === null) break;
      pauses.push(p);
      elapsed += p + 10; // each attempt itself takes 10 ms
    }
    expect(pauses).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 430]);
    expect(nextRetryDelay(3, 4_999, 5_000, b, 0.5)).toBe(1);
    expect(nextRetryDelay(0, 0, 0, b, 0.5)).toBeNull();
  });
});

describe('Kafka errors that are retried', () => {
  it('retries lost connections, timeouts and coordinator lookups, as the Java client does', () => {
    expect(isRetriableKafkaError(new KafkaConnectionError('Connection to Kafka broker 127.0.0.1:9092 closed'))).toBe(true);
    expect(isRetriableKafkaError(new KafkaProtocolError(KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'loading'))).toBe(true);
    expect(isRetriableKafkaError(new KafkaProtocolError(KafkaErrorCode.NOT_COORDINATOR, 'moved'))).toBe(true);
    expect(isRetriableKafkaError(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092'))).toBe(true);
    // kafkajs's "Failed to find group coordinator" (every broker failed to answer FindCoordinator) carries no cause.
    expect(isRetriableKafkaError(new (KafkaJSGroupCoordinatorNotFound as unknown as new (m: string) => Error)('Failed to find group coordinator'))).toBe(true);
    expect(isRetriableKafkaError(new KafkaJSNumberOfRetriesExceeded(protocolError('COORDINATOR_NOT_AVAILABLE', true), { retryCount: 5, retryTime: 1000 }))).toBe(true);
    expect(isRetriableKafkaError(new (KafkaJSNonRetriableError as unknown as new (m: string, o: { cause: unknown }) => Error)('closed', { cause: new KafkaJSConnectionError('closed') }))).toBe(true);
  });

  it('does not retry a fenced producer, however it is wrapped, nor a record the broker refuses', () => {
    expect(isRetriableKafkaError(protocolError('PRODUCER_FENCED', false))).toBe(false);
    const wrapped = new KafkaJSNumberOfRetriesExceeded(protocolError('INVALID_PRODUCER_EPOCH', false), { retryCount: 1, retryTime: 100 });
    expect(isRetriableKafkaError(wrapped)).toBe(false);
    expect(kafkaErrorType(wrapped)).toBe('INVALID_PRODUCER_EPOCH');
    expect(isRetriableKafkaError(protocolError('MESSAGE_TOO_LARGE', false))).toBe(false);
    expect(isRetriableKafkaError(new KafkaProtocolError(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'x'))).toBe(true);
    expect(isRetriableKafkaError(new Error('bad value column'))).toBe(false);
    expect(kafkaErrorType(new Error('no type'))).toBeNull();
  });
});
