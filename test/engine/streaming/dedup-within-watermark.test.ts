import { describe, expect, it } from 'vitest';
import { MemoryStream, Session, UnsupportedOperationError } from '../../../engine/index.js';
import { nullVec, strVecFromStrings } from '../../../engine/kernels/vec.js';
import { DedupPartition } from '../../../engine/physical/partitions/dedup-partition.js';
import type { BatchInfo } from '../../../engine/physical/partitions/keyed-operator.js';
import { field, schemaOf } from '../../../engine/types/data-type.js';
import { batchFromVecs } from '../../../engine/types/values.js';
import { addData, assertProgress, checkNewAnswer, processAllAvailable, startStream, stopStream, testStream } from '../../helpers/stream-test.js';

const s = (sec: number) => sec * 1000;

describe('dropDuplicatesWithinWatermark', () => {
  it('is refused on a batch DataFrame when it runs, as Spark (checkForBatch)', async () => {
    const session = new Session();
    const df = session.createDataFrame([{ id: 1 }, { id: 1 }], { id: 'int' }).dropDuplicatesWithinWatermark(['id']);
    await expect(df.collect()).rejects.toThrow(UnsupportedOperationError);
    await expect(df.collect()).rejects.toThrow(/^dropDuplicatesWithinWatermark is not supported with batch DataFrames\/DataSets: use dropDuplicates\(\['id'\]\)/);
    await expect(session.createDataFrame([{ id: 1 }], { id: 'int' }).dropDuplicatesWithinWatermark().toBatches()).rejects.toThrow(
      /not supported with batch DataFrames\/DataSets: use dropDuplicates\(\)/,
    );
    // dropDuplicates stays a batch operator.
    expect(await session.createDataFrame([{ id: 1 }, { id: 1 }], { id: 'int' }).dropDuplicates(['id']).collect()).toEqual([{ id: 1 }]);
  });

  it('a key restored with a null expiry (state written before null times expired) expires at the delay', () => {
    const p = new DedupPartition(
      { keyOrdinals: [0], watermark: { ordinal: 1, delayMs: 10_000 }, withinWatermark: true },
      schemaOf([field('id', 'string'), field('eventTime', 'timestamp')]),
    );
    p.restore(new Map([['', batchFromVecs(p.stateSchema, [strVecFromStrings(['a']), nullVec('timestamp', 1)], 1)]]));
    const at = (wm: number): BatchInfo => ({ batchId: 1, streaming: true, outputMode: 'append', lateWatermarkMs: wm, evictionWatermarkMs: wm, batchTimestampMs: 0 });
    p.startBatch();
    expect(p.finish(at(9_999)).metrics).toMatchObject({ numRowsTotal: 1, numRowsRemoved: 0 });
    p.startBatch();
    expect(p.finish(at(10_000)).metrics).toMatchObject({ numRowsTotal: 0, numRowsRemoved: 1 });
  });

  // A null event time reads as 0 (Spark's getLong of a null UnsafeRow field): the key expires at 0 + delay.
  const parallelisms = [
    ['inline', { parallelism: 1 }],
    ['on 2 worker threads', { parallelism: 2, parallelThresholdRows: 1, parallelMinRowNs: 0 }],
  ] as const;
  for (const [where, conf] of parallelisms) {
    it(`a key first seen with a null event time expires once the watermark reaches the delay (${where})`, async () => {
      const session = new Session({ conf });
      const input = new MemoryStream(session, { id: 'string', eventTime: 'timestamp' });
      const df = input.toDF().withWatermark('eventTime', '10 seconds').dropDuplicatesWithinWatermark(['id']);
      await testStream(df, { outputMode: 'append' }, [
        addData(input, [
          { id: 'a', eventTime: null },
          { id: 'b', eventTime: s(1) },
        ]),
        checkNewAnswer([
          { id: 'a', eventTime: null },
          { id: 'b', eventTime: new Date(s(1)) },
        ]),
        assertProgress('a and b held', (p) => {
          expect(p.stateOperators[0]!.numRowsTotal).toBe(2);
          expect(p.stateOperators[0]!.numStateStoreInstances).toBe(conf.parallelism);
        }),
        // Watermark still 0 (1 s − 10 s): a (expires at 10 s) is remembered, its repeat suppressed.
        addData(input, [
          { id: 'a', eventTime: null },
          { id: 'c', eventTime: s(30) },
        ]),
        checkNewAnswer([{ id: 'c', eventTime: new Date(s(30)) }]),
        processAllAvailable(),
        // The no-data batch at watermark 20 s evicts a (10 s) and b (11 s); c (40 s) stays.
        assertProgress('a and b evicted', (p) => {
          expect(p.stateOperators[0]!.numRowsTotal).toBe(1);
          expect(p.stateOperators[0]!.numRowsRemoved).toBe(2);
        }),
        stopStream(),
        startStream(),
        // A null time is never late; a is new again, emitted, and its state (expired at 10 s ≤ 20 s) leaves at once.
        addData(input, [
          { id: 'a', eventTime: null },
          { id: 'c', eventTime: s(31) },
        ]),
        checkNewAnswer([{ id: 'a', eventTime: null }]),
        assertProgress('a gone again, c still held', (_, all) => {
          const data = all.filter((p) => p.numInputRows > 0).at(-1)!;
          expect(data.stateOperators[0]!.numRowsUpdated).toBe(1);
          expect(data.stateOperators[0]!.numRowsRemoved).toBe(1);
          expect(data.stateOperators[0]!.numRowsTotal).toBe(1);
        }),
      ]);
    });
  }
});
