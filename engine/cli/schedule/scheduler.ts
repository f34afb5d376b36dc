/**
 * The loop of `sluice schedule`: croner computes the cron slots; a `Clock` (the engine's: `SystemClock`, or a
 * `ManualClock` in tests) waits for them. Each slot starts one run; runs never overlap (a slot that comes while the
 * previous run is still going is skipped and reported); slots the process slept through, or that passed while it was
 * not running (from the log of the previous session), are reported as missed. Every event goes to `onEvent`.
 *
 * @module
 */
import { Cron } from 'croner';
import type { Clock } from '../../index.js';

/** One event of the schedule's log. */
export type ScheduleEvent =
  | { readonly event: 'started'; readonly at: string; readonly cron: string; readonly next: string | null }
  | { readonly event: 'run'; readonly slot: string; readonly startedAt: string }
  | { readonly event: 'done'; readonly slot: string; readonly startedAt: string; readonly finishedAt: string; readonly ok: true; readonly result: unknown }
  | { readonly event: 'done'; readonly slot: string; readonly startedAt: string; readonly finishedAt: string; readonly ok: false; readonly error: string }
  | { readonly event: 'skipped'; readonly slot: string; readonly reason: string; readonly runningSlot: string }
  | { readonly event: 'missed'; readonly slot: string; readonly reason: string }
  | { readonly event: 'stopped'; readonly at: string };

export interface SchedulerOptions {
  readonly cron: string;
  /** IANA time zone of the cron pattern (default: the process's). */
  readonly timezone?: string;
  readonly clock: Clock;
  /** One run for a slot (epoch ms). Its result goes to the log. */
  readonly run: (slotMs: number) => Promise<unknown>;
  readonly onEvent: (e: ScheduleEvent) => void;
  /** The last slot a previous session ran (or skipped); slots after it and before now are reported missed. */
  readonly lastSlotMs?: number | null;
  /** Runs the newest missed slot (of the previous session) at once. */
  readonly catchUp?: boolean;
}

/** A cron pattern croner refuses. */
export class CronPatternError extends Error {
  override readonly name = 'CronPatternError';
}

const MAX_SLEEP_MS = 60 * 60_000;
/** Bounds the slots listed as missed after a long outage. */
const MAX_MISSED_LISTED = 1000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * A cron schedule of non-overlapping runs.
 *
 * @example
 * const s = new Scheduler({ cron: '0 3 * * *', timezone: 'UTC', clock: new SystemClock(), run: (slot) => backfill(slot), onEvent: log });
 * await s.run(abortSignal);
 */
export class Scheduler {
  private readonly cron: Cron;
  private running: { slot: number; done: Promise<void> } | null = null;
  /** Slots that started a run, in order (for tests and the summary). */
  readonly ran: number[] = [];
  readonly skipped: number[] = [];
  readonly missed: number[] = [];

  constructor(private readonly o: SchedulerOptions) {
    try {
      this.cron = new Cron(o.cron, { paused: true, ...(o.timezone ? { timezone: o.timezone } : {}) });
    } catch (e) {
      throw new CronPatternError(`Invalid cron pattern '${o.cron}': ${(e as Error).message}`);
    }
  }

  /** The first slot strictly after `ms`, or null when the pattern has no more. */
  nextSlot(ms: number): number | null {
    const d = this.cron.nextRun(new Date(ms));
    return d === null ? null : d.getTime();
  }

  /** Slots in `(afterMs, uptoMs]`, oldest first. */
  slotsBetween(afterMs: number, uptoMs: number): number[] {
    const out: number[] = [];
    for (let t = this.nextSlot(afterMs); t !== null && t <= uptoMs && out.length < MAX_MISSED_LISTED; t = this.nextSlot(t)) out.push(t);
    return out;
  }

  /** The run in progress (its slot), if any. */
  get busySlot(): number | null {
    return this.running?.slot ?? null;
  }

  private start(slot: number): void {
    if (this.running) {
      this.skipped.push(slot);
      this.o.onEvent({ event: 'skipped', slot: iso(slot), reason: 'the previous run is still going', runningSlot: iso(this.running.slot) });
      return;
    }
    this.ran.push(slot);
    const startedAt = iso(this.o.clock.now());
    this.o.onEvent({ event: 'run', slot: iso(slot), startedAt });
    const done = this.o.run(slot).then(
      (result) => this.o.onEvent({ event: 'done', slot: iso(slot), startedAt, finishedAt: iso(this.o.clock.now()), ok: true, result }),
      (e: unknown) => this.o.onEvent({ event: 'done', slot: iso(slot), startedAt, finishedAt: iso(this.o.clock.now()), ok: false, error: e instanceof Error ? e.message : String(e) }),
    );
    const entry = {
      slot,
      done: done.finally(() => {
        if (this.running === entry) this.running = null;
      }),
    };
    this.running = entry;
  }

  private miss(slots: readonly number[], reason: string): void {
    for (const s of slots) {
      this.missed.push(s);
      this.o.onEvent({ event: 'missed', slot: iso(s), reason });
    }
  }

  /**
   * Runs until `signal` aborts; then waits for a run in progress to finish.
   *
   * @example
   * await scheduler.run(controller.signal);
   */
  async run(signal: AbortSignal): Promise<void> {
    const clock = this.o.clock;
    let cursor = clock.now();
    this.o.onEvent({ event: 'started', at: iso(cursor), cron: this.o.cron, next: ((n) => (n === null ? null : iso(n)))(this.nextSlot(cursor)) });
    if (this.o.lastSlotMs !== undefined && this.o.lastSlotMs !== null) {
      const missed = this.slotsBetween(this.o.lastSlotMs, cursor);
      const catchUp = this.o.catchUp && missed.length > 0 ? missed[missed.length - 1]! : null;
      this.miss(catchUp === null ? missed : missed.slice(0, -1), 'sluice schedule was not running');
      if (catchUp !== null) this.start(catchUp);
    }
    while (!signal.aborted) {
      const next = this.nextSlot(cursor);
      if (next === null) break;
      while (!signal.aborted && clock.now() < next) await clock.sleep(Math.min(next - clock.now(), MAX_SLEEP_MS), signal);
      if (signal.aborted) break;
      // The clock may have jumped past several slots (a suspended machine, a blocked event loop): run the newest.
      const due = this.slotsBetween(cursor, clock.now());
      const latest = due[due.length - 1] ?? next;
      this.miss(due.slice(0, -1), 'the scheduler was not awake at that time');
      this.start(latest);
      cursor = latest;
    }
    if (this.running) await this.running.done;
    this.o.onEvent({ event: 'stopped', at: iso(clock.now()) });
  }
}
