/**
 * The failed-login detector of the stateful benchmark (`stateful-bench.ts`), in its own module so that worker threads
 * can load it by reference (`{ module: new URL('./failed-login-detector.ts', import.meta.url).href, export:
 * 'FailedLoginDetector' }`): alert when a user fails to log in 3 times in a row, reset on success.
 *
 * @module
 */
import { StatefulProcessor, type StatefulProcessorHandle, type ValueState } from '../../engine/api/stateful-processor.js';

/** One login as the processor sees it (a row shaped like `collect()`'s). */
export interface Login {
  readonly user: string;
  readonly success: boolean;
  readonly ts: Date | number;
}

/** One alert. */
export interface Alert {
  readonly user: string;
  readonly reason: string;
  readonly at: Date | number;
}

/**
 * Counts each user's consecutive failed logins in a `ValueState`; the third in a row yields an alert and resets the
 * count, a success resets it.
 *
 * @example
 * logins.groupByKey(col('user')).transformWithState(FailedLoginDetector, { outputSchema: { user: 'string', reason: 'string', at: 'timestamp' }, timeMode: 'none', outputMode: 'append' });
 */
export class FailedLoginDetector extends StatefulProcessor<string, Login, Alert> {
  private fails!: ValueState<number>;

  init(handle: StatefulProcessorHandle): void {
    this.fails = handle.getValueState<number>('fails', 'int');
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
