/**
 * A query with several watermark operators moves its global watermark after a restart exactly as an uninterrupted
 * run: each operator's own watermark is kept in `commits/N` and given back, so a source that has no data after the
 * restart does not count as 0 again and hold the `min` watermark still (Spark forgets them; a stream–stream join then
 * never emits the rows the watermark would have evicted once the other source ended).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStream, Session } from '../../../engine/index.js';
import { CommitLog } from '../../../engine/checkpoint/commit-log.js';
import { CorruptCheckpointError } from '../../../engine/checkpoint/atomic-file.js';
import { adClickJoin } from '../../helpers/ad-click-join.js';
import { addData, assertWatermark, checkNewAnswer, execute, startStream, stopStream, t, testStream, type Step } from '../../helpers/stream-test.js';

const MIN = 60_000;
const at = (minute: number) => Date.UTC(2026, 4, 30, 10, 0) + minute * MIN;

function adJoin(session: Session) {
  const imp = new MemoryStream(session, { impressionAdId: 'int', impressionTime: 'timestamp' });
  const clk = new MemoryStream(session, { clickAdId: 'int', clickTime: 'timestamp' });
  return { imp, clk, df: adClickJoin(imp.toDF(), clk.toDF()) };
}

/**
 * Ad 1 is clicked, ad 2 is not; then the clicks move ahead (their last data) and only impressions follow: the
 * impressions' watermark (11:50) and the clicks' (11:40) together pass ad 2's hour, which is emitted with nulls.
 * `restart` runs between the clicks' last data and the impressions that follow.
 */
function steps(imp: MemoryStream, clk: MemoryStream, restart: readonly Step[]): Step[] {
  return [
    addData(imp, [{ impressionAdId: 1, impressionTime: at(0) }, { impressionAdId: 2, impressionTime: at(5) }]),
    addData(clk, [{ clickAdId: 1, clickTime: at(10) }]),
    checkNewAnswer([{ impressionAdId: 1, impressionTime: t(at(0)), clickAdId: 1, clickTime: t(at(10)) }]),
    addData(clk, [{ clickAdId: 99, clickTime: at(120) }]),
    checkNewAnswer([]),
    assertWatermark(at(-5)), // min(10:05 − 10 min, 12:00 − 20 min)
    ...restart,
    addData(imp, [{ impressionAdId: 3, impressionTime: at(120) }]),
    checkNewAnswer([{ impressionAdId: 2, impressionTime: t(at(5)), clickAdId: null, clickTime: null }]),
    assertWatermark(at(100)), // min(12:00 − 10 min, 12:00 − 20 min)
  ];
}

describe('several watermark operators across a restart', () => {
  it('an uninterrupted run emits the unmatched impression once both watermarks pass its hour', async () => {
    const { imp, clk, df } = adJoin(new Session());
    await testStream(df, { outputMode: 'append' }, steps(imp, clk, []));
  });

  it('a restart after the last data of one side moves the watermark the same way', async () => {
    const { imp, clk, df } = adJoin(new Session());
    const checkpoint = mkdtempSync(join(tmpdir(), 'sluice-wm-restart-'));
    await testStream(df, { outputMode: 'append', checkpoint }, steps(imp, clk, [stopStream(), startStream()]));
    // the commits keep both operators' watermarks: impressions 09:55, clicks 11:40 after the clicks moved ahead
    const commits = new CommitLog(join(checkpoint, 'commits'));
    const latest = (await commits.getLatest())!;
    expect(latest.value.operatorWatermarksMs).toEqual([at(110), at(100)]);
  });

  it('so does a restart that re-runs a batch whose commit is missing (its watermarks come from the batch before)', async () => {
    const { imp, clk, df } = adJoin(new Session());
    const checkpoint = mkdtempSync(join(tmpdir(), 'sluice-wm-rerun-'));
    const dropLastCommit: Step[] = [
      stopStream(),
      addData(imp, [{ impressionAdId: 4, impressionTime: at(12) }]),
      startStream(),
      checkNewAnswer([]),
      stopStream(),
      // the newest batch (ad 4's, or the no-data batch its watermark called for) is re-run: no clicks in it
      execute('delete the newest commit', async () => {
        const last = (await new CommitLog(join(checkpoint, 'commits')).getLatest())!.batchId;
        rmSync(join(checkpoint, 'commits', String(last)));
      }),
      startStream(),
    ];
    await testStream(df, { outputMode: 'append', checkpoint }, [
      ...steps(imp, clk, dropLastCommit).slice(0, -2),
      checkNewAnswer([
        { impressionAdId: 2, impressionTime: t(at(5)), clickAdId: null, clickTime: null },
        { impressionAdId: 4, impressionTime: t(at(12)), clickAdId: null, clickTime: null },
      ]),
      assertWatermark(at(100)),
    ]);
  });

  it('a commit with malformed operator watermarks is refused, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-wm-commit-'));
    const log = new CommitLog(dir);
    await log.add(0, { nextBatchWatermarkMs: 5, operatorWatermarksMs: [5, 9] });
    expect(readFileSync(join(dir, '0'), 'utf8')).toBe('v1\n{"nextBatchWatermarkMs":5,"operatorWatermarksMs":[5,9]}\n');
    expect(await log.get(0)).toEqual({ nextBatchWatermarkMs: 5, operatorWatermarksMs: [5, 9] });
    await log.add(1, { nextBatchWatermarkMs: 5 });
    expect(readFileSync(join(dir, '1'), 'utf8')).toBe('v1\n{"nextBatchWatermarkMs":5}\n');
    const bad = join(dir, '2');
    writeFileSync(bad, 'v1\n{"nextBatchWatermarkMs":5,"operatorWatermarksMs":[5,"x"]}\n');
    await expect(log.get(2)).rejects.toThrow(CorruptCheckpointError);
    await expect(log.get(2)).rejects.toThrow(new RegExp(`${bad}: operatorWatermarksMs must be a list of numbers`));
  });
});
