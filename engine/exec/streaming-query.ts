/**
 * `StreamingQuery`: a running streaming query, and the session's `StreamingQueryManager` with listeners.
 *
 * @module
 */
import { MicroBatchExecution, type ExecutionOptions } from './micro-batch-execution.js';
import type { StreamingQueryProgress, StreamingQueryStatus } from './progress.js';
import { streamingPlanWarnings } from '../logical/unsupported-operations.js';

/** Events a listener receives (Spark's StreamingQueryListener). */
export interface StreamingQueryListener {
  /** `warnings`: what the query will do that it may not mean to (see `streamingPlanWarnings`), also printed once. */
  onQueryStarted?(e: { id: string; runId: string; name: string | null; timestamp: string; warnings: readonly string[] }): void;
  onQueryProgress?(e: { progress: StreamingQueryProgress }): void;
  onQueryIdle?(e: { id: string; runId: string; timestamp: string }): void;
  onQueryTerminated?(e: { id: string; runId: string; exception: Error | null }): void;
}

/** The query stopped with an error; `cause` is the original. */
export class StreamingQueryException extends Error {
  override readonly name = 'StreamingQueryException';
  constructor(
    message: string,
    readonly queryId: string,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A streaming query started by `writeStream…start()`. It runs in the background; stop it with `stop()`.
 *
 * @example
 * const q = df.writeStream.format('memory').queryName('t').start();
 * await q.processAllAvailable();
 * console.log(q.lastProgress?.numInputRows);
 * await q.stop();
 */
export class StreamingQuery {
  private readonly exec: MicroBatchExecution;
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;
  private progress: StreamingQueryProgress[] = [];
  private error: Error | null = null;
  private active = true;
  private waiters: { after: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** When the last progress entry was recorded (-Infinity before any): paces idle entries. */
  private lastNoExecutionProgress = -Infinity;
  /**
   * What the query will do that it may not mean to, found when it started (e.g. a stream–stream join side whose
   * state is never evicted); each was printed once and sent to listeners with `onQueryStarted`.
   */
  readonly warnings: readonly string[];

  constructor(
    options: ExecutionOptions,
    private readonly manager: StreamingQueryManager,
  ) {
    this.exec = new MicroBatchExecution(options, {
      onStarted: () => {},
      onProgress: (p) => {
        this.record(p);
        this.lastNoExecutionProgress = options.clock.now();
        this.manager.emit('onQueryProgress', { progress: p });
      },
      onIdle: (progress) => {
        const { current } = this.exec.iterations;
        const ready = this.waiters.filter((w) => w.after < current);
        this.waiters = this.waiters.filter((w) => w.after >= current);
        for (const w of ready) w.resolve();
        // Spark's ProgressReporter.updateIdleness: an idle trigger records a progress entry at most once per
        // noDataProgressEventInterval since the last entry — at once after a start that finds nothing new — and
        // posts onQueryIdle from the second such entry on.
        const now = options.clock.now();
        if (now - options.conf.noDataProgressEventIntervalMs >= this.lastNoExecutionProgress) {
          this.record(progress());
          if (this.lastNoExecutionProgress > -Infinity) {
            this.manager.emit('onQueryIdle', { id: this.id, runId: this.runId, timestamp: new Date(now).toISOString() });
          }
          this.lastNoExecutionProgress = now;
        }
      },
    });
    this.exec.prepare();
    this.warnings = streamingPlanWarnings(options.plan);
    for (const w of this.warnings) console.warn(`sluice: ${w}`);
    this.manager.emit('onQueryStarted', { id: this.id, runId: this.runId, name: options.queryName, timestamp: new Date().toISOString(), warnings: this.warnings });
    this.done = this.exec.run(this.abort.signal).then(
      () => this.finish(null),
      (e: unknown) => this.finish(e instanceof Error ? e : new Error(String(e))),
    );
  }

  private record(p: StreamingQueryProgress): void {
    this.progress.push(p);
    if (this.progress.length > 100) this.progress.shift();
  }

  private finish(e: Error | null): void {
    this.active = false;
    if (e) {
      this.error = e instanceof StreamingQueryException ? e : new StreamingQueryException(`Query ${this.name ?? this.id} terminated: ${e.message}`, this.id, { cause: e });
    }
    for (const w of this.waiters) (this.error ? w.reject(this.error) : w.resolve());
    this.waiters = [];
    this.manager.terminated(this);
    this.manager.emit('onQueryTerminated', { id: this.id, runId: this.runId, exception: this.error });
  }

  /** Stable across restarts (the checkpoint's `metadata`). */
  get id(): string {
    return this.exec.id;
  }
  /** New on every start. */
  get runId(): string {
    return this.exec.runId;
  }
  get name(): string | null {
    return this.manager.nameOf(this);
  }
  /** The latest trigger's progress: of a batch, or of an idle trigger (see `ranBatch`). */
  get lastProgress(): StreamingQueryProgress | null {
    return this.progress[this.progress.length - 1] ?? null;
  }
  /** Progress of the last (up to 100) triggers: executed batches, and idle triggers paced by noDataProgressEventInterval. */
  get recentProgress(): readonly StreamingQueryProgress[] {
    return [...this.progress];
  }
  get status(): StreamingQueryStatus {
    return this.active ? this.exec.status : { message: 'Stopped', isDataAvailable: false, isTriggerActive: false };
  }
  /** The error the query stopped with, if any. */
  get exception(): Error | null {
    return this.error;
  }
  get isActive(): boolean {
    return this.active;
  }
  /** The event-time watermark (epoch ms) the next batch will run with; null until the query has read its checkpoint. */
  get watermarkMs(): number | null {
    return this.exec.watermarkMs;
  }
  /** The checkpoint folder. */
  get checkpointLocation(): string {
    return this.exec.paths.root;
  }

  /**
   * Waits until every row available when called is processed (and any no-data batch it triggers has run). Throws the
   * query's error if it fails meanwhile.
   *
   * @example
   * input.addData(rows); await q.processAllAvailable();
   */
  processAllAvailable(): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    if (!this.active) return Promise.resolve();
    // Idle with nothing pending (every source's latest offset is committed, no no-data batch due): nothing to wait for.
    if (this.exec.isIdleWithNothingPending()) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ after: this.exec.iterations.current, resolve, reject }));
  }

  /**
   * Stops after the current batch (a batch in flight completes and commits) and resolves when the query has stopped.
   *
   * @example
   * await q.stop();
   */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  /**
   * Resolves when the query stops (true), or after `timeoutMs` (false); rejects with the query's error.
   *
   * @example
   * await q.awaitTermination(); // a trigger-once or availableNow query
   */
  async awaitTermination(timeoutMs?: number): Promise<boolean> {
    if (timeoutMs === undefined) {
      await this.done;
      if (this.error) throw this.error;
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      this.done.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (finished && this.error) throw this.error;
    return finished;
  }

  /** Prints (and returns) the physical plan, one operator per line, as `DataFrame.explain()`. @example q.explain() */
  explain(options: { print?: boolean } = {}): string {
    const text = this.exec.explain();
    if (options.print !== false) console.log(text);
    return text;
  }
}

