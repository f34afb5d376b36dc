/**
 * Stateful processors of the transformWithState crash, TTL and failure tests, in a module of their own so that child
 * processes and worker threads load them by reference (`processorRef('LockoutDetector')`).
 *
 * @example
 * df.groupByKey(col('user')).transformWithState(processorRef('LockoutDetector'), { outputSchema: ALERT_SCHEMA, timeMode: 'eventTime' });
 */
import { existsSync } from 'node:fs';
import {
  StatefulProcessor,
  type ExpiredTimerInfo,
  type ProcessorModuleRef,
  type StatefulProcessorHandle,
  type TimerValues,
  type ValueState,
} from '../../engine/api/stateful-processor.js';

/** A login attempt: `n` is its position in the generated input (a tie-breaker: rows of a key come in any order). */
export interface Login {
  readonly user: string;
  readonly success: boolean;
  readonly ts: Date;
  readonly n: number;
}

/** What the lockout detector emits; `processedAt` is the batch's processing time (its timestamp in the offset log). */
export interface Alert {
  readonly user: string;
  readonly reason: string;
  readonly at: Date;
  readonly processedAt: Date;
}

export const LOGIN_SCHEMA = { user: 'string', success: 'boolean', ts: 'timestamp', n: 'long' } as const;
export const ALERT_SCHEMA = { user: 'string', reason: 'string', at: 'timestamp', processedAt: 'timestamp' } as const;

/** How long a user stays locked out (event time) before the alert that says so. */
export const LOCKOUT_MS = 10 * 60_000;
/** How long a run of failures is remembered (processing time, the batch timestamp). */
export const FAILS_TTL_MS = 150_000;
/** Failures in a row that lock a user out. */
export const MAX_FAILS = 3;

/** The module reference of an export of this file, for workers and child processes. */
export function processorRef(name: string): ProcessorModuleRef {
  return { module: new URL('./tws-processors.ts', import.meta.url).href, export: name };
}

/**
 * The failed-login detector with an event-time timer: `MAX_FAILS` failures in a row (forgotten after `FAILS_TTL_MS`
 * of processing time without a new one: a ValueState with TTL) lock the user out and emit '3 failed logins'; a
 * failure while locked out extends the lock, a success lifts it; a user still locked out `LOCKOUT_MS` after the last
 * failure (the watermark passed it) gets 'locked out 10 minutes'. Rows of a key are taken in (ts, n) order. Each alert
 * carries the batch's processing time, so a re-run batch that did not keep its timestamp shows in the output.
 */
export class LockoutDetector extends StatefulProcessor<string, Login, Alert> {
  private fails!: ValueState<number>;
  private lockedUntil!: ValueState<number>;
  private handle!: StatefulProcessorHandle;
  /** What the lockout timer's alert says. */
  protected readonly lockoutReason: string = 'locked out 10 minutes';

  /** When a lock taken by a failure at `ts` ends: the timer's time. */
  protected lockEnd(ts: number, _t: TimerValues): number {
    return ts + LOCKOUT_MS;
  }

  init(handle: StatefulProcessorHandle): void {
    this.handle = handle;
    this.fails = handle.getValueState<number>('fails', 'int', { ttl: FAILS_TTL_MS });
    this.lockedUntil = handle.getValueState<number>('lockedUntil', 'long');
  }

