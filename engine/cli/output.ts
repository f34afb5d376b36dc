/**
 * Where the CLI writes: lines for logs and pipes, a cli-progress bar when stdout is a terminal. With a pipe (tests,
 * CI) every progress update is one line instead, so output can be read and grepped.
 *
 * @module
 */
import type * as CliProgress from 'cli-progress';
import type { SingleBar } from 'cli-progress';
import { lazyModule } from '../io/lazy-module.js';

// Only a terminal shows bars: output to a pipe or a file does not load cli-progress.
const cliProgress = lazyModule<typeof CliProgress>('cli-progress', import.meta.url);

/** A progress display for `done / total` units. */
export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

function formatEta(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Whether a stream's reader has gone (EPIPE), and who to tell: one per stream, shared by every `Output` on it. */
interface ReaderState {
  closed: boolean;
  readonly listeners: Set<() => void>;
}

const readers = new WeakMap<NodeJS.WritableStream, ReaderState>();

/**
 * Watches `stream` for EPIPE (the reader closed the pipe: `sluice run --json | head -1`). Node reports it as an
 * `'error'` event that, unhandled, crashes the process with a stack trace; here it marks the stream closed and tells
 * the listeners instead. Any other error is rethrown, as Node would.
 */
function readerOf(stream: NodeJS.WritableStream): ReaderState {
  const known = readers.get(stream);
  if (known) return known;
  const state: ReaderState = { closed: false, listeners: new Set() };
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    if (state.closed) return;
    state.closed = true;
    for (const l of state.listeners) l();
  });
  readers.set(stream, state);
  return state;
}

/**
 * stdout/stderr of a command. When the reader of stdout goes away (EPIPE), output stops quietly: writes are dropped
 * and `onStdoutClosed` listeners run, so a long-running command can stop as it would on SIGINT.
 *
 * @example
 * const out = new Output(); out.line('batch 0: 120 rows in'); const bar = out.progress('files', 12); bar.update(3);
 */
export class Output {
  private bar: SingleBar | null = null;
  private readonly reader: ReaderState;

  constructor(
    readonly stdout: NodeJS.WriteStream = process.stdout,
    readonly stderr: NodeJS.WriteStream = process.stderr,
    readonly json = false,
  ) {
    this.reader = readerOf(stdout);
    readerOf(stderr); // an EPIPE on stderr is dropped too, not a crash
  }

  /**
   * Calls `listener` once when the reader of stdout closes it; returns the unsubscribe function.
   *
   * @example
   * const off = out.onStdoutClosed(() => void query.stop()); … off();
   */
  onStdoutClosed(listener: () => void): () => void {
    this.reader.listeners.add(listener);
    return () => this.reader.listeners.delete(listener);
  }

  /** Writes `text` to stdout as it is, unless its reader has gone. */
  write(text: string): void {
    if (!this.reader.closed) this.stdout.write(text);
  }

  /** Whether stdout is a terminal (progress bars) or a pipe/file (one line per update). */
  get tty(): boolean {
    return this.stdout.isTTY === true && process.env['SLUICE_NO_TTY'] !== '1';
  }

  /** Prints a line (above a progress bar, if one is showing). */
  line(text = ''): void {
    if (this.reader.closed) return;
    if (this.bar) {
      this.stdout.write('\r\x1b[K');
      this.stdout.write(text + '\n');
      this.bar.render();
    } else this.stdout.write(text + '\n');
  }

  /** Prints an error line on stderr. */
  error(text: string): void {
    this.stderr.write(text + '\n');
  }

  /** Prints a value as JSON (the `--json` output of a command). */
  printJson(value: unknown): void {
    this.write(JSON.stringify(value, null, 2) + '\n');
  }

  /**
   * A progress display: a bar with an ETA on a terminal, otherwise one line per update
   * (`<label>: 3/12 files (25%), ETA 4s`).
   */
  progress(label: string, unit: string, total: number): Progress {
    const started = Date.now();
    if (this.tty) {
      const bar = new (cliProgress().SingleBar)({
        format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted}`,
        stream: this.stdout,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
      });
      bar.start(Math.max(total, 0), 0);
      this.bar = bar;
      return {
        update: (done, t) => {
          if (t !== undefined) bar.setTotal(t);
          bar.update(done);
        },
        stop: () => {
          bar.stop();
          if (this.bar === bar) this.bar = null;
        },
      };
    }
    let lastText = '';
    let tot = total;
    return {
      update: (done, t) => {
        if (t !== undefined) tot = t;
        const pct = tot > 0 ? Math.min(100, Math.floor((done / tot) * 100)) : 100;
        const elapsed = Date.now() - started;
        const eta = done > 0 && tot > done ? formatEta((elapsed / done) * (tot - done)) : done >= tot ? '0s' : '?';
        const text = `${label}: ${done}/${tot} ${unit} (${pct}%), ETA ${eta}`;
        if (text !== lastText) this.write(text + '\n');
        lastText = text;
      },
      stop: () => {},
    };
  }
}

/**
 * An error's message followed by its causes, one `caused by:` line each — except a cause whose message the text
 * already holds (a `StreamingQueryException` repeats its cause's message), so nothing is printed twice.
 *
 * @example
 * errorChain(new Error('backfill failed', { cause: new Error('disk full') })); // 'backfill failed\n  caused by: disk full'
 */
export function errorChain(e: unknown): string {
  let text = e instanceof Error ? e.message : String(e);
  const seen = new Set<unknown>([e]);
  for (let c = e instanceof Error ? e.cause : undefined; c !== undefined && c !== null && !seen.has(c); c = c instanceof Error ? c.cause : undefined) {
    seen.add(c);
    const message = c instanceof Error ? c.message : String(c);
    if (!text.includes(message)) text += `\n  caused by: ${message}`;
  }
  return text;
}
