import { describe, expect, it } from 'vitest';
import { MemoryStream, Session, col, interval } from '../../../engine/index.js';
import { addData, assertProgress, checkNewAnswer, processAllAvailable, t, testStream } from '../../helpers/stream-test.js';

/** Minutes after 01:00 (epoch 0 itself is late in batch 0: the watermark starts at 0 and equal counts as late). */
const min = (m: number) => (60 + m) * 60_000;

/** Spark's ad-monetisation example: impressions (2 h watermark) and clicks (3 h) joined on the ad within an hour. */
function ads(session: Session) {
  const impressionsIn = new MemoryStream(session, { impressionAdId: 'int', impressionTime: 'timestamp' });
  const clicksIn = new MemoryStream(session, { clickAdId: 'int', clickTime: 'timestamp' });
  const impressions = impressionsIn.toDF().withWatermark('impressionTime', '2 hours');
  const clicks = clicksIn.toDF().withWatermark('clickTime', '3 hours');
  const on = col('clickAdId')
    .eq(col('impressionAdId'))
    .and(col('clickTime').geq(col('impressionTime')))
    .and(col('clickTime').leq(col('impressionTime').plus(interval('1 hour'))));
  return { impressionsIn, clicksIn, impressions, clicks, on };
}

describe('stream–stream join: ad impressions and clicks', () => {
  it('inner join with a time range: matches across micro-batches, and evicts by the range', async () => {
    const session = new Session();
    const { impressionsIn, clicksIn, impressions, clicks, on } = ads(session);
    const df = impressions.join(clicks, on);
    await testStream(df, { outputMode: 'append' }, [
      addData(impressionsIn, [
        { impressionAdId: 1, impressionTime: t(min(0)) },
        { impressionAdId: 2, impressionTime: t(min(10)) },
      ]),
      processAllAvailable(),
      addData(clicksIn, [
        { clickAdId: 1, clickTime: t(min(30)) },
        { clickAdId: 2, clickTime: t(min(80)) }, // more than an hour after its impression
      ]),
      checkNewAnswer([{ impressionAdId: 1, impressionTime: t(min(0)), clickAdId: 1, clickTime: t(min(30)) }]),
      addData(clicksIn, [{ clickAdId: 1, clickTime: t(min(50)) }]),
      checkNewAnswer([{ impressionAdId: 1, impressionTime: t(min(0)), clickAdId: 1, clickTime: t(min(50)) }]),
      assertProgress('both sides buffered', (p) => {
        const op = p.stateOperators[0]!;
        expect(op.operatorName).toBe('symmetricHashJoin');
        expect(op.customMetrics).toMatchObject({ leftStateRows: 2, rightStateRows: 3 });
      }),
    ]);
  });

  it('left outer join emits an impression without a click once the watermark passes it', async () => {
    const session = new Session();
    const { impressionsIn, clicksIn, impressions, clicks, on } = ads(session);
    const df = impressions.join(clicks, on, 'leftOuter');
    await testStream(df, { outputMode: 'append' }, [
      addData(impressionsIn, [
        { impressionAdId: 1, impressionTime: t(min(0)) },
        { impressionAdId: 2, impressionTime: t(min(10)) },
      ]),
      addData(clicksIn, [{ clickAdId: 1, clickTime: t(min(30)) }]),
      checkNewAnswer([{ impressionAdId: 1, impressionTime: t(min(0)), clickAdId: 1, clickTime: t(min(30)) }]),
      // W = min(11:00 − 2h, 11:00 − 3h) = 08:00: impressions at or before 07:00 − 1ms leave, ad 2 with nulls.
      addData(impressionsIn, [{ impressionAdId: 3, impressionTime: t(min(600)) }]),
      addData(clicksIn, [{ clickAdId: 9, clickTime: t(min(600)) }]),
      checkNewAnswer([{ impressionAdId: 2, impressionTime: t(min(10)), clickAdId: null, clickTime: null }]),
    ]);
  });
});
