import type { EventTimeStats } from '../physical/exec-node.js';

/**
 * The global event-time watermark (Spark's WatermarkTracker). After each batch, every watermark operator that saw rows
 * moves to `max(its previous value, maxEventTime − delay)`; one that never saw rows counts as 0; the candidate is the
 * min (or max) over operators, and the global watermark only moves forward.
 *
 * The per-operator values are checkpointed (`operators`, kept in `commits/N` when a query has more than one watermark
 * operator) and given back on a restart. Spark keeps them in memory only: after a restart an operator whose source
 * has no new data counts as 0 again, and under the `min` policy the global watermark then stands still until that
 * source has data — with a source that ended, forever (a stream–stream join never emits the rows its watermark would
 * have evicted). Restored, a restarted query moves its watermark exactly as an uninterrupted one.
 *
 * @example
 * const t = new WatermarkTracker('min', 0);
 * t.update([{ stats: { count: 1, min: 5000, max: 15000, sum: 15000 }, delayMs: 10000 }]);
 * t.current; // 5000
 * const restarted = new WatermarkTracker('min', 5000, t.operators);
 */
export class WatermarkTracker {
  private readonly perOperator = new Map<number, number>();
  /** `operators`: each watermark operator's value (plan order) as `operators` returned it before the restart. */
  constructor(
    readonly policy: 'min' | 'max',
    private global: number,
    operators: readonly number[] = [],
  ) {
    operators.forEach((v, i) => this.perOperator.set(i, v));
  }

  get current(): number {
    return this.global;
  }

  /** Each watermark operator's value in plan order (0: it never saw rows), as of the last `update`. */
  get operators(): number[] {
    return [...this.perOperator.keys()].sort((a, b) => a - b).map((i) => this.perOperator.get(i)!);
  }

  /** Folds one batch's stats (one entry per watermark operator, in plan order); returns the new global watermark. */
  update(ops: readonly { stats: EventTimeStats; delayMs: number }[]): number {
    if (ops.length === 0) return this.global;
    ops.forEach((op, i) => {
      if (op.stats.count > 0) {
        const candidate = op.stats.max - op.delayMs;
        const prev = this.perOperator.get(i);
        if (prev === undefined || candidate > prev) this.perOperator.set(i, candidate);
      } else if (!this.perOperator.has(i)) this.perOperator.set(i, 0);
    });
    const values = [...this.perOperator.values()];
    const chosen = this.policy === 'min' ? Math.min(...values) : Math.max(...values);
    if (chosen > this.global) this.global = chosen;
    return this.global;
  }
}
