import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../engine/index.js';
import { Scheduler, type ScheduleEvent } from '../../../engine/cli/schedule/scheduler.js';

const t = (s: string) => Date.parse(s);
const HOUR = 3_600_000;

/** Lets the scheduler's promise chains run after the clock moved. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

function harness(start: string, options: { lastSlot?: string; catchUp?: boolean; cron?: string } = {}) {
  const clock = new ManualClock(t(start));
  const events: ScheduleEvent[] = [];
  const runs: { slot: string; finish: (ok?: boolean) => void }[] = [];
  const s = new Scheduler({
    cron: options.cron ?? '0 3 * * *',
    timezone: 'UTC',
    clock,
    lastSlotMs: options.lastSlot ? t(options.lastSlot) : null,
    catchUp: options.catchUp ?? false,
    onEvent: (e) => events.push(e),
    run: (slot) =>
      new Promise((resolve, reject) => {
        runs.push({ slot: new Date(slot).toISOString(), finish: (ok = true) => (ok ? resolve({ text: 'ok' }) : reject(new Error('boom'))) });
      }),
  });
  const controller = new AbortController();
  const done = s.run(controller.signal);
  const advanceTo = async (iso: string) => {
    await settle();
    clock.advance(t(iso) - clock.now());
    await settle();
  };
  const of = (kind: ScheduleEvent['event']) => events.filter((e) => e.event === kind).map((e) => ('slot' in e ? e.slot : ''));
  return { clock, events, runs, s, controller, done, advanceTo, of };
}

describe('Scheduler (fake clock)', () => {
  it('runs the right slots', async () => {
    const h = harness('2026-05-28T12:00:00Z');
    await h.advanceTo('2026-05-29T02:59:59Z');
    expect(h.runs).toEqual([]);
    await h.advanceTo('2026-05-29T03:00:00Z');
    expect(h.runs.map((r) => r.slot)).toEqual(['2026-05-29T03:00:00.000Z']);
    h.runs[0]!.finish();
    await h.advanceTo('2026-05-30T03:00:00Z');
    h.runs[1]!.finish();
    await h.advanceTo('2026-05-31T03:00:00Z');
    h.runs[2]!.finish(false);
    await h.advanceTo('2026-05-31T12:00:00Z');
    expect(h.of('run')).toEqual(['2026-05-29T03:00:00.000Z', '2026-05-30T03:00:00.000Z', '2026-05-31T03:00:00.000Z']);
    expect(h.events.filter((e) => e.event === 'done').map((e) => (e.event === 'done' ? e.ok : null))).toEqual([true, true, false]);
    expect(h.events.find((e) => e.event === 'done' && !e.ok)).toMatchObject({ error: 'boom' });
    expect(h.of('skipped')).toEqual([]);
    expect(h.of('missed')).toEqual([]);
    h.controller.abort();
    await h.done;
    expect(h.events.at(-1)!.event).toBe('stopped');
  });

  it('never overlaps runs: a slot that comes while a run is going is skipped and reported', async () => {
    const h = harness('2026-05-29T00:00:00Z', { cron: '0 * * * *' });
    await h.advanceTo('2026-05-29T01:00:00Z');
    await h.advanceTo('2026-05-29T02:00:00Z');
    await h.advanceTo('2026-05-29T03:00:00Z');
    expect(h.runs.map((r) => r.slot)).toEqual(['2026-05-29T01:00:00.000Z']);
    expect(h.of('skipped')).toEqual(['2026-05-29T02:00:00.000Z', '2026-05-29T03:00:00.000Z']);
    expect(h.events.find((e) => e.event === 'skipped')).toMatchObject({ reason: 'the previous run is still going', runningSlot: '2026-05-29T01:00:00.000Z' });
    h.runs[0]!.finish();
    await h.advanceTo('2026-05-29T04:00:00Z');
    expect(h.runs.map((r) => r.slot)).toEqual(['2026-05-29T01:00:00.000Z', '2026-05-29T04:00:00.000Z']);
    // stopping waits for the run in progress
    h.controller.abort();
    let stopped = false;
    void h.done.then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    h.runs[1]!.finish();
    await h.done;
    expect(h.of('run').length).toBe(2);
  });

  it('reports slots the clock jumped over as missed and runs the newest', async () => {
    const h = harness('2026-05-29T00:30:00Z', { cron: '0 * * * *' });
    await h.advanceTo('2026-05-29T04:10:00Z'); // e.g. a suspended laptop
    expect(h.of('missed')).toEqual(['2026-05-29T01:00:00.000Z', '2026-05-29T02:00:00.000Z', '2026-05-29T03:00:00.000Z']);
    expect(h.runs.map((r) => r.slot)).toEqual(['2026-05-29T04:00:00.000Z']);
    h.runs[0]!.finish();
    h.controller.abort();
    await h.done;
  });

  it('reports the slots missed while it was not running, and with catch-up runs the newest at once', async () => {
    const a = harness('2026-05-31T10:00:00Z', { lastSlot: '2026-05-28T03:00:00Z' });
    await settle();
    expect(a.of('missed')).toEqual(['2026-05-29T03:00:00.000Z', '2026-05-30T03:00:00.000Z', '2026-05-31T03:00:00.000Z']);
    expect(a.runs).toEqual([]);
    a.controller.abort();
    await a.done;

    const b = harness('2026-05-31T10:00:00Z', { lastSlot: '2026-05-28T03:00:00Z', catchUp: true });
    await settle();
    expect(b.of('missed')).toEqual(['2026-05-29T03:00:00.000Z', '2026-05-30T03:00:00.000Z']);
    expect(b.runs.map((r) => r.slot)).toEqual(['2026-05-31T03:00:00.000Z']);
    b.runs[0]!.finish();
    await b.advanceTo('2026-06-01T03:00:00Z');
    expect(b.runs.map((r) => r.slot)).toEqual(['2026-05-31T03:00:00.000Z', '2026-06-01T03:00:00.000Z']);
    b.runs[1]!.finish();
    b.controller.abort();
    await b.done;
  });

  it('refuses a pattern croner cannot read', () => {
    expect(() => new Scheduler({ cron: '61 * * * *', clock: new ManualClock(0), run: async () => null, onEvent: () => {} })).toThrow(/Invalid cron pattern '61 \* \* \* \*'/);
    void HOUR;
  });
});
