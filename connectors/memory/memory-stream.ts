import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import type { DataFrame } from '../../engine/api/dataframe.js';
import type { Session } from '../../engine/api/session.js';
import type { Offset, ReadLimit, SourceContext, StreamSource } from '../../engine/io/source.js';
import { schemaOf, type Schema, type SchemaSpec } from '../../engine/types/data-type.js';
import { batchFromRows } from '../../engine/types/values.js';
import { appendAll } from '../../engine/types/arrays.js';

let counter = 0;

/**
 * An in-memory streaming source for tests, demos and notebooks (Spark's MemoryStream). Each `addData` call becomes one
 * unit of input; its offset is the number of calls so far. Data lives in the process: after a restart in another
 * process the rows are gone, so use it with a checkpoint only within one process.
 *
 * A query that starts from a checkpoint whose offsets another MemoryStream wrote (a re-run of a script, a new
 * instance in the same process) reads on from those offsets: this stream's first units, up to the checkpoint's
 * offset, count as processed and are skipped. Since that is almost never what a re-run means, the source warns on
 * stderr, naming the checkpoint and the fix (a new `checkpointLocation`, or deleting the folder). It does not refuse:
 * re-adding the same rows to a new MemoryStream is how a test replays an input that, unlike this one, would persist.
 * Spark's MemoryStream neither persists nor warns.
 *
 * @example
 * const input = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
 * const q = input.toDF().writeStream.format('memory').queryName('out').start();
 * input.addData([{ value: 1, eventTime: 15_000 }]);
 */
export class MemoryStream {
  readonly schema: Schema;
  readonly id = counter++;
  /** Tells this stream from others in a checkpoint (`sources/<i>/memory-stream.json`): ids repeat across processes. */
  readonly instanceId = randomUUID();
  private readonly batches: RecordBatch[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly session: Session,
    schema: SchemaSpec | Schema,
  ) {
    this.schema = schemaOf(schema as SchemaSpec);
  }

  /** Appends rows (plain objects converted to the schema); returns the new offset. @example input.addData([{ value: 1 }]) */
  addData(rows: readonly Record<string, unknown>[]): number {
    this.batches.push(batchFromRows(rows, this.schema));
    this.notify();
    return this.batches.length;
  }

  /** Appends ready-made Arrow batches (canonical layout). @example input.addBatches([batch]) */
  addBatches(batches: readonly RecordBatch[]): number {
    appendAll(this.batches, batches);
    this.notify();
    return this.batches.length;
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  /** Calls `listener` after each `addData`/`addBatches`; returns the unsubscribe function. @example const off = input.onNewData(() => {}) */
  onNewData(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Number of `addData` calls so far. */
  get latest(): number {
    return this.batches.length;
  }

  /** Rows of units `(start, end]`. */
  slice(start: number, end: number): RecordBatch[] {
    return this.batches.slice(start, end);
  }

  /** A streaming DataFrame over this input. @example input.toDF().withWatermark('eventTime', '10 seconds') */
  toDF(): DataFrame {
    const self = this;
    return this.session.streamingDataFrame({
      schema: this.schema,
      description: `MemoryStream[${this.id}]`,
      sourceKey: this,
      format: 'memory',
      options: { id: String(this.id) },
      make: () => new MemoryStreamSource(self),
    });
  }
}

/** The file in a source's checkpoint folder naming the MemoryStream instance whose offsets the checkpoint holds. */
const INSTANCE_FILE = 'memory-stream.json';

class MemoryStreamSource implements StreamSource {
  /** The checkpoint folder, and the instance recorded there (null: none yet, or a checkpoint from before it was recorded). */
  private restart: { checkpoint: string; writer: string | null } | null = null;
  private checked = false;

  constructor(private readonly stream: MemoryStream) {}
  get schema(): Schema {
    return this.stream.schema;
  }
  get description(): string {
    return `MemoryStream[${this.stream.id}]`;
  }
  async open(ctx: SourceContext): Promise<void> {
    const file = join(ctx.metadataDir, INSTANCE_FILE);
    let writer: string | null = null;
    try {
      writer = String((JSON.parse(readFileSync(file, 'utf8')) as { instance?: unknown }).instance ?? '');
    } catch {
      // a new checkpoint, or one written before the instance was recorded
    }
    this.restart = { checkpoint: dirname(dirname(ctx.metadataDir)), writer };
    if (writer !== this.stream.instanceId) writeFileSync(file, JSON.stringify({ instance: this.stream.instanceId }) + '\n');
  }

  /**
   * On the first offset the query hands over from its checkpoint: warns when this stream's first `start` units will
   * be skipped as processed though this stream never ran them (another instance wrote the checkpoint, or the stream
   * holds fewer units than the checkpoint's offset).
   */
  private checkStart(start: Offset | null): void {
    if (this.checked || start === null || this.restart === null) return;
    this.checked = true;
    const s = start as number;
    const { checkpoint, writer } = this.restart;
    const other = writer !== null && writer !== this.stream.instanceId;
    if (s === 0 || (!other && s <= this.stream.latest)) return;
    console.warn(
      `sluice: ${this.description} restarts from the checkpoint ${checkpoint}, whose offsets say ${s} addData call(s) ` +
        `were processed already${other ? ' by another MemoryStream' : `, but this stream holds ${this.stream.latest}`}. ` +
        `A MemoryStream keeps its rows in this process only, so the first ${s} addData call(s) of this one are skipped ` +
        `as processed. To process them, give the query a new checkpointLocation or delete ${checkpoint}.`,
    );
  }

  async latestOffset(start: Offset | null, limit: ReadLimit): Promise<Offset | null> {
    this.checkStart(start);
    const s = start === null ? 0 : (start as number);
    let end = this.stream.latest;
    if (limit.kind === 'maxRows' || limit.kind === 'maxFiles') end = Math.min(end, s + Math.max(1, limit.max));
    // a stream behind the checkpoint's offset has nothing new (never an end before the start)
    if (end <= s) return start;
    return end;
  }
  reportLatestOffset(): Offset | null {
    return this.stream.latest === 0 ? null : this.stream.latest;
  }
  onNewData(listener: () => void): () => void {
    return this.stream.onNewData(listener);
  }
  async *getBatch(start: Offset | null, end: Offset): AsyncIterable<RecordBatch> {
    this.checkStart(start);
    yield* this.stream.slice(start === null ? 0 : (start as number), end as number);
  }
}
