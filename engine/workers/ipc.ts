import { RecordBatch, Table, tableFromIPC, tableToIPC } from 'apache-arrow';

/** A batch as IPC stream bytes (a fresh buffer, safe to transfer). @example const bytes = toIpc(batch) */
export function toIpc(batch: RecordBatch): Uint8Array {
  return tableToIPC(new Table([batch]), 'stream');
}

/** The batch in IPC stream bytes (zero copy over the buffer). @example const batch = fromIpc(bytes) */
export function fromIpc(bytes: Uint8Array): RecordBatch {
  const t = tableFromIPC(bytes);
  if (t.batches.length === 1) return t.batches[0]!;
  return new RecordBatch(t.schema, t.data[0]!);
}

/** Buffers to transfer for a list of optional byte arrays. */
export function transferables(...lists: (Uint8Array | null | undefined)[][]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const l of lists) for (const b of l) if (b && !out.includes(b.buffer as ArrayBuffer)) out.push(b.buffer as ArrayBuffer);
  return out;
}
