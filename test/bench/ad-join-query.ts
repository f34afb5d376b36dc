/**
 * The query and inputs of the join benchmarks.
 *
 * @module
 */

/**
 * The query of the join benchmarks: impressions (10 s watermark) inner-joined with clicks (20 s) on the ad within an
 * hour of the impression.
 *
 * @example
 * const { imp, clk, df } = adJoin(new Session());
 */
import type { RecordBatch } from 'apache-arrow';
import { col, interval, MemoryStream, type DataFrame, type Session } from '../../engine/index.js';
import { numVec } from '../../engine/kernels/vec.js';
import { field, schemaOf } from '../../engine/types/data-type.js';
import { batchFromVecs } from '../../engine/types/values.js';

export function adJoin(session: Session): { imp: MemoryStream; clk: MemoryStream; df: DataFrame } {
  const imp = new MemoryStream(session, { adId: 'long', impressionTime: 'timestamp' });
  const clk = new MemoryStream(session, { clickAdId: 'long', clickTime: 'timestamp' });
  const df = imp
    .toDF()
    .withWatermark('impressionTime', '10 seconds')
    .join(
      clk.toDF().withWatermark('clickTime', '20 seconds'),
      col('clickAdId').eq(col('adId')).and(col('clickTime').geq(col('impressionTime'))).and(col('clickTime').leq(col('impressionTime').plus(interval('1 hour')))),
    );
  return { imp, clk, df };
}

/** Rows per side per micro-batch. */
export const AD_CHUNK = 65_536;

/**
 * `n` impressions (ad `row`, 5 ms apart) or their clicks (0–60 s after the impression, seeded), in `AD_CHUNK`-row
 * batches of the query's input schemas.
 *
 * @example
 * const impressions = adBatches(1_000_000, false);
 */
export function adBatches(n: number, click: boolean): RecordBatch[] {
  let s = click ? 2 : 1;
  const r = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const schema = schemaOf([field(click ? 'clickAdId' : 'adId', 'long'), field(click ? 'clickTime' : 'impressionTime', 'timestamp')]);
  const out: RecordBatch[] = [];
  for (let a = 0; a < n; a += AD_CHUNK) {
    const m = Math.min(AD_CHUNK, n - a);
    const ids = new Float64Array(m);
    const ts = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const row = a + i;
      ids[i] = row;
      ts[i] = AD_BASE + row * 5 + (click ? Math.floor(r() * 60_000) : 0);
    }
    out.push(batchFromVecs(schema, [numVec('long', ids), numVec('timestamp', ts)], m));
  }
  return out;
}

const AD_BASE = Date.UTC(2026, 0, 1);
