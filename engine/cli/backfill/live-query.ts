/**
 * What a live query writing the same Delta table has made final. Its sink commits batch N with
 * `txn { appId: queryId, version: N }`; batch N emits exactly the windows that end at or before the watermark batch N
 * ran with (`offsets/N`), and no later batch emits them again. So windows ending at or before that watermark may be
 * recomputed and replaced; later ones must be left to the live query.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { CheckpointPaths } from '../../checkpoint/checkpoint-paths.js';
import { CommitLog } from '../../checkpoint/commit-log.js';
import { OffsetLog } from '../../checkpoint/offset-log.js';
import type { DeltaTable } from '../../../connectors/lakehouse/index.js';

/** The live query as seen from its checkpoint and the table. */
export interface LiveQueryState {
  readonly checkpoint: string;
  readonly queryId: string;
  /** The Delta table version this was read at (-1: no table yet). */
  readonly tableVersion: number;
  /** The newest batch of the live query that the table holds (-1: none yet). */
  readonly tableBatch: number;
  /** Windows ending at or before this are final in the table; -Infinity when none is. */
  readonly finalUpToMs: number;
}

/** The query id in `<checkpoint>/metadata`, or null when there is no checkpoint. */
export function checkpointQueryId(checkpoint: string): string | null {
  try {
    const m = JSON.parse(readFileSync(new CheckpointPaths(checkpoint).metadata, 'utf8')) as { id?: unknown };
    return typeof m.id === 'string' ? m.id : null;
  } catch {
    return null;
  }
}

/**
 * Reads the live query's progress in `table` (a fresh `DeltaTable` instance: another process writes it).
 *
 * @example
 * const live = await readLiveQuery('checkpoints/sales', DeltaTable.forPath('lake/sales'));
 * live?.finalUpToMs; // windows ending at or before it may be replaced
 */
export async function readLiveQuery(checkpoint: string, table: DeltaTable): Promise<LiveQueryState | null> {
  const queryId = checkpointQueryId(checkpoint);
  if (queryId === null) return null;
  const tableVersion = await table.version();
  const tableBatch = tableVersion < 0 ? -1 : (await table.snapshot(tableVersion)).txnVersion(queryId);
  if (tableBatch < 0) return { checkpoint, queryId, tableVersion, tableBatch, finalUpToMs: -Infinity };
  const paths = new CheckpointPaths(checkpoint);
  const offsets = await new OffsetLog(paths.offsetsDir).get(tableBatch);
  let wm: number | null = offsets?.batchWatermarkMs ?? null;
  if (wm === null && tableBatch > 0) wm = (await new CommitLog(paths.commitsDir).get(tableBatch - 1))?.nextBatchWatermarkMs ?? null;
  if (wm === null) {
    throw new Error(
      `The table holds batch ${tableBatch} of the live query ${queryId}, but ${paths.offset(tableBatch)} is gone, so its watermark is unknown. ` +
        'Run the backfill after the live query commits its next batch, or pass --ignore-checkpoint if it will not run again.',
    );
  }
  // A watermark of 0 is the initial one: nothing is final yet.
  return { checkpoint, queryId, tableVersion, tableBatch, finalUpToMs: wm > 0 ? wm : -Infinity };
}
