import type { EventTimeStats } from '../physical/exec-node.js';

/**
 * The global event-time watermark (Spark's WatermarkTracker). After each batch, every watermark operator that saw rows
 * moves to `max(its previous value, maxEventTime − delay)`; one that never saw rows counts as 0; the candidate is the
 * min (or max) over operators, and the global watermark only moves forward.
 *
 * @example
 * const t = new WatermarkTracker('min', 0);
 * t.update([{ stats: { count: 1, min: 5000, max: 15000, sum: 15000 }, delayMs: 10000 }]);
 * t.current; // 5000
 */
export class WatermarkTracker {
  private readonly perOperator = new Map<number, number>();
  constructor(
    readonly policy: 'min' | 'max',
    private global: number,
  ) {}

  get current(): number {
    return this.global;
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
