import { promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { RecordBatch, RecordBatchStreamWriter, tableFromIPC, Table } from 'apache-arrow';
import { CorruptCheckpointError, listIfExists, readIfExists, writeReplace } from '../checkpoint/atomic-file.js';
import { field, fromArrowSchema, schemaOf, type Schema } from '../types/data-type.js';
import { batchFromVecs, columnVec, emptyBatch, jsonValueAt } from '../types/values.js';
import { concatVecs, gatherVec } from '../kernels/select-kernel.js';
import type { NumVec, Vec } from '../kernels/vec.js';

/** A state version that a restart needs but that is not on disk. */
export class MissingStateError extends Error {
  override readonly name = 'MissingStateError';
}

/** The end marker of a state file. */
const MAGIC = Buffer.from('SLST');
/**
 * The end marker of a delta that also records an eviction (24 bytes before the checksum, see `StateEviction`); its
 * checksum covers the marker too, so the marker cannot turn into `SLST` unnoticed. Versions before it reject such a
 * file as "not a sluice state file" instead of restoring the evicted rows.
 */
const MAGIC_EVICT = Buffer.from('SLSE');

/**
 * Groups evicted by a watermark without a delete row each: every group whose event time — its key column
 * `keyColumn` plus `windowSizeMs` (a window's start plus its size; 0 for a raw timestamp key) — is at or below
 * `watermarkMs`. A null event time never expires. The file records all three, so the replay does not depend on the
 * query that restarts (it may have another window, output mode or no watermark).
 */
export interface StateEviction {
  readonly watermarkMs: number;
  readonly windowSizeMs: number;
  readonly keyColumn: number;
}
export const OP_PUT = 1;
export const OP_DELETE = 0;

/** Adds the `__op` column to a state schema: 1 = put, 0 = delete (keys only). */
export function deltaSchema(state: Schema): Schema {
  return schemaOf([field('__op', 'int', false), ...state.fields]);
}

/**
 * A state file: Arrow IPC; for a delta with an eviction, its watermark, window size and key column (three float64);
 * a CRC-32 (of the IPC alone for `SLST`; of the IPC, eviction and end marker for `SLSE`); and the end marker.
 *
 * Returned as the IPC writer's own pieces plus a trailer, for one vectored write: the file's bytes are never joined
 * into one buffer (a 390 k-row delta is ~11 MB, and every such buffer also counts towards V8's next collection).
 */
async function frame(table: Table, eviction: StateEviction | null = null): Promise<Uint8Array[]> {
  const writer = RecordBatchStreamWriter.writeAll(table);
  writer.finish();
  const parts: Uint8Array[] = [];
  let crc = 0;
  for await (const chunk of writer) {
    if (chunk.byteLength === 0) continue;
    parts.push(chunk);
    crc = crc32(chunk, crc);
  }
  let trailer: Buffer;
  if (eviction === null) {
    trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc, 0);
    MAGIC.copy(trailer, 4);
  } else {
    trailer = Buffer.alloc(32);
    trailer.writeDoubleLE(eviction.watermarkMs, 0);
    trailer.writeDoubleLE(eviction.windowSizeMs, 8);
    trailer.writeDoubleLE(eviction.keyColumn, 16);
    trailer.writeUInt32LE(crc32(MAGIC_EVICT, crc32(trailer.subarray(0, 24), crc)), 24);
    MAGIC_EVICT.copy(trailer, 28);
  }
  parts.push(trailer);
  return parts;
}

function unframe(buf: Buffer, file: string): { table: Table; eviction: StateEviction | null } {
  const end = buf.length >= 4 ? buf.subarray(buf.length - 4) : null;
  const evicts = end !== null && end.equals(MAGIC_EVICT);
  if (buf.length < (evicts ? 32 : 8) || !(evicts || end!.equals(MAGIC))) {
    throw new CorruptCheckpointError(`${file} is truncated or not a sluice state file (no end marker).`);
  }
  const body = buf.subarray(0, buf.length - 8);
  const crc = evicts ? crc32(MAGIC_EVICT, crc32(body)) : crc32(body);
  if (crc !== buf.readUInt32LE(buf.length - 8)) {
    throw new CorruptCheckpointError(`${file} is corrupt (checksum mismatch). Restore the checkpoint from a backup.`);
  }
  const ipc = evicts ? body.subarray(0, body.length - 24) : body;
  const at = body.length - 24;
  const eviction = evicts
    ? { watermarkMs: body.readDoubleLE(at), windowSizeMs: body.readDoubleLE(at + 8), keyColumn: body.readDoubleLE(at + 16) }
    : null;
  try {
    return { table: tableFromIPC(ipc), eviction };
  } catch (e) {
    throw new CorruptCheckpointError(`${file} cannot be read as Arrow IPC: ${(e as Error).message}`);
  }
}

