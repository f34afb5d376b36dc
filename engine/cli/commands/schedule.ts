/**
 * `sluice schedule <pipeline> --cron "0 3 * * *" --backfill-window "2 days"`: on every cron slot, backfill the
 * trailing window `[slot − window, slot)` (late data a live query dropped is folded in). Runs never overlap; skipped
 * and missed slots are reported; every event is printed and appended to a JSON Lines log, which also tells the next
 * session which slots it missed.
 *
 * @module
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { parseDuration, Session, SystemClock } from '../../index.js';
import { fileStepSync } from '../../io/file-write.js';
import { runBackfill } from '../backfill/backfill.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { loadPipeline } from '../load-pipeline.js';
import type { Output } from '../output.js';
import { CronPatternError, Scheduler, type ScheduleEvent } from '../schedule/scheduler.js';
import { exitCodeOf, handleStopSignals } from '../signals.js';

export interface ScheduleOptions {
  readonly cron: string;
  readonly backfillWindow: string;
  readonly timezone?: string;
  readonly log?: string;
  readonly catchUp?: boolean;
  readonly checkpoint?: string;
  readonly ignoreCheckpoint?: boolean;
  readonly json?: boolean;
}

/** The last slot a previous session ran or skipped, from its log. */
export function lastSlotOf(logFile: string): number | null {
  if (!existsSync(logFile)) return null;
  let last: number | null = null;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const e = JSON.parse(line) as { event?: string; slot?: string };
      if ((e.event === 'run' || e.event === 'skipped' || e.event === 'missed') && typeof e.slot === 'string') {
        const t = Date.parse(e.slot);
        if (!Number.isNaN(t) && (last === null || t > last)) last = t;
      }
    } catch {
      // A torn last line (killed mid-write) is ignored.
    }
  }
  return last;
}

/** One event as a line of text. */
export function eventLine(e: ScheduleEvent): string {
  switch (e.event) {
    case 'started':
      return `schedule started at ${e.at}: cron "${e.cron}", next slot ${e.next ?? 'none'}`;
    case 'run':
      return `run   slot ${e.slot} (started ${e.startedAt})`;
    case 'done': {
      const took = ((Date.parse(e.finishedAt) - Date.parse(e.startedAt)) / 1000).toFixed(1);
      return e.ok ? `done  slot ${e.slot} in ${took} s: ${String((e.result as { text?: string } | null)?.text ?? 'ok')}` : `FAILED slot ${e.slot} after ${took} s: ${e.error}`;
    }
    case 'skipped':
      return `skipped slot ${e.slot}: ${e.reason} (slot ${e.runningSlot})`;
    case 'missed':
      return `missed slot ${e.slot}: ${e.reason}`;
    case 'stopped':
      return `schedule stopped at ${e.at}`;
  }
}

/**
 * Runs the command until SIGINT/SIGTERM; resolves with the exit code.
 *
 * @example
 * await scheduleCommand('sales.json', { cron: '0 3 * * *', backfillWindow: '2 days' }, new Output());
 */
export async function scheduleCommand(file: string, o: ScheduleOptions, out: Output): Promise<ExitCodeValue> {
  const { spec } = await loadPipeline(file);
  let windowMs: number;
  try {
    windowMs = parseDuration(o.backfillWindow, '--backfill-window');
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  if (windowMs <= 0) throw new CliError('--backfill-window must be longer than 0.');
  const log = o.log ?? `${(spec.name ?? 'pipeline').replace(/[^\w.-]+/g, '_')}.schedule.jsonl`;
  const controller = new AbortController();
  let failures = 0;
  let scheduler: Scheduler;
  try {
    scheduler = new Scheduler({
      cron: o.cron,
      ...(o.timezone ? { timezone: o.timezone } : {}),
      clock: new SystemClock(),
      lastSlotMs: lastSlotOf(log),
      catchUp: o.catchUp === true,
      onEvent: (e) => {
        if (e.event === 'done' && !e.ok) failures++;
        fileStepSync('write', log, () => appendFileSync(log, JSON.stringify(e) + '\n'));
        if (o.json) out.write(JSON.stringify(e) + '\n');
        else out.line(eventLine(e));
      },
      run: async (slot) => {
        const r = await runBackfill(
          {
            spec,
            file,
            range: { fromMs: slot - windowMs, toMs: slot },
            ...(o.checkpoint !== undefined ? { checkpoint: o.checkpoint } : {}),
            ...(o.ignoreCheckpoint ? { ignoreCheckpoint: true } : {}),
          },
          () => new Session(),
        );
        return {
          text: `replaced ${r.plan.dates.length} partition(s) [${r.plan.dates[0]} .. ${r.plan.dates[r.plan.dates.length - 1]}], ${r.rowsWritten} rows, table version ${r.version ?? '-'}`,
          range: { from: new Date(r.plan.range.fromMs).toISOString(), to: new Date(r.plan.range.toMs).toISOString() },
          version: r.version,
          rowsWritten: r.rowsWritten,
          filesAdded: r.filesAdded,
          filesRemoved: r.filesRemoved,
        };
      },
    });
  } catch (e) {
    if (e instanceof CronPatternError) throw new CliError(e.message);
    throw e;
  }
  const signals = handleStopSignals((sig) => {
    if (!o.json) out.line(`${sig}: stopping${scheduler.busySlot !== null ? ' after the running backfill' : ''}…`);
    controller.abort();
  });
  // The reader of stdout went away (`sluice schedule … --json | head -1`): stop after the running backfill and exit 0.
  const offClosed = out.onStdoutClosed(() => controller.abort());
  try {
    await scheduler.run(controller.signal);
  } finally {
    signals.dispose();
    offClosed();
  }
  if (signals.received) return exitCodeOf(signals.received);
  return failures > 0 ? ExitCode.failed : ExitCode.ok;
}
