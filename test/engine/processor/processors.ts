/** Processors the processor tests run (also imported by module URL, as a worker would). */
import {
  StatefulProcessor,
  type ListState,
  type MapState,
  type StatefulProcessorHandle,
  type TimerValues,
  type ExpiredTimerInfo,
  type ValueState,
} from '../../../engine/api/stateful-processor.js';

export interface Login {
  user: string;
  success: boolean;
  ts: Date;
}
export interface Alert {
  user: string;
  reason: string;
  at: Date;
}

export const LOGIN_SCHEMA = { user: 'string', success: 'boolean', ts: 'timestamp' } as const;
export const ALERT_SCHEMA = { user: 'string', reason: 'string', at: 'timestamp' } as const;

/** The seed's detector: 3 failed logins in a row → an alert; a success resets. */
export class FailedLoginDetector extends StatefulProcessor<string, Login, Alert> {
  private fails!: ValueState<number>;
  init(handle: StatefulProcessorHandle): void {
    this.fails = handle.getValueState<number>('fails', 'int', { ttl: '1 hour' });
  }
  *handleInputRows(user: string, rows: Iterable<Login>): Generator<Alert> {
    for (const r of rows) {
      if (r.success) {
        this.fails.clear();
        continue;
      }
      const n = (this.fails.get() ?? 0) + 1;
      this.fails.update(n);
      if (n >= 3) {
        yield { user, reason: '3 failed logins', at: r.ts };
        this.fails.clear();
      }
    }
  }
}

export const LOCKOUT_MS = 10 * 60_000;

/**
 * 3 failed logins lock a user out; an event-time timer alerts when the user is still locked 10 minutes later; a
 * success unlocks and deletes the timer.
 */
export class LockoutAlerter extends StatefulProcessor<string, Login, Alert> {
  private fails!: ValueState<number>;
  private lockedAt!: ValueState<Date>;
  private handle!: StatefulProcessorHandle;
  init(handle: StatefulProcessorHandle): void {
    this.handle = handle;
    this.fails = handle.getValueState<number>('fails', 'int');
    this.lockedAt = handle.getValueState<Date>('lockedAt', 'timestamp');
  }
  *handleInputRows(user: string, rows: Iterable<Login>): Generator<Alert> {
    for (const r of rows) {
      if (r.success) {
        this.fails.clear();
        const at = this.lockedAt.get();
        if (at !== undefined) {
          this.handle.deleteTimer(at.getTime() + LOCKOUT_MS);
          this.lockedAt.clear();
        }
        continue;
      }
      const n = (this.fails.get() ?? 0) + 1;
      this.fails.update(n);
      if (n === 3 && !this.lockedAt.exists()) {
        this.lockedAt.update(r.ts);
        this.handle.registerTimer(r.ts.getTime() + LOCKOUT_MS);
        yield { user, reason: 'locked', at: r.ts };
      }
    }
  }
  override *handleExpiredTimer(user: string, _tv: TimerValues, info: ExpiredTimerInfo): Generator<Alert> {
    yield { user, reason: 'locked out 10 minutes', at: new Date(info.getExpiryTimeInMs()) };
    this.lockedAt.clear();
    this.fails.clear();
  }
}

export interface Click {
  user: string;
  page: string;
  at: Date;
}
export const CLICK_SCHEMA = { user: 'string', page: 'string', at: 'timestamp' } as const;
export const SESSION_SCHEMA = { user: 'string', pages: { kind: 'array', element: 'string' }, clicks: 'int' } as const;
export const SESSION_GAP_MS = 30_000;

/** Collects a user's clicks in ListState; a processing-time timer closes the session 30 s after its last click. */
export class Sessionizer extends StatefulProcessor<string, Click, { user: string; pages: string[]; clicks: number }> {
  private clicks!: ListState<{ page: string; at: Date }>;
  private handle!: StatefulProcessorHandle;
  init(handle: StatefulProcessorHandle): void {
    this.handle = handle;
    this.clicks = handle.getListState('clicks', { page: 'string', at: 'timestamp' });
  }
  handleInputRows(_user: string, rows: Iterable<Click>, tv: TimerValues): void {
    for (const r of rows) this.clicks.appendValue({ page: r.page, at: r.at });
    for (const t of this.handle.listTimers()) this.handle.deleteTimer(t);
    this.handle.registerTimer(tv.getCurrentProcessingTimeInMs() + SESSION_GAP_MS);
  }
  override handleExpiredTimer(user: string): { user: string; pages: string[]; clicks: number }[] {
    const all = [...this.clicks.get()];
    this.clicks.clear();
    return [{ user, pages: all.map((c) => c.page), clicks: all.length }];
  }
}

