/**
 * Parquet files are decoded on decoder threads (`parquet-decode-worker.ts`), each with its own parquet-wasm
 * instance, one file per thread at a time, so that a WebAssembly trap on a corrupt file ends that thread, not the
 * process, and never leaves a damaged instance behind for the next file.
 *
 * Why a thread: parquet-wasm's async reader runs the Rust decoder from microtasks that wasm-bindgen queues; when it
 * panics (a flipped bit in a page header, a zeroed column chunk), the trap is thrown from such a microtask, outside
 * any promise the caller awaits. try/catch cannot see it, the awaited read never settles, and Node ends the process
 * (`RuntimeError: unreachable`). A thread's uncaught error instead ends the thread and reaches this side as its
 * `error` event, which fails the one file being read on it as a `DecodeFailure` (`crashed: true`).
 *
 * Cost on the good path: one thread start per process (~100–250 ms, while the calling thread goes on) and a message
 * round trip per row group, whose Arrow IPC bytes are transferred, not copied; the next row group is decoded on the
 * thread while the caller works on the current one. One idle thread is kept for the next file (unref'd: it never
 * keeps the process alive); a thread that crashed is dropped and the next file starts a fresh one.
 *
 * @module
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { workerEntryFile, workerExecArgv } from '../../engine/workers/worker-entry.js';

/** A request to a decoder thread; it answers each with one `DecodeReply`, in order. */
export type DecodeRequest =
  | { readonly op: 'open'; readonly path: string }
  | { readonly op: 'stream'; readonly batchSize: number; readonly columns?: readonly string[]; readonly rowGroups?: readonly number[] }
  | { readonly op: 'next' }
  | { readonly op: 'close' };

/** A decoder thread's answer. `failed` is an error the decoder returned (the thread goes on). */
export type DecodeReply =
  | { readonly op: 'ready' }
  | { readonly op: 'opened'; readonly schema: Uint8Array; readonly rowGroupRows: readonly number[] }
  | { readonly op: 'streaming' }
  | { readonly op: 'batch'; readonly ipc: Uint8Array; readonly rows: number }
  | { readonly op: 'end' }
  | { readonly op: 'closed' }
  | { readonly op: 'failed'; readonly message: string; readonly code?: string };

/**
 * Decoding one file failed: the decoder returned an error, or (`crashed`) its thread died of a trap. `rowGroup` is
 * the row group being decoded, when the failure came while streaming.
 *
 * @example
 * catch (e) { if (e instanceof DecodeFailure && e.crashed) … }
 */
