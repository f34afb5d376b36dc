import { RecordBatch, Table, tableFromArrays } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { Session, MemoryStream, MemorySink, col } from '../../../engine/index.js';
import { formatTable } from '../../../engine/api/show.js';
import { appendAll, extent } from '../../../engine/types/arrays.js';
import { formatNumber, lineChart, niceTicks, timelineChart } from '../../../engine/viz/svg-chart.js';

// Well past the ~120 k elements where spreading an array into a call's arguments overflows the stack.
const N = 500_000;

function bigTable(): Table {
  const n = Int32Array.from({ length: N }, (_, i) => i);
  const x = Float64Array.from({ length: N }, (_, i) => i / 2);
  return tableFromArrays({ n, x });
}

describe('data-sized arrays', () => {
  it('appendAll and extent take any number of elements, as push(...) and Math.min/max(...) would', () => {
    const items = Array.from({ length: N }, (_, i) => N - i);
    const out = appendAll([0], items);
    expect(out.length).toBe(N + 1);
    expect(out[1]).toBe(N);
    expect(out[N]).toBe(1);
    expect(extent(items)).toEqual([1, N]);
    expect(extent(items, (v) => -v)).toEqual([-N, -1]);
    expect(extent([])).toEqual([Infinity, -Infinity]);
    expect(extent([1, NaN, 3])).toEqual([NaN, NaN]);
  });

  it('collect() returns every row of a 500 k-row batch, through a filter and a projection', async () => {
    const session = new Session({ conf: { parallelism: 1 } });
    const table = bigTable();
    expect(table.batches.length).toBe(1);
    const rows = await session
      .createDataFrame(table)
      .where(col('n').geq(0))
      .withColumn('y', col('x').mul(2))
      .collect();
    expect(rows.length).toBe(N);
    expect(rows[0]).toEqual({ n: 0, x: 0, y: 0 });
    expect(rows[N - 1]).toEqual({ n: N - 1, x: (N - 1) / 2, y: N - 1 });
  });

  it('formats a 500 k-row table for show()', () => {
    const rows = Array.from({ length: N }, (_, i) => ({ n: i }));
    const text = formatTable(['n'], rows);
    const lines = text.split('\n');
    expect(lines.length).toBe(N + 4);
    expect(lines[3]).toBe(`|${'0'.padStart(String(N - 1).length)}|`);
    expect(lines[N + 2]).toBe(`|${N - 1}|`);
  });

  it('a MemoryStream takes 500 k batches at once and a memory sink keeps 500 k batches of one micro-batch', async () => {
    const session = new Session({ conf: { parallelism: 1 } });
    const input = new MemoryStream(session, { n: 'int' });
    input.addData([{ n: 1 }]);
    const df = session.createDataFrame([{ n: 7 }], { n: 'int' });
    const canonical = (await df.toBatches())[0]!;
    expect(input.addBatches(new Array<RecordBatch>(N).fill(canonical))).toBe(N + 1);

    const sink = new MemorySink('many', 'append');
    await sink.addBatch(0, new Table(new Array<RecordBatch>(N).fill(canonical)), {
      queryId: 'q',
      runId: 'r',
      outputMode: 'append',
      schema: df.schema,
    });
    expect(sink.batches().length).toBe(N);
  });

  it('draws line and timeline charts of 500 k points', () => {
    const points = Array.from({ length: N }, (_, i) => [i, (i % 1000) - 500] as const);
    const line = lineChart({ series: [{ name: 's', points }], markers: false });
    const ticks = (svg: string, axis: string) =>
      [...(new RegExp(`<g class="${axis}">[\\s\\S]*?</g>`).exec(svg)?.[0] ?? '').matchAll(/>([^<]+)<\/text>/g)].map((m) => m[1]);
    // The axes span exactly the points' range: y in [-500, 499], x in [0, N - 1].
    expect(ticks(line, 'y-axis')).toEqual(niceTicks(-500, 499, 5).map(formatNumber));
    expect(ticks(line, 'x-axis').at(-1)).toBe('500k');
    const rows = Array.from({ length: N }, (_, i) => ({ lane: 'k', start: i * 10, end: i * 10 + 5 }));
    const timeline = timelineChart({ rows });
    expect(ticks(timeline, 'x-axis').at(-1)).toBe('5M');
  });
});
