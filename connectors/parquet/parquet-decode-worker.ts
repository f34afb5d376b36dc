/**
 * The Parquet decoder thread: one file at a time, opened as a file-backed Blob and streamed one row group at a time
 * through parquet-wasm, every batch handed to the calling thread as a transferred Arrow IPC buffer.
 *
 * It runs apart from the calling thread because a WebAssembly trap (`RuntimeError: unreachable`, the Rust decoder
 * panicking on a corrupt file) inside parquet-wasm's async reader is thrown from a microtask that wasm-bindgen
 * queues, not from the promise the reader awaits: no try/catch can see it, the awaited promise never settles, and
 * the process dies of an uncaught exception. Here it ends this thread only; `parquet-decoder.ts` turns the thread's
 * death into a `CorruptFileError` and starts a fresh thread (a fresh WebAssembly instance) for the next file.
 *
 * @module
 */
import { openAsBlob } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { ParquetFile, type RecordBatch as WasmRecordBatch } from 'parquet-wasm';
import type { DecodeReply, DecodeRequest } from './parquet-decoder.js';

let file: ParquetFile | null = null;
let reader: ReadableStreamDefaultReader<WasmRecordBatch> | null = null;

function post(reply: DecodeReply, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(reply, transfer);
}

async function close(): Promise<void> {
  if (reader !== null) {
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
    reader = null;
  }
  file?.free();
  file = null;
}

async function handle(request: DecodeRequest): Promise<void> {
  switch (request.op) {
    case 'open': {
      await close();
      const blob = await openAsBlob(request.path);
      file = await ParquetFile.fromFile(blob);
      const meta = file.metadata();
      const rowGroupRows = meta.rowGroups().map((g) => {
        const n = g.numRows();
        g.free();
        return n;
      });
      meta.free();
      const schema = file.schema().intoIPCStream();
      post({ op: 'opened', schema, rowGroupRows }, [schema.buffer as ArrayBuffer]);
      return;
    }
    case 'stream': {
      const options = {
        batchSize: request.batchSize,
        ...(request.columns === undefined ? {} : { columns: [...request.columns] }),
        ...(request.rowGroups === undefined ? {} : { rowGroups: [...request.rowGroups] }),
      };
      const stream = (await file!.stream(options)) as ReadableStream<WasmRecordBatch>;
      reader = stream.getReader();
      post({ op: 'streaming' });
      return;
    }
    case 'next': {
      const next = await reader!.read();
      if (next.done) {
        post({ op: 'end' });
        return;
      }
      const rows = next.value.numRows;
      const ipc = next.value.intoIPCStream();
      post({ op: 'batch', ipc, rows }, [ipc.buffer as ArrayBuffer]);
      return;
    }
    case 'close':
      await close();
      post({ op: 'closed' });
      return;
  }
}

post({ op: 'ready' });
let queue = Promise.resolve();
parentPort!.on('message', (request: DecodeRequest) => {
  queue = queue.then(() =>
    handle(request).catch((e: unknown) => {
      const err = e as { message?: unknown; code?: unknown } | null;
      post({
        op: 'failed',
        message: typeof err?.message === 'string' ? err.message : String(e),
        ...(typeof err?.code === 'string' ? { code: err.code } : {}),
      });
    }),
  );
});