export interface Score {
  category: string;
  item: string;
  score: number;
}
export const SCORE_SCHEMA = { category: 'string', item: 'string', score: 'double' } as const;
export const TOP_SCHEMA = { category: 'string', rank: 'int', item: 'string', score: 'double' } as const;

/** Keeps the 3 best items per category in MapState and emits the current top 3 (update mode). */
export class TopThree extends StatefulProcessor<string, Score, { category: string; rank: number; item: string; score: number }> {
  private best!: MapState<string, number>;
  init(handle: StatefulProcessorHandle): void {
    this.best = handle.getMapState<string, number>('best', 'string', 'double');
  }
  *handleInputRows(category: string, rows: Iterable<Score>): Generator<{ category: string; rank: number; item: string; score: number }> {
    for (const r of rows) {
      const old = this.best.getValue(r.item);
      if (old === undefined || r.score > old) this.best.updateValue(r.item, r.score);
      const entries = [...this.best.iterator()];
      if (entries.length > 3) {
        entries.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? 1 : -1));
        this.best.removeKey(entries[0]![0]);
      }
    }
    const top = [...this.best.iterator()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    let rank = 1;
    for (const [item, score] of top) yield { category, rank: rank++, item, score };
  }
}

export interface Probe {
  k: string;
  v: number | null;
  m: string | null;
}
export const PROBE_SCHEMA = { k: 'string', v: 'int', m: 'string' } as const;
export const PROBE_OUT = { k: 'string', value: 'int', list: { kind: 'array', element: 'int' }, mapKeys: { kind: 'array', element: 'string' } } as const;
export const PROBE_TTL_MS = 10_000;

/** Writes the row's v into value, list and map state (TTL 10 s each) and reports what it reads after. */
export class TtlProbe extends StatefulProcessor<string, Probe, Record<string, unknown>> {
  private value!: ValueState<number>;
  private list!: ListState<number>;
  private map!: MapState<string, number>;
  init(handle: StatefulProcessorHandle): void {
    this.value = handle.getValueState<number>('value', 'int', { ttl: PROBE_TTL_MS });
    this.list = handle.getListState<number>('list', 'int', { ttl: '10 seconds' });
    this.map = handle.getMapState<string, number>('map', 'string', 'int', { ttl: PROBE_TTL_MS });
  }
  *handleInputRows(k: string, rows: Iterable<Probe>): Generator<Record<string, unknown>> {
    for (const r of rows) {
      if (r.v !== null) {
        this.value.update(r.v);
        this.list.appendValue(r.v);
        if (r.m !== null) this.map.updateValue(r.m, r.v);
      }
    }
    yield { k, value: this.value.get() ?? null, list: [...this.list.get()], mapKeys: [...this.map.keys()].sort() };
  }
}

export const ORDER_SCHEMA = { k: 'string', at: 'long' } as const;
export const ORDER_OUT = { k: 'string', what: 'string', t: 'long' } as const;

/** Registers a processing-time timer at each row's `at`; reports inputs and fired timers. */
export class TimerOrder extends StatefulProcessor<string, { k: string; at: number }, Record<string, unknown>> {
  private handle!: StatefulProcessorHandle;
  private seen!: ValueState<number>;
  init(handle: StatefulProcessorHandle): void {
    this.handle = handle;
    this.seen = handle.getValueState<number>('seen', 'long');
  }
  *handleInputRows(k: string, rows: Iterable<{ k: string; at: number }>): Generator<Record<string, unknown>> {
    for (const r of rows) {
      this.handle.registerTimer(r.at);
      this.seen.update((this.seen.get() ?? 0) + 1);
      yield { k, what: 'input', t: r.at };
    }
  }
  override *handleExpiredTimer(k: string, _tv: TimerValues, info: ExpiredTimerInfo): Generator<Record<string, unknown>> {
    yield { k, what: 'timer', t: info.getExpiryTimeInMs() };
  }
}

export const ECHO_SCHEMA = { k: 'string', ts: 'timestamp' } as const;

/** Emits every input row as it arrives. */
export class Echo extends StatefulProcessor<string, { k: string; ts: Date | null }, { k: string; ts: Date | null }> {
  init(): void {}
  handleInputRows(_k: string, rows: Iterable<{ k: string; ts: Date | null }>): { k: string; ts: Date | null }[] {
    return [...rows];
  }
}