export class DecodeFailure extends Error {
  override readonly name = 'DecodeFailure';
  constructor(
    message: string,
    readonly crashed: boolean,
    readonly code: string | undefined,
    readonly rowGroup: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A decoder thread could not start (it died before saying it was ready): no file is to blame. */
export class DecoderStartError extends Error {
  override readonly name = 'DecoderStartError';
}

/** Test hook: how many decoder threads this process has started (one more after each crash). */
export const decoderThreads = { started: 0 };

class DecoderThread {
  private readonly worker: Worker;
  /**
   * The callers of every request not yet answered, oldest first: the thread answers each request once, in order,
   * so a reply always belongs to the oldest. (With one slot, a `close` sent while a `next` was still unanswered
   * took the `next`'s reply, and its own `closed` then answered the next file's `open`.)
   */
  private readonly waiting: { resolve(reply: DecodeReply): void; reject(e: unknown): void }[] = [];
  private started = false;
  crashed: unknown = null;

  constructor() {
    const here = import.meta.url;
    const entry = workerEntryFile({ here, name: 'parquet-decode-worker', sourceDir: fileURLToPath(new URL('.', here)) });
    this.worker = new Worker(entry, { execArgv: workerExecArgv(process.execArgv) });
    decoderThreads.started++;
    this.worker.on('message', (reply: DecodeReply) => {
      if (reply.op === 'ready') {
        this.started = true;
        return;
      }
      this.waiting.shift()?.resolve(reply);
    });
    this.worker.on('error', (e) => this.die(e));
    this.worker.on('exit', (code) => this.die(new Error(`the Parquet decoder thread exited with code ${code}`)));
  }

  private die(e: unknown): void {
    this.crashed ??= this.started
      ? e
      : new DecoderStartError(`The Parquet decoder thread could not start: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    for (const w of this.waiting.splice(0)) w.reject(this.crashed);
  }

  request(request: DecodeRequest): Promise<DecodeReply> {
    if (this.crashed !== null) return Promise.reject(this.crashed);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(request);
    });
  }

  ref(): void {
    this.worker.ref();
  }

  unref(): void {
    this.worker.unref();
  }

  terminate(): void {
    void this.worker.terminate();
  }
}

let idle: DecoderThread | null = null;

function acquire(): DecoderThread {
  // An idle thread that died meanwhile (killed from outside) is not blamed on the next file.
  const t = idle !== null && idle.crashed === null ? idle : new DecoderThread();
  idle = null;
  t.ref();
  return t;
}

function release(t: DecoderThread): void {
  if (t.crashed !== null) return;
  if (idle === null) {
    t.unref();
    idle = t;
  } else {
    t.terminate();
  }
}

/**
 * One Parquet file open on a decoder thread: its Arrow schema (as IPC bytes) and row groups, then its batches.
 * `close()` gives the thread back; it must be called, also after a failure.
 *
 * @example
 * const file = await DecodedParquetFile.open('/data/x.parquet');
 * try { for await (const { ipc } of file.batches(65_536)) … } finally { await file.close(); }
 */
export class DecodedParquetFile {
  private closed = false;

  private constructor(
    private readonly thread: DecoderThread,
    /** The file's Arrow schema as an IPC stream with no batches. */
    readonly schemaIpc: Uint8Array,
    /** Rows of each row group, in file order. */
    readonly rowGroupRows: readonly number[],
  ) {}

  /** Opens `path` on a decoder thread (reads its footer). Throws a `DecodeFailure`. */
  static async open(path: string): Promise<DecodedParquetFile> {
    const thread = acquire();
    let reply: DecodeReply;
    try {
      reply = await thread.request({ op: 'open', path });
    } catch (e) {
      throw crash(e, undefined);
    }
    if (reply.op !== 'opened') {
      const file = new DecodedParquetFile(thread, new Uint8Array(0), []);
      await file.close();
      throw failure(reply, undefined);
    }
    return new DecodedParquetFile(thread, reply.schema, reply.rowGroupRows);
  }

  /**
   * The file's rows as Arrow IPC streams (one per decoded batch, at most `batchSize` rows, never spanning two row
   * groups) with the row group each comes from. Throws a `DecodeFailure` naming the row group. With `rowGroups`,
   * only those row groups (in order) are decoded.
   */
  async *batches(
    batchSize: number,
    columns?: readonly string[],
    rowGroups?: readonly number[],
  ): AsyncGenerator<{ readonly ipc: Uint8Array; readonly rowGroup: number }, void, undefined> {
    const request: DecodeRequest = {
      op: 'stream',
      batchSize,
      ...(columns === undefined ? {} : { columns }),
      ...(rowGroups === undefined ? {} : { rowGroups }),
    };
    const started = await this.ask(request, undefined);
    if (started.op !== 'streaming') throw failure(started, undefined);
    const groups = rowGroups ?? this.rowGroupRows.map((_, i) => i);
    let index = 0;
    let rowsInGroup = 0;
    const at = (): number => {
      while (index < groups.length - 1 && rowsInGroup >= this.rowGroupRows[groups[index]!]!) {
        index++;
        rowsInGroup = 0;
      }
      return groups[index] ?? 0;
    };
    // One batch ahead: the thread decodes the next row group while the caller works on this one.
    let pending: Promise<DecodeReply> | null = this.ask({ op: 'next' }, at());
    try {
      for (;;) {
        const group = at();
        const reply = await pending!;
        pending = null;
        if (reply.op === 'end') return;
        if (reply.op !== 'batch') throw failure(reply, group);
        rowsInGroup += reply.rows;
        pending = this.ask({ op: 'next' }, at());
        pending.catch(() => undefined);
        yield { ipc: reply.ipc, rowGroup: group };
      }
    } finally {
      if (pending !== null) await pending.catch(() => undefined);
    }
  }

  /** Closes the file and gives the thread back (or drops it, if it crashed). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.thread.crashed === null) await this.thread.request({ op: 'close' }).catch(() => undefined);
    release(this.thread);
  }

  private async ask(request: DecodeRequest, rowGroup: number | undefined): Promise<DecodeReply> {
    try {
      return await this.thread.request(request);
    } catch (e) {
      throw crash(e, rowGroup);
    }
  }
}

/**
 * After decoding failed in `rowGroup`, the column whose chunk there fails on its own: each of `columns` is decoded
 * alone, on a fresh thread after a crash, until one fails. Undefined when none does alone (or there is no row group).
 * Runs only after a failure: at most one more crash, and one small decode per healthy column before it.
 *
 * @example
 * const column = await damagedColumn('/data/x.parquet', 2, ['id', 's']); // 's'
 */
export async function damagedColumn(path: string, rowGroup: number, columns: readonly string[]): Promise<string | undefined> {
  for (const column of columns) {
    let file: DecodedParquetFile | null = null;
    try {
      file = await DecodedParquetFile.open(path);
      const rows = Math.max(1, file.rowGroupRows[rowGroup] ?? 1);
      for await (const b of file.batches(rows, [column], [rowGroup])) void b;
    } catch {
      return column;
    } finally {
      await file?.close();
    }
  }
  return undefined;
}

function crash(e: unknown, rowGroup: number | undefined): Error {
  if (e instanceof DecoderStartError) return e;
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new DecodeFailure(message, true, undefined, rowGroup, { cause: e });
}

function failure(reply: DecodeReply, rowGroup: number | undefined): DecodeFailure {
  if (reply.op === 'failed') return new DecodeFailure(reply.message, false, reply.code, rowGroup);
  return new DecodeFailure(`the Parquet decoder answered '${reply.op}' out of turn`, false, undefined, rowGroup);
}
