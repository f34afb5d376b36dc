/**
 * How the Kafka connector retries, as the Java client does: a request that fails with a retriable error (the broker is
 * away, the coordinator is being looked up, moved or loaded, a leader is being elected) is sent again after an
 * exponential backoff — `retry.backoff.ms` (100 ms) doubling up to `retry.backoff.max.ms` (1 s), ±20 % jitter, Kafka's
 * `ExponentialBackoff` — until it succeeds or an API timeout (`kafka.default.api.timeout.ms`, 60 s) has passed. An error
 * that cannot pass by itself (this writer was fenced by another one, authorisation, a record too large) is not retried.
 *
 * The schedule is pure: `backoffMs` takes the random draw as an argument, `nextRetryDelay` the time spent so far.
 *
 * @module
 */
import { KafkaConnectionError } from './kafka-connection.js';
import { KafkaProtocolError } from './kafka-protocol.js';

/** Backoff settings, named as the Java client names them. */
export interface RetryBackoff {
  /** `retry.backoff.ms`: the pause before the first retry. */
  readonly initialMs: number;
  /** `retry.backoff.max.ms`: the longest pause. */
  readonly maxMs: number;
  /** Growth per attempt (Kafka: 2). */
  readonly multiplier: number;
  /** Each pause is multiplied by a factor drawn from `[1 − jitter, 1 + jitter)` (Kafka: 0.2), never beyond `maxMs`. */
  readonly jitter: number;
}

/** The Java client's defaults: 100 ms doubling to 1 s, ±20 %. */
export const JAVA_CLIENT_BACKOFF: RetryBackoff = { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0.2 };

/**
 * The pause before retry number `attempt + 1` (`attempt` = 0 after the first failure): Kafka's
 * `ExponentialBackoff.backoff(attempts)`, with `random` ∈ [0, 1) choosing the jitter.
 *
 * @example
 * backoffMs(0, JAVA_CLIENT_BACKOFF, 0.5); // 100
 * backoffMs(3, JAVA_CLIENT_BACKOFF, 0.5); // 800
 * backoffMs(9, JAVA_CLIENT_BACKOFF, 0.99); // 1000 (capped)
 */
export function backoffMs(attempt: number, b: RetryBackoff, random: number): number {
  const initial = Math.min(b.initialMs, b.maxMs);
  if (b.maxMs <= initial) return initial;
  const expMax = Math.log(b.maxMs / Math.max(initial, 1)) / Math.log(b.multiplier);
  const term = initial * b.multiplier ** Math.min(attempt, expMax);
  const factor = b.jitter <= 0 ? 1 : 1 - b.jitter + 2 * b.jitter * random;
  return Math.min(Math.floor(term * factor), b.maxMs);
}

/**
 * The pause before the next attempt, or `null` when the timeout has passed: the backoff, shortened so that the last
 * attempt starts at the timeout at the latest.
 *
 * @example
 * nextRetryDelay(0, 0, 60_000, JAVA_CLIENT_BACKOFF, 0.5); // 100
 * nextRetryDelay(5, 59_950, 60_000, JAVA_CLIENT_BACKOFF, 0.5); // 50
 * nextRetryDelay(6, 60_000, 60_000, JAVA_CLIENT_BACKOFF, 0.5); // null
 */
export function nextRetryDelay(attempt: number, elapsedMs: number, timeoutMs: number, b: RetryBackoff, random: number): number | null {
  const left = timeoutMs - elapsedMs;
  if (left <= 0) return null;
  return Math.min(backoffMs(attempt, b, random), left);
}

/** kafkajs error names that mean "no answer (yet)": the broker or coordinator is away or being looked up. */
const TRANSIENT_KAFKAJS_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
  // Every broker failed to name the coordinator: kafkajs drops the cause (connection closed, COORDINATOR_NOT_AVAILABLE,
  // COORDINATOR_LOAD_IN_PROGRESS while a restarted broker loads its logs) and calls it non-retriable. The Java
  // client's FindCoordinator retries exactly these errors, so do we.
  'KafkaJSGroupCoordinatorNotFound',
]);

/**
 * Protocol errors that mean another producer with the same transactional id took over (or this one's epoch is
 * gone): retrying cannot help, the other writer has to stop.
 */
export const FENCED_ERRORS: ReadonlySet<string> = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

/** A thrown error as the connectors see it: sluice's client errors and kafkajs's share these fields. */
interface ErrorLike {
  readonly name?: string;
  readonly type?: string;
  readonly retriable?: boolean;
  readonly cause?: unknown;
  readonly originalError?: unknown;
}

/**
 * The Kafka error code name (`PRODUCER_FENCED`, …) behind an error, looking through kafkajs's wrappers; null when
 * there is none.
 *
 * @example
 * kafkaErrorType(new KafkaJSNumberOfRetriesExceeded(new KafkaJSProtocolError({ type: 'NOT_COORDINATOR', … }))); // 'NOT_COORDINATOR'
 */
export function kafkaErrorType(e: unknown, depth = 0): string | null {
  const err = e as ErrorLike | null;
  if (!err || typeof err !== 'object' || depth > 5) return null;
  if (typeof err.type === 'string') return err.type;
  return kafkaErrorType(err.cause ?? err.originalError, depth + 1);
}

/**
 * Whether an error may pass when the request — or, in the sink, the whole batch with a new producer — is tried again:
 * a lost connection, a timeout, a coordinator or leader being looked up, moved or loaded. A fenced producer, missing
 * rights or a record the broker refuses are final.
 *
 * @example
 * isRetriableKafkaError(new KafkaConnectionError('Connection to Kafka broker 127.0.0.1:9092 closed')); // true
 * isRetriableKafkaError(Object.assign(new Error('fenced'), { type: 'PRODUCER_FENCED', retriable: false })); // false
 */
export function isRetriableKafkaError(e: unknown, depth = 0): boolean {
  if (e instanceof KafkaConnectionError) return true;
  if (e instanceof KafkaProtocolError) return e.retriable;
  const err = e as ErrorLike | null;
  if (!err || typeof err !== 'object' || depth > 5) return false;
  if (err.type !== undefined && FENCED_ERRORS.has(err.type)) return false;
  if (err.retriable === true) return true;
  if (TRANSIENT_KAFKAJS_ERRORS.has(err.name ?? '')) return true;
  const inner = err.cause ?? err.originalError;
  return inner !== undefined && inner !== e && isRetriableKafkaError(inner, depth + 1);
}
