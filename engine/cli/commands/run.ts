/**
 * `sluice run <pipeline>`: runs a pipeline as a streaming query until it is stopped (or, with `once` /
 * `available-now`, until the input is done), printing one line per batch, or a progress bar with `available-now` on
 * a terminal. SIGINT/SIGTERM stop it after the current batch; a restart continues from the checkpoint.
 *
 * @module
 */
import { parseDuration, Session, startPipeline, type StreamingQueryProgress } from '../../index.js';
import type { ResolvedTrigger } from '../../spec/pipeline-spec.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { loadPipeline } from '../load-pipeline.js';
import { errorChain, type Output, type Progress } from '../output.js';
import { exitCodeOf, handleStopSignals } from '../signals.js';

export interface RunOptions {
  readonly trigger?: string;
  readonly checkpoint?: string;
  readonly json?: boolean;
}

/**
 * `once`, `available-now` or an interval (`"1 second"`, `500ms`, `0`).
 *
 * @example
 * parseTriggerOption('available-now'); // { availableNow: true }
 */
export function parseTriggerOption(v: string): ResolvedTrigger {
  const s = v.trim().toLowerCase();
  if (s === 'once') return { once: true };
  if (s === 'available-now' || s === 'availablenow' || s === 'available_now') return { availableNow: true };
  try {
    const ms = parseDuration(/^\d+$/.test(s) ? Number(s) : s, 'trigger interval');
    if (ms < 0) throw new Error('negative');
    return { processingTime: ms };
  } catch {
    throw new CliError(`--trigger ${JSON.stringify(v)}: use once, available-now or an interval like "1 second" or 500ms.`);
  }
}

/**
 * One progress line: `batch 3: 1200 rows in, 15 rows out, watermark …, 412 ms`. Rows the batch did not pass on as
 * read are named when there are any, so none is lost silently: malformed input rows (and how many of them the reader's
 * mode dropped), rows a window aggregation could place in no window, corrupt files skipped, rows dropped as late and
 * rows sent to the dead-letter output.
 *
 * @example
 * progressLine(p); // 'batch 0: 3 rows in, 0 rows out, 1 malformed (1 dropped), 1 in no window, 18 ms'
 */
export function progressLine(p: StreamingQueryProgress): string {
  const parts = [`batch ${p.batchId}: ${p.numInputRows} rows in, ${p.sink.numOutputRows} rows out`];
  const wm = p.eventTime['watermark'];
  if (wm !== undefined) parts.push(`watermark ${wm}`);
  const sourceSum = (metric: string): number => p.sources.reduce((s, src) => s + (Number(src.metrics[metric] ?? 0) || 0), 0);
  const malformed = sourceSum('numMalformedRows');
  const dropped = sourceSum('numDroppedMalformedRows');
  if (malformed > 0) parts.push(dropped > 0 ? `${malformed} malformed (${dropped} dropped)` : `${malformed} malformed`);
  const corrupt = sourceSum('numCorruptFilesSkipped');
  if (corrupt > 0) parts.push(`${corrupt} corrupt file${corrupt === 1 ? '' : 's'} skipped`);
  const noWindow = p.stateOperators.reduce((s, o) => s + (o.numRowsWithoutWindow ?? 0), 0);
  if (noWindow > 0) parts.push(`${noWindow} in no window`);
  const late = p.stateOperators.reduce((s, o) => s + o.numRowsDroppedByWatermark, 0);
  // numRowsDroppedByWatermark as the engine reports it (its window aggregation counts late groups, not rows).
  if (late > 0) parts.push(`${late} dropped as late`);
  if (p.numDeadLetterRows) parts.push(`${p.numDeadLetterRows} dead letters`);
  parts.push(`${p.batchDuration} ms`);
  return parts.join(', ');
}

/** Units done / total for an available-now bar, from the sources' progress; null when no source says. */
function workOf(p: StreamingQueryProgress, startLag: Map<number, number>): { done: number; total: number; unit: string } | null {
  let done = 0;
  let total = 0;
  let unit = '';
  for (let i = 0; i < p.sources.length; i++) {
    const s = p.sources[i]!;
    const latest = s.latestOffset as { filesListed?: number } | null;
    if (s.metrics['numFilesLogged'] !== undefined && typeof latest?.filesListed === 'number') {
      done += Number(s.metrics['numFilesLogged']);
      total += latest.filesListed;
      unit = 'files';
    } else if (s.metrics['totalOffsetsBehindLatest'] !== undefined) {
      const lag = Number(s.metrics['totalOffsetsBehindLatest']);
      if (!startLag.has(i)) startLag.set(i, lag + s.numInputRows);
      total += startLag.get(i)!;
      done += startLag.get(i)! - lag;
      unit = 'offsets';
    } else return null;
  }
  return unit === '' ? null : { done, total, unit };
}

/**
 * Runs the command; resolves with the exit code.
 *
 * @example
 * const code = await runCommand('pipelines/sales.json', { trigger: 'available-now' }, new Output());
 */
export async function runCommand(file: string, o: RunOptions, out: Output): Promise<ExitCodeValue> {
  const { spec } = await loadPipeline(file);
  const trigger = o.trigger !== undefined ? parseTriggerOption(o.trigger) : undefined;
  const session = new Session();
  const availableNow = trigger ? 'availableNow' in trigger : spec.trigger !== undefined && 'availableNow' in spec.trigger;
  let bar: Progress | null = null;
  const startLag = new Map<number, number>();
  // The last batch this run executed (onQueryProgress is posted for executed batches only; an idle trigger's entry in
  // recentProgress is not one, and a long idle spell can push the last batch out of recentProgress).
  const ran: { last: StreamingQueryProgress | null } = { last: null };
  session.streams.addListener({
    onQueryProgress: ({ progress }) => {
      ran.last = progress;
      if (o.json) {
        out.write(JSON.stringify(progress) + '\n');
        return;
      }
      const work = availableNow && out.tty ? workOf(progress, startLag) : null;
      if (work) {
        bar ??= out.progress(`${spec.name ?? 'query'}`, work.unit, work.total);
        bar.update(work.done, work.total);
      } else out.line(progressLine(progress));
    },
  });
  const q = startPipeline(spec, session, { ...(trigger ? { trigger } : {}), ...(o.checkpoint ? { checkpoint: o.checkpoint } : {}) }, file);
  if (!o.json) {
    out.line(`started ${spec.name ?? file}: query ${q.id}, checkpoint ${q.checkpointLocation}`);
  }
  const signals = handleStopSignals((sig) => {
    if (!o.json) out.line(`${sig}: stopping after the current batch… (again to exit at once)`);
    void q.stop();
  });
  // The reader of stdout went away (`sluice run --json | head -1`): stop after the current batch, as on SIGINT, and exit 0.
  const offClosed = out.onStdoutClosed(() => void q.stop());
  try {
    await q.awaitTermination();
  } catch (e) {
    (bar as Progress | null)?.stop();
    out.error(`query failed: ${errorChain(e)}`);
    return ExitCode.failed;
  } finally {
    signals.dispose();
    offClosed();
  }
  (bar as Progress | null)?.stop();
  const last = ran.last;
  if (!o.json) {
    out.line(
      last === null
        ? 'stopped: no batch ran (nothing new in the input)'
        : `stopped after batch ${last.batchId} (committed); a restart continues with batch ${last.batchId + 1}`,
    );
  }
  return signals.received ? exitCodeOf(signals.received) : ExitCode.ok;
}