/**
 * The session's running queries and listeners (`session.streams`).
 *
 * @example
 * session.streams.addListener({ onQueryProgress: ({ progress }) => console.log(progress.batchId) });
 * session.streams.active; // running queries
 */
export class StreamingQueryManager {
  private readonly listeners: StreamingQueryListener[] = [];
  private readonly queries = new Map<StreamingQuery, string | null>();

  /** Registers a listener. @example streams.addListener({ onQueryTerminated: (e) => … }) */
  addListener(l: StreamingQueryListener): void {
    this.listeners.push(l);
  }
  /** Removes a listener. */
  removeListener(l: StreamingQueryListener): void {
    const i = this.listeners.indexOf(l);
    if (i >= 0) this.listeners.splice(i, 1);
  }
  /** Running queries. */
  get active(): StreamingQuery[] {
    return [...this.queries.keys()].filter((q) => q.isActive);
  }
  /** A running query by id or name. */
  get(idOrName: string): StreamingQuery | null {
    for (const [q, n] of this.queries) if (q.isActive && (q.id === idOrName || n === idOrName)) return q;
    return null;
  }
  /** Stops every running query. @example await session.streams.stopAll() */
  async stopAll(): Promise<void> {
    await Promise.all(this.active.map((q) => q.stop()));
  }
  /** Waits until any query stops. */
  async awaitAnyTermination(): Promise<void> {
    await Promise.race(this.active.map((q) => q.awaitTermination().catch(() => true)));
  }

  /** Starts a query (used by `DataStreamWriter.start`). */
  start(options: ExecutionOptions): StreamingQuery {
    if (options.queryName && this.get(options.queryName)) {
      throw new Error(`A query named '${options.queryName}' is already active. Stop it first or choose another queryName.`);
    }
    const q = new StreamingQuery(options, this);
    this.queries.set(q, options.queryName);
    return q;
  }

  /** @internal */
  nameOf(q: StreamingQuery): string | null {
    return this.queries.get(q) ?? null;
  }
  /** @internal */
  terminated(q: StreamingQuery): void {
    void q;
  }
  /** @internal */
  emit<K extends keyof StreamingQueryListener>(event: K, arg: Parameters<NonNullable<StreamingQueryListener[K]>>[0]): void {
    for (const l of this.listeners) {
      try {
        (l[event] as ((a: typeof arg) => void) | undefined)?.(arg);
      } catch (e) {
        console.error(`sluice: a StreamingQueryListener.${event} threw:`, e);
      }
    }
  }
}
