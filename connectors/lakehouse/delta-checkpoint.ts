/**
 * Reading classic Delta checkpoints (`%020d.checkpoint.parquet`, or the parts `%020d.checkpoint.%010d.%010d.parquet`)
 * that Spark and delta-rs write, so a table whose early JSON commits were cleaned up can still be read. sluice does
 * not write checkpoints: its snapshots replay JSON commits (incrementally, from the last snapshot it built).
 *
 * A checkpoint holds one action per row in columns `protocol`, `metaData`, `txn`, `add`, `remove` (structs; maps for
 * `partitionValues`, `configuration`, `tags`). It is metadata, not table data, so it is decoded row by row.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { Vector, tableFromIPC, type Table } from 'apache-arrow';
import { parquetWasm } from '../parquet/parquet-wasm.js';
import type { AddAction, Commit, MetadataAction, ProtocolAction, RemoveAction, TxnAction } from './delta-actions.js';
import { DeltaLogCorruptError } from './delta-errors.js';

/** A checkpoint found in `_delta_log/`: its version and part files (one for a classic checkpoint). */
export interface CheckpointRef {
  readonly version: number;
  readonly files: readonly string[];
}

/**
 * The complete checkpoints among `_delta_log/` file names (multi-part ones with every part present), ascending.
 *
 * @example
 * findCheckpoints(['00000000000000000010.checkpoint.parquet', '00000000000000000010.json']);
 * // [{ version: 10, files: ['00000000000000000010.checkpoint.parquet'] }]
 */
export function findCheckpoints(names: readonly string[]): CheckpointRef[] {
  const classic = new Map<number, string>();
  const parts = new Map<string, { version: number; total: number; files: Map<number, string> }>();
  for (const n of names) {
    let m = /^(\d{20})\.checkpoint\.parquet$/.exec(n);
    if (m) {
      classic.set(Number(m[1]), n);
      continue;
    }
    m = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/.exec(n);
    if (m) {
      const key = `${m[1]}/${m[3]}`;
      let p = parts.get(key);
      if (!p) parts.set(key, (p = { version: Number(m[1]), total: Number(m[3]), files: new Map() }));
      p.files.set(Number(m[2]), n);
    }
  }
  const out = new Map<number, CheckpointRef>();
  for (const [version, file] of classic) out.set(version, { version, files: [file] });
  for (const p of parts.values()) {
    if (p.files.size === p.total && !out.has(p.version)) {
      out.set(p.version, { version: p.version, files: [...p.files.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]) });
    }
  }
  return [...out.values()].sort((a, b) => a.version - b.version);
}

/**
 * Reads a checkpoint's actions as one `Commit` (its `version` is the checkpoint's).
 *
 * @example
 * const state = await readCheckpoint('/lake/t/_delta_log', ref);
 * state.adds.length; // live files at ref.version
 */
export async function readCheckpoint(logDir: string, ref: CheckpointRef): Promise<Commit> {
  const txns: TxnAction[] = [];
  const adds: AddAction[] = [];
  const removes: RemoveAction[] = [];
  let protocol: ProtocolAction | undefined;
  let metaData: MetadataAction | undefined;
  for (const name of ref.files) {
    const file = `${logDir}/${name}`;
    let table: Table;
    try {
      table = tableFromIPC(parquetWasm().readParquet(await readFile(file)).intoIPCStream());
    } catch (e) {
      throw new DeltaLogCorruptError(`Delta checkpoint '${file}' cannot be read: ${(e as Error).message}.`, file, 0);
    }
    const column = (name: string) => table.getChild(name);
    const cols = { add: column('add'), remove: column('remove'), txn: column('txn'), metaData: column('metaData'), protocol: column('protocol') };
    for (let i = 0; i < table.numRows; i++) {
      const a = plain(cols.add?.get(i)) as Record<string, unknown> | null;
      if (a && typeof a.path === 'string') {
        adds.push({
          path: a.path,
          partitionValues: (a.partitionValues as Record<string, string | null>) ?? {},
          size: Number(a.size ?? 0),
          modificationTime: Number(a.modificationTime ?? 0),
          dataChange: a.dataChange === true,
          ...(typeof a.stats === 'string' ? { stats: a.stats } : {}),
          ...(a.tags ? { tags: a.tags as Record<string, string> } : {}),
        });
        continue;
      }
      const r = plain(cols.remove?.get(i)) as Record<string, unknown> | null;
      if (r && typeof r.path === 'string') {
        removes.push({
          path: r.path,
          dataChange: r.dataChange === true,
          ...(r.deletionTimestamp !== null && r.deletionTimestamp !== undefined ? { deletionTimestamp: Number(r.deletionTimestamp) } : {}),
        });
        continue;
      }
      const t = plain(cols.txn?.get(i)) as Record<string, unknown> | null;
      if (t && typeof t.appId === 'string') {
        txns.push({ appId: t.appId, version: Number(t.version), ...(t.lastUpdated != null ? { lastUpdated: Number(t.lastUpdated) } : {}) });
        continue;
      }
      const m = plain(cols.metaData?.get(i)) as Record<string, unknown> | null;
      if (m && typeof m.schemaString === 'string') {
        metaData = {
          id: String(m.id),
          name: (m.name as string | null) ?? null,
          description: (m.description as string | null) ?? null,
          format: { provider: String((m.format as Record<string, unknown> | null)?.provider ?? 'parquet'), options: ((m.format as Record<string, unknown> | null)?.options as Record<string, string>) ?? {} },
          schemaString: m.schemaString,
          partitionColumns: (m.partitionColumns as string[]) ?? [],
          configuration: (m.configuration as Record<string, string>) ?? {},
          ...(m.createdTime != null ? { createdTime: Number(m.createdTime) } : {}),
        };
        continue;
      }
      const p = plain(cols.protocol?.get(i)) as Record<string, unknown> | null;
      if (p && p.minReaderVersion != null) {
        protocol = {
          minReaderVersion: Number(p.minReaderVersion),
          minWriterVersion: Number(p.minWriterVersion),
          ...(Array.isArray(p.readerFeatures) ? { readerFeatures: p.readerFeatures as string[] } : {}),
          ...(Array.isArray(p.writerFeatures) ? { writerFeatures: p.writerFeatures as string[] } : {}),
        };
      }
    }
  }
  return { version: ref.version, protocol, metaData, txns, adds, removes };
}

/** Arrow JS values (struct and map rows, list vectors, int64) as plain JSON-like values. */
function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'object' || v instanceof Uint8Array) return v;
  if (v instanceof Vector) return Array.from(v.toArray() as ArrayLike<unknown>, plain);
  const json = typeof (v as { toJSON?: unknown }).toJSON === 'function' ? (v as { toJSON: () => unknown }).toJSON() : v;
  if (Array.isArray(json)) return json.map(plain);
  if (json !== null && typeof json === 'object') {
    return Object.fromEntries(Object.entries(json as Record<string, unknown>).map(([k, y]) => [k, plain(y)]));
  }
  return json;
}
