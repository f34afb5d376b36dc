/**
 * Spark's ad-monetisation stream–stream join, shared by the join crash fixtures: impressions (watermark 10 min) left
 * outer joined with the clicks on the same ad within an hour after the impression (watermark 20 min).
 *
 * @example
 * const imp = session.readStream.format('jsonl').schema(IMPRESSION_SCHEMA).load('imp/');
 * const clk = session.readStream.format('jsonl').schema(CLICK_SCHEMA).load('clk/');
 * adClickJoin(imp, clk).writeStream.format('parquet').option('checkpointLocation', 'ckpt/').start('out/');
 */
import { col, interval, type DataFrame } from '../../engine/index.js';

/** An impression as the tests produce it (times in epoch ms, written as ISO-8601). */
export type Impression = { impressionAdId: number; impressionTime: number; campaign: string };
/** A click as the tests produce it. */
export type Click = { clickAdId: number; clickTime: number };

export const IMPRESSION_SCHEMA = { impressionAdId: 'long', impressionTime: 'timestamp', campaign: 'string' } as const;
export const CLICK_SCHEMA = { clickAdId: 'long', clickTime: 'timestamp' } as const;

/** The impressions left outer joined with their clicks (same ad, 0 to 60 minutes later), both sides watermarked. */
export function adClickJoin(impressions: DataFrame, clicks: DataFrame): DataFrame {
  return impressions
    .withWatermark('impressionTime', '10 minutes')
    .join(
      clicks.withWatermark('clickTime', '20 minutes'),
      col('clickAdId').eq(col('impressionAdId')).and(col('clickTime').geq(col('impressionTime'))).and(col('clickTime').leq(col('impressionTime').plus(interval('1 hour')))),
      'leftOuter',
    );
}