/**
 * The columns of a state file (`<v>.delta` without its `__op` column, or `<v>.snapshot`), read from the file itself
 * (its checksum checked): for readers of a checkpoint written before `operator.json` described its tables.
 *
 * @example
 * stateFileSchema('ckpt/state/0/0/3.delta').fields.map((f) => f.name); // ['__window_start', 'user', 'a0_count']
 */
export function stateFileSchema(file: string): Schema {
  const { table } = unframe(readFileSync(file), file);
  const schema = fromArrowSchema(table.schema);
  return file.endsWith('.delta') ? schemaOf(schema.fields.slice(1)) : schema;
}

/**
 * The versions of a state folder's files, from its file names: deltas, and snapshots in ascending order.
 *
 * @example
 * stateVersions(['1.delta', '2.delta', '2.snapshot', 'x.tmp']); // { deltas: Set {1, 2}, snapshots: [2] }
 */
export function stateVersions(names: readonly string[]): { deltas: Set<number>; snapshots: number[] } {
  const deltas = new Set<number>();
  const snapshots: number[] = [];
  for (const n of names) {
    const m = /^(\d+)\.(delta|snapshot)$/.exec(n);
    if (!m) continue;
    if (m[2] === 'delta') deltas.add(Number(m[1]));
    else snapshots.push(Number(m[1]));
  }
  snapshots.sort((a, b) => a - b);
  return { deltas, snapshots };
}

/**
 * A versioned keyed store for one partition of one stateful operator. Batch N writes version N+1 as a delta (puts and
 * deletes by key) and, every `snapshotInterval` versions, a snapshot of every row. Loading version v reads the newest
 * snapshot ≤ v and replays the deltas after it. Files: `<dir>/<v>.delta`, `<dir>/<v>.snapshot` (Arrow IPC + CRC32).
 *
 * @example
 * const store = new StateStore(dir, stateSchema, 2);
 * await store.commit(1, deltaBatch);
 * const rows = await store.load(1);
 */
export class StateStore {
  constructor(
    readonly dir: string,
    /** Key columns first, then value columns. */
    readonly schema: Schema,
    readonly keyCount: number,
  ) {}

  private file(version: number, kind: 'delta' | 'snapshot'): string {
    return join(this.dir, `${version}.${kind}`);
  }

  /**
   * Writes version `version`'s delta (a batch of `deltaSchema(schema)`). A re-run batch overwrites its own version.
   * `eviction`: groups this version evicted without delete rows (see `AggregateState.evict`); loading replays it.
   * A snapshot of the same version left by an earlier attempt at this batch is removed first: a version's files are
   * exactly what its last commit wrote.
   */
  async commit(version: number, delta: RecordBatch | null, eviction: StateEviction | null = null): Promise<void> {
    await fs.unlink(this.file(version, 'snapshot')).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    const t = new Table(delta ? [delta] : []);
    await writeReplace(this.file(version, 'delta'), await frame(delta ? t : emptyTable(deltaSchema(this.schema)), eviction));
  }

  /** Writes a full snapshot of version `version` (a batch of `schema`). */
  async snapshot(version: number, rows: RecordBatch | null): Promise<void> {
    await writeReplace(this.file(version, 'snapshot'), await frame(rows ? new Table([rows]) : emptyTable(this.schema)));
  }

  private async versions(): Promise<{ deltas: Set<number>; snapshots: number[] }> {
    return stateVersions(await listIfExists(this.dir));
  }