  *handleInputRows(user: string, rows: Iterable<Login>, t: TimerValues): Generator<Alert> {
    const sorted = [...rows].sort((a, b) => a.ts.getTime() - b.ts.getTime() || a.n - b.n);
    for (const r of sorted) {
      const ts = r.ts.getTime();
      const until = this.lockedUntil.get();
      if (until !== undefined) {
        this.handle.deleteTimer(until);
        if (r.success) {
          this.lockedUntil.clear();
        } else {
          this.lockedUntil.update(this.lockEnd(ts, t));
          this.handle.registerTimer(this.lockEnd(ts, t));
        }
        continue;
      }
      if (r.success) {
        this.fails.clear();
        continue;
      }
      const n = (this.fails.get() ?? 0) + 1;
      if (n < MAX_FAILS) {
        this.fails.update(n);
        continue;
      }
      this.fails.clear();
      this.lockedUntil.update(this.lockEnd(ts, t));
      this.handle.registerTimer(this.lockEnd(ts, t));
      yield { user, reason: `${MAX_FAILS} failed logins`, at: r.ts, processedAt: new Date(t.getCurrentProcessingTimeInMs()) };
    }
  }

  override *handleExpiredTimer(user: string, t: TimerValues, timer: ExpiredTimerInfo): Generator<Alert> {
    this.lockedUntil.clear();
    yield { user, reason: this.lockoutReason, at: new Date(timer.getExpiryTimeInMs()), processedAt: new Date(t.getCurrentProcessingTimeInMs()) };
  }
}

/** How long `ProcessingTimeLockoutDetector` locks a user out, in processing time. */
export const PROCESSING_LOCKOUT_MS = 60_000;

/**
 * `LockoutDetector` with a processing-time timer (for `timeMode: 'processingTime'`): a lock ends
 * `PROCESSING_LOCKOUT_MS` after the batch that took or extended it, and its alert says 'locked out 1 minute'.
 */
export class ProcessingTimeLockoutDetector extends LockoutDetector {
  protected override readonly lockoutReason: string = 'locked out 1 minute';
  protected override lockEnd(_ts: number, t: TimerValues): number {
    return t.getCurrentProcessingTimeInMs() + PROCESSING_LOCKOUT_MS;
  }
}

/** Remembers each key it sees in a ValueState with a TTL of `SeenWithTtl.TTL_MS`; emits nothing. */
export class SeenWithTtl extends StatefulProcessor<string, Record<string, unknown>, Record<string, unknown>> {
  static readonly TTL_MS = 25_000;
  private seen!: ValueState<boolean>;
  init(handle: StatefulProcessorHandle): void {
    this.seen = handle.getValueState<boolean>('seen', 'boolean', { ttl: SeenWithTtl.TTL_MS });
  }
  handleInputRows(): Record<string, unknown>[] {
    this.seen.update(true);
    return [];
  }
}

/** `SeenWithTtl` without the TTL: every key stays. */
export class SeenForever extends StatefulProcessor<string, Record<string, unknown>, Record<string, unknown>> {
  private seen!: ValueState<boolean>;
  init(handle: StatefulProcessorHandle): void {
    this.seen = handle.getValueState<boolean>('seen', 'boolean');
  }
  handleInputRows(): Record<string, unknown>[] {
    this.seen.update(true);
    return [];
  }
}

/** The environment variable naming the file whose existence makes `ThrowsOnKey` throw. */
export const THROW_FLAG_ENV = 'SLUICE_TWS_THROW_FLAG';

/**
 * Counts rows per key (emits `{ user, total }` with the running count); for the key `mallory` it throws while the file
 * named by `SLUICE_TWS_THROW_FLAG` exists, so a test can fail a batch and then let its re-run succeed (on worker
 * threads too: they inherit the environment, and the file is looked at on every call).
 */
export class ThrowsOnKey extends StatefulProcessor<string, { user: string }, { user: string; total: number }> {
  private total!: ValueState<number>;
  init(handle: StatefulProcessorHandle): void {
    this.total = handle.getValueState<number>('total', 'long');
  }
  handleInputRows(user: string, rows: Iterable<{ user: string }>): { user: string; total: number }[] {
    const flag = process.env[THROW_FLAG_ENV];
    if (user === 'mallory' && flag && existsSync(flag)) throw new Error('mallory is not welcome here');
    let n = this.total.get() ?? 0;
    for (const _ of rows) n++;
    this.total.update(n);
    return [{ user, total: n }];
  }
}
