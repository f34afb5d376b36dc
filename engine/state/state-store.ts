import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { RecordBatch, tableFromIPC, tableToIPC, Table } from 'apache-arrow';
import { CorruptCheckpointError, readIfExists, writeReplace } from '../checkpoint/atomic-file.js';
import { field, schemaOf, type Schema } from '../types/data-type.js';
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
 * The end marker of a delta that also records an eviction watermark (8 bytes before the checksum): rows at or below
 * it were evicted without delete rows. Versions before it reject such a file as "not a sluice state file" instead of
 * restoring the evicted rows.
 */
const MAGIC_EVICT = Buffer.from('SLSE');
export const OP_PUT = 1;
export const OP_DELETE = 0;

/** Adds the `__op` column to a state schema: 1 = put, 0 = delete (keys only). */
export function deltaSchema(state: Schema): Schema {
  return schemaOf([field('__op', 'int', false), ...state.fields]);
}

/** A state file: Arrow IPC, [eviction watermark as a float64], CRC-32 of what precedes it, end marker. */
function frame(table: Table, evictedUpToMs: number | null = null): Uint8Array {
  const ipc = tableToIPC(table, 'stream');
  const extra = evictedUpToMs === null ? 0 : 8;
  const body = ipc.length + extra;
  const out = Buffer.alloc(body + 8);
  out.set(ipc, 0);
  if (evictedUpToMs !== null) out.writeDoubleLE(evictedUpToMs, ipc.length);
  out.writeUInt32LE(crc32(out.subarray(0, body)), body);
  (evictedUpToMs === null ? MAGIC : MAGIC_EVICT).copy(out, body + 4);
  return out;
}

function unframe(buf: Buffer, file: string): { table: Table; evictedUpToMs: number | null } {
  const end = buf.length >= 4 ? buf.subarray(buf.length - 4) : null;
  const evicts = end !== null && end.equals(MAGIC_EVICT);
  if (buf.length < (evicts ? 16 : 8) || !(evicts || end!.equals(MAGIC))) {
    throw new CorruptCheckpointError(`${file} is truncated or not a sluice state file (no end marker).`);
  }
  const body = buf.subarray(0, buf.length - 8);
  if (crc32(body) !== buf.readUInt32LE(buf.length - 8)) {
    throw new CorruptCheckpointError(`${file} is corrupt (checksum mismatch). Restore the checkpoint from a backup.`);
  }
  const ipc = evicts ? body.subarray(0, body.length - 8) : body;
  try {
    return { table: tableFromIPC(ipc), evictedUpToMs: evicts ? body.readDoubleLE(body.length - 8) : null };
  } catch (e) {
    throw new CorruptCheckpointError(`${file} cannot be read as Arrow IPC: ${(e as Error).message}`);
  }
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
   * `evictedUpToMs`: a watermark that evicted rows without delete rows (see `AggregateState.evict`).
   */
  async commit(version: number, delta: RecordBatch | null, evictedUpToMs: number | null = null): Promise<void> {
    const t = new Table(delta ? [delta] : []);
    await writeReplace(this.file(version, 'delta'), frame(delta ? t : emptyTable(deltaSchema(this.schema)), evictedUpToMs));
  }

  /** Writes a full snapshot of version `version` (a batch of `schema`). */
  async snapshot(version: number, rows: RecordBatch | null): Promise<void> {
    await writeReplace(this.file(version, 'snapshot'), frame(rows ? new Table([rows]) : emptyTable(this.schema)));
  }

  private async versions(): Promise<{ deltas: Set<number>; snapshots: number[] }> {
    let names: string[] = [];
    try {
      names = await fs.readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
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
   * Every row of version `version` (key columns then values; version 0 is empty), and the highest eviction
   * watermark recorded by the deltas replayed (null: none): the operator drops the rows at or below it on restore.
   */
  async load(version: number): Promise<{ rows: RecordBatch | null; evictedUpToMs: number | null }> {
    if (version === 0) return { rows: null, evictedUpToMs: null };
    let evictedUpToMs: number | null = null;
    const { snapshots } = await this.versions();
    let base = 0;
    for (const s of snapshots) if (s <= version) base = s;
    const parts: { vecs: Vec[]; ops: Float64Array | null; n: number }[] = [];
    const read = async (v: number, kind: 'delta' | 'snapshot') => {
      const file = this.file(v, kind);
      const buf = await readIfExists(file);
      if (buf === null) {
        throw new MissingStateError(
          `State version ${v} of ${this.dir} is missing (${file}), so the state of batch ${version - 1} cannot be rebuilt. ` +
            `The checkpoint is incomplete: restore it, or start the query with a new checkpointLocation.`,
        );
      }
      const { table: t, evictedUpToMs: w } = unframe(buf, file);
      if (w !== null) evictedUpToMs = evictedUpToMs === null ? w : Math.max(evictedUpToMs, w);
      const schema = kind === 'delta' ? deltaSchema(this.schema) : this.schema;
      if (t.schema.fields.length !== schema.fields.length) {
        throw new CorruptCheckpointError(
          `${file} has ${t.schema.fields.length} columns but the operator's state has ${schema.fields.length}: the checkpoint ` +
            `belongs to a different query. Use a new checkpointLocation.`,
        );
      }
      for (const b of t.batches) {
        const vecs = schema.fields.map((_, i) => columnVec(b, schema, i));
        if (kind === 'delta') parts.push({ vecs: vecs.slice(1), ops: (vecs[0] as NumVec).values, n: b.numRows });
        else parts.push({ vecs, ops: null, n: b.numRows });
      }
    };
    if (base > 0) await read(base, 'snapshot');
    for (let v = base + 1; v <= version; v++) {
      await read(v, 'delta'); // a missing delta throws MissingStateError naming the file
    }
    // Replay by key. This runs once per restart, so a Map keyed by the key's JSON is fine here.
    const live = new Map<string, [number, number]>();
    parts.forEach((p, pi) => {
      for (let r = 0; r < p.n; r++) {
        const key = JSON.stringify(p.vecs.slice(0, this.keyCount).map((v) => jsonValueAt(v, r)));
        if (p.ops !== null && p.ops[r] === OP_DELETE) live.delete(key);
        else {
          live.delete(key);
          live.set(key, [pi, r]);
        }
      }
    });
    if (live.size === 0) return { rows: null, evictedUpToMs };
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
    return { rows: batchFromVecs(this.schema, cols.map((c) => concatVecs(c)), live.size), evictedUpToMs };
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