  /**
   * Every row of version `version` (key columns then values); version 0 is empty. A delta's eviction removes, at
   * its place in the replay, the live rows whose event time it covers, as its delete rows would have.
   */
  async load(version: number): Promise<RecordBatch | null> {
    if (version === 0) return null;
    const { snapshots } = await this.versions();
    let base = 0;
    for (const s of snapshots) if (s <= version) base = s;
    const parts: { vecs: Vec[]; ops: Float64Array | null; n: number; eviction: StateEviction | null }[] = [];
    const read = async (v: number, kind: 'delta' | 'snapshot') => {
      const file = this.file(v, kind);
      const buf = await readIfExists(file);
      if (buf === null) {
        throw new MissingStateError(
          `State version ${v} of ${this.dir} is missing (${file}), so the state of batch ${version - 1} cannot be rebuilt. ` +
            `The checkpoint is incomplete: restore it, or start the query with a new checkpointLocation.`,
        );
      }
      const { table: t, eviction } = unframe(buf, file);
      if (eviction !== null) {
        const k = eviction.keyColumn;
        const ok = Number.isInteger(k) && k >= 0 && k < this.keyCount && this.schema.fields[k]!.type === 'timestamp';
        if (!ok) {
          throw new CorruptCheckpointError(
            `${file} evicts by key column ${k}, which is not a timestamp key of this operator's state ` +
              `(${this.schema.fields.slice(0, this.keyCount).map((f) => `${f.name}: ${String(f.type)}`).join(', ')}): ` +
              `the checkpoint belongs to a different query. Use a new checkpointLocation.`,
          );
        }
      }
      const schema = kind === 'delta' ? deltaSchema(this.schema) : this.schema;
      if (t.schema.fields.length !== schema.fields.length) {
        throw new CorruptCheckpointError(
          `${file} has ${t.schema.fields.length} columns but the operator's state has ${schema.fields.length}: the checkpoint ` +
            `belongs to a different query. Use a new checkpointLocation.`,
        );
      }
      for (const b of t.batches) {
        const vecs = schema.fields.map((_, i) => columnVec(b, schema, i));
        if (kind === 'delta') parts.push({ vecs: vecs.slice(1), ops: (vecs[0] as NumVec).values, n: b.numRows, eviction: null });
        else parts.push({ vecs, ops: null, n: b.numRows, eviction: null });
      }
      // The eviction applies after the version's own rows (they are the groups that outlived it).
      if (eviction !== null) parts.push({ vecs: [], ops: null, n: 0, eviction });
    };
    if (base > 0) await read(base, 'snapshot');
    for (let v = base + 1; v <= version; v++) {
      await read(v, 'delta'); // a missing delta throws MissingStateError naming the file
    }
    // Replay by key. This runs once per restart, so a Map keyed by the key's JSON is fine here.
    const live = new Map<string, [number, number]>();
    parts.forEach((p, pi) => {
      if (p.eviction !== null) {
        const { watermarkMs, windowSizeMs, keyColumn } = p.eviction;
        for (const [key, [qi, r]] of live) {
          const t = parts[qi]!.vecs[keyColumn] as NumVec;
          if (t.valid !== null && t.valid[r] === 0) continue;
          if (t.values[r]! + windowSizeMs <= watermarkMs) live.delete(key);
        }
        return;
      }
      for (let r = 0; r < p.n; r++) {
        const key = JSON.stringify(p.vecs.slice(0, this.keyCount).map((v) => jsonValueAt(v, r)));
        if (p.ops !== null && p.ops[r] === OP_DELETE) live.delete(key);
        else {
          live.delete(key);
          live.set(key, [pi, r]);
        }
      }
    });
    if (live.size === 0) return null;
    const byPart = new Map<number, number[]>();
    for (const [pi, r] of live.values()) {
      let l = byPart.get(pi);
      if (!l) byPart.set(pi, (l = []));
      l.push(r);
    }
    const cols: Vec[][] = this.schema.fields.map(() => []);
    for (const [pi, rows] of [...byPart.entries()].sort((a, b) => a[0] - b[0])) {
      const sel = Int32Array.from(rows);
      parts[pi]!.vecs.forEach((v, c) => cols[c]!.push(gatherVec(v, sel)));
    }
    return batchFromVecs(this.schema, cols.map((c) => concatVecs(c)), live.size);
  }

  /** Deletes files no longer needed to load any version ≥ `minVersion`. */
  async purge(minVersion: number): Promise<void> {
    const { deltas, snapshots } = await this.versions();
    let base = 0;
    for (const s of snapshots) if (s <= minVersion) base = s;
    if (base === 0) return;
    for (const v of deltas) if (v <= base) await fs.unlink(this.file(v, 'delta')).catch(() => {});
    for (const s of snapshots) if (s < base) await fs.unlink(this.file(s, 'snapshot')).catch(() => {});
  }
}

function emptyTable(schema: Schema): Table {
  return new Table([emptyBatch(schema)]);
}
