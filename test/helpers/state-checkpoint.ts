/**
 * Checkpoints with state for the state reader's tests (the `state` format and `sluice state`): a real query (dedup,
 * then a windowed count) run batch by batch with what each batch saw, and a hand-written checkpoint with named tables.
 *
 * @example
 * const seen = await runStateQuery(ckpt, { parallelism: 2, parallelThresholdRows: 1, parallelMinRowNs: 0 });
 * expectedWindows(seen[2]!); // ['[0,"u0",2]', …]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { col, count, MemoryStream, Session, window, type DataFrame, type StreamingQueryProgress } from '../../engine/index.js';
import { CommitLog } from '../../engine/checkpoint/commit-log.js';
import { writeOperatorMetadata } from '../../engine/state/operator-metadata.js';
import { deltaSchema, OP_DELETE, OP_PUT, StateStore } from '../../engine/state/state-store.js';
import { field, schemaOf } from '../../engine/types/data-type.js';
import { batchFromRows } from '../../engine/types/values.js';

const SCHEMA = { id: 'long', user: 'string', ts: 'timestamp' } as const;
export type In = { id: number; user: string; ts: number };
const WINDOW_MS = 10_000;

/** Steps of input: each step's rows arrive together (one data batch, maybe followed by a no-data batch). */
function steps(): In[][] {
  const out: In[][] = [];
  let id = 0;
  for (let s = 0; s < 5; s++) {
    const rows: In[] = [];
    for (let u = 0; u < 12; u++) {
      // each user twice per step (the second a duplicate of the first: same id and time), times moving forward
      const r = { id: id++, user: `u${u}`, ts: 1_000 + s * 7_000 + u * 300 }; // none at 0: the first batch's watermark
      rows.push(r, { ...r });
    }
    out.push(rows);
  }
  return out;
}

/** What each batch saw: the input so far and the watermark it ran with. */
export interface BatchSeen {
  readonly batchId: number;
  readonly rows: readonly In[];
  readonly watermarkMs: number;
  readonly progress: StreamingQueryProgress;
}

/** The query of `runStateQuery`: dedup, then a 10-second windowed count per user (state operators 1 and 0). */
export const DEDUP_THEN_WINDOW = (df: DataFrame): DataFrame =>
  df.withWatermark('ts', '5 seconds').dropDuplicates(['id', 'ts']).groupBy(window(col('ts'), '10 seconds'), col('user')).agg(count('*').as('n'));

/** Runs `build` (default: `DEDUP_THEN_WINDOW`) over the steps into `ckpt`; returns what each batch saw. */
export async function runStateQuery(ckpt: string, conf: Record<string, number>, build: (df: DataFrame) => DataFrame = DEDUP_THEN_WINDOW): Promise<BatchSeen[]> {
  const session = new Session({ conf });
  const stream = new MemoryStream(session, SCHEMA);
  const q = build(stream.toDF())
    .writeStream.format('memory')
    .queryName(`state_src_${Math.random().toString(36).slice(2)}`)
    .outputMode('append')
    .option('checkpointLocation', ckpt)
    .start();
  const seen: BatchSeen[] = [];
  const so_far: In[] = [];
  let last = -1;
  for (const rows of steps()) {
    stream.addData(rows);
    so_far.push(...rows);
    await q.processAllAvailable();
    for (const p of q.recentProgress) {
      if (p.batchId <= last) continue;
      last = p.batchId;
      seen.push({ batchId: p.batchId, rows: [...so_far], watermarkMs: Date.parse(p.eventTime['watermark'] ?? '1970-01-01T00:00:00Z'), progress: p });
    }
  }
  await q.stop();
  if (q.exception) throw q.exception;
  return seen;
}

/** Dedup keys live after a batch that ran with watermark `wm`: (id, ts) of rows with ts > wm. */
export function expectedDedup(b: BatchSeen): string[] {
  const keys = new Set<string>();
  for (const r of b.rows) if (r.ts > b.watermarkMs) keys.add(JSON.stringify([r.id, r.ts]));
  return [...keys].sort();
}

/** Windowed counts live after a batch: (window start, user) → distinct rows, for windows ending after the watermark. */
export function expectedWindows(b: BatchSeen): string[] {
  const n = new Map<string, Set<number>>();
  for (const r of b.rows) {
    const start = Math.floor(r.ts / WINDOW_MS) * WINDOW_MS;
    if (start + WINDOW_MS <= b.watermarkMs) continue;
    const k = JSON.stringify([start, r.user]);
    if (!n.has(k)) n.set(k, new Set());
    n.get(k)!.add(r.id);
  }
  return [...n.entries()].map(([k, ids]) => JSON.stringify([...JSON.parse(k), ids.size])).sort();
}

/**
 * A checkpoint of a processor-like operator 0 with two named tables over 2 partitions, as the keyed-operator layout
 * writes them (`state/0/<p>/<table>/`, `operator.json`): `fails` (user → n, TTL 1 hour) and `$timers`. Batch 0 puts
 * a=1, c=2 (partition 0) and b=1 (partition 1); batch 1 updates a to 2 and deletes b.
 */
export async function writeNamedTableCheckpoint(ckpt: string): Promise<void> {
  mkdirSync(join(ckpt, 'commits'), { recursive: true });
  writeFileSync(join(ckpt, 'metadata'), '{"id":"q"}\n');
  const fails = schemaOf([field('user', 'string'), field('n', 'int')]);
  const timers = schemaOf([field('user', 'string'), field('at', 'timestamp')]);
  const tables = [
    { name: 'fails', schema: fails, keyCount: 1, partitionKeyColumns: [0], ttlMs: 3_600_000, role: 'value' as const },
    { name: '$timers', schema: timers, keyCount: 2, partitionKeyColumns: [0], ttlMs: null, role: 'timers' as const },
  ];
  await writeOperatorMetadata(join(ckpt, 'state', '0'), { operatorName: 'transformWithState', kind: 'transformWithState', partitions: 2, tables });
  const put = (rows: Record<string, unknown>[], schema = fails) => batchFromRows(rows, deltaSchema(schema));
  // two partitions; batch 0 writes version 1, batch 1 version 2 (b deleted, a updated)
  const s0 = new StateStore(join(ckpt, 'state/0/0/fails'), fails, 1);
  const s1 = new StateStore(join(ckpt, 'state/0/1/fails'), fails, 1);
  const t0 = new StateStore(join(ckpt, 'state/0/0/$timers'), timers, 2);
  const t1 = new StateStore(join(ckpt, 'state/0/1/$timers'), timers, 2);
  await s0.commit(1, put([{ __op: OP_PUT, user: 'a', n: 1 }, { __op: OP_PUT, user: 'c', n: 2 }]));
  await s1.commit(1, put([{ __op: OP_PUT, user: 'b', n: 1 }]));
  await t0.commit(1, put([{ __op: OP_PUT, user: 'a', at: 60_000 }], timers));
  await t1.commit(1, null);
  const commits = new CommitLog(join(ckpt, 'commits'));
  await commits.add(0, { nextBatchWatermarkMs: 0, statePartitions: { '0': 2 } });
  await s0.commit(2, put([{ __op: OP_PUT, user: 'a', n: 2 }]));
  await s1.commit(2, put([{ __op: OP_DELETE, user: 'b', n: null }]));
  await t0.commit(2, null);
  await t1.commit(2, null);
  await commits.add(1, { nextBatchWatermarkMs: 0, statePartitions: { '0': 2 } });
}
