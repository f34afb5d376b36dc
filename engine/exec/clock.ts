/** Where a streaming query reads the time and waits for triggers. */
export interface Clock {
  now(): number;
  /** Resolves after `ms` (or earlier when `signal` aborts). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The system clock. @example new SystemClock().now() */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const t = setTimeout(done, Math.max(0, ms));
      function done() {
        signal.removeEventListener('abort', done);
        clearTimeout(t);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/**
 * A clock that moves only when told to: for tests of processing-time triggers and batch timestamps.
 *
 * @example
 * const clock = new ManualClock(0); const session = new Session({ clock });
 * clock.advance(1000); // wakes a query waiting for its next 1-second trigger
 */
export class ManualClock implements Clock {
  private waiters: { until: number; resolve: () => void }[] = [];
  constructor(private time = 0) {}
  now(): number {
    return this.time;
  }
  /** Moves time forward and wakes every sleeper whose deadline passed. @example clock.advance(500) */
  advance(ms: number): void {
    this.time += ms;
    const due = this.waiters.filter((w) => w.until <= this.time);
    this.waiters = this.waiters.filter((w) => w.until > this.time);
    for (const w of due) w.resolve();
  }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted || ms <= 0) return resolve();
      const onAbort = () => {
        this.waiters = this.waiters.filter((x) => x !== w);
        resolve();
      };
      const w = {
        until: this.time + ms,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.waiters.push(w);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
  /** Number of sleepers (a test can wait until the query is waiting). */
  get waiting(): number {
    return this.waiters.length;
  }
}
