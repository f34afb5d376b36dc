/**
 * `window(…)` and `sessionWindow(…)` in a projection, as Spark's TimeWindowing/SessionWindowing rules: one row per
 * window that holds the row (sliding windows expand), null times dropped, sessions never merged. Window assignment is
 * checked against DuckDB (SQL written from SEMANTICS.md §1–2), then the column is used downstream in batch and
 * streaming queries.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnalysisError,
  col,
  count,
  dataFrameFromSpec,
  lit,
  MemoryStream,
  parsePipelineSpec,
  Session,
  sessionWindow,
  sum,
  window,
  windowTime,
  type Column,
  type DataFrame,
} from '../../engine/index.js';
import { ORDERS_DIR } from '../cli/helpers.js';
import { addData, assertProgress, checkNewAnswer, processAllAvailable, startStream, stopStream, testStream, win } from '../helpers/stream-test.js';
import { prng } from '../helpers/prng.js';

const S = 1000;
const MINUTE = 60_000;
const N = 6000;

type Ev = { rid: number; ts: number | null; gap: number | null; v: number };

function generate(seed: number): Ev[] {
  const r = prng(seed);
  const out: Ev[] = [];
  for (let i = 0; i < N; i++) {
    const u = r();
    let ts: number | null;
    if (u < 0.03) ts = null;
    else {
      ts = Math.floor((r() * 2 - 1) * 3 * 3_600_000); // three hours either side of 1970
      if (r() < 0.2) ts = Math.floor(ts / MINUTE) * MINUTE; // exact boundaries
    }
    const g = r();
    const gap = g < 0.05 ? null : g < 0.1 ? -Math.floor(r() * 10 * S) : g < 0.12 ? 0 : Math.floor(r() * 5 * MINUTE) + 1;
    out.push({ rid: i, ts, gap, v: Math.floor(r() * 10) });
  }
  return out;
}

interface Case {
  readonly name: string;
  readonly column: Column;
  /** DuckDB: (rid, start, end) of every row and window. */
  readonly sql: string;
}

/** Spark's windows in SQL: `lastStart = t − floorMod(t − startTime, slide)`, candidates `lastStart − i·slide`. */
function timeWindowSql(size: number, slide: number, start: number): string {
  const k = Math.ceil(size / slide);
  return (
    `SELECT rid, s AS ws, s + ${size} AS we FROM (SELECT rid, ts, ts - (((ts - ${start}) % ${slide}) + ${slide}) % ${slide} - i * ${slide} AS s ` +
    `FROM t, range(0, ${k}) r(i) WHERE ts IS NOT NULL) WHERE s <= ts AND ts < s + ${size}`
  );
}

const CASES: Case[] = [
  { name: 'tumbling', column: window(col('ts'), '1 minute'), sql: timeWindowSql(MINUTE, MINUTE, 0) },
  { name: 'tumbling with a start time', column: window(col('ts'), '10 minutes', '10 minutes', '-3 minutes'), sql: timeWindowSql(10 * MINUTE, 10 * MINUTE, -3 * MINUTE) },
  { name: 'sliding, size a multiple of the slide', column: window(col('ts'), '10 minutes', '2 minutes'), sql: timeWindowSql(10 * MINUTE, 2 * MINUTE, 0) },
  { name: 'sliding, size not a multiple of the slide', column: window(col('ts'), '10 minutes', '3 minutes'), sql: timeWindowSql(10 * MINUTE, 3 * MINUTE, 0) },
  // 30 windows per row: the batch goes out in three pieces (of ≤ 65,536 rows).
  { name: 'sliding, half an hour by the minute', column: window(col('ts'), '30 minutes', '1 minute'), sql: timeWindowSql(30 * MINUTE, MINUTE, 0) },
  { name: 'sliding with a start time', column: window(col('ts'), '7 minutes', '3 minutes', '1 minute'), sql: timeWindowSql(7 * MINUTE, 3 * MINUTE, MINUTE) },
  { name: 'session, literal gap', column: sessionWindow(col('ts'), '90 seconds'), sql: `SELECT rid, ts AS ws, ts + ${90 * S} AS we FROM t WHERE ts IS NOT NULL` },
  { name: 'session, per-row gap', column: sessionWindow(col('ts'), col('gap')), sql: 'SELECT rid, ts AS ws, ts + gap AS we FROM t WHERE ts IS NOT NULL AND gap > 0' },
];

let rows: Ev[];
let session: Session;
let df: DataFrame;
let duck: DuckDBConnection;

beforeAll(async () => {
  rows = generate(20261207);
  session = new Session();
  df = session.createDataFrame(rows, { rid: 'int', ts: 'timestamp', gap: 'long', v: 'int' });
  const db = await DuckDBInstance.create(':memory:');
  duck = await db.connect();
  await duck.run('CREATE TABLE t (rid INTEGER, ts BIGINT, gap BIGINT)');
  const app = await duck.createAppender('t');
  for (const e of rows) {
    app.appendInteger(e.rid);
    if (e.ts === null) app.appendNull();
    else app.appendBigInt(BigInt(e.ts));
    if (e.gap === null) app.appendNull();
    else app.appendBigInt(BigInt(e.gap));
    app.endRow();
  }
  app.closeSync();
});

afterAll(() => {
  duck?.closeSync();
});

const triple = (rid: unknown, start: unknown, end: unknown) => `${Number(rid)}|${Number(start)}|${Number(end)}`;

describe('A window in a projection agrees with DuckDB', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const got = (await df.select(col('rid'), c.column.as('w')).collect()).map((r) => {
        const w = r['w'] as { start: Date; end: Date };
        return triple(r['rid'], w.start.getTime(), w.end.getTime());
      });
      const want = (await duck.runAndReadAll(c.sql)).getRowObjects().map((r) => triple(r['rid'], r['ws'], r['we']));
      expect(want.length).toBeGreaterThan(N * 0.8);
      expect(got.sort()).toEqual(want.sort());
    });
  }
});

describe('A window in a projection', () => {
  const small = () =>
    new Session().createDataFrame(
      [
        { v: 1, ts: 61 * S, gap: '10 seconds' },
        { v: 2, ts: null, gap: '10 seconds' },
        { v: 3, ts: -1, gap: 'soon' },
        { v: 4, ts: 65 * S, gap: null },
        { v: 5, ts: 66 * S, gap: '0 seconds' },
      ],
      { v: 'int', ts: 'timestamp', gap: 'string' },
    );

  it('expands a sliding window into one row per window, the latest first, and drops null times (Spark: Expand + filter)', async () => {
    const out = await small().select(window(col('ts'), '10 seconds', '4 seconds'), col('v')).collect();
    expect(out).toEqual([
      { window: win(60 * S, 70 * S), v: 1 },
      { window: win(56 * S, 66 * S), v: 1 },
      { window: win(52 * S, 62 * S), v: 1 },
      { window: win(-4 * S, 6 * S), v: 3 },
      { window: win(-8 * S, 2 * S), v: 3 },
      { window: win(64 * S, 74 * S), v: 4 },
      { window: win(60 * S, 70 * S), v: 4 },
      { window: win(56 * S, 66 * S), v: 4 },
      { window: win(64 * S, 74 * S), v: 5 },
      { window: win(60 * S, 70 * S), v: 5 },
    ]);
  });

  it('withColumn adds a tumbling window; repeats of the same window, nested too, share it; window.start reads it downstream', async () => {
    const w = window(col('ts'), '1 minute');
    const out = await small()
      .withColumn('w', w)
      .select(col('v'), windowTime(w).as('t'), col('w'))
      .where(col('w.start').geq(lit(new Date(0))))
      .collect();
    expect(out).toEqual([
      { v: 1, t: new Date(120 * S - 1), w: win(60 * S, 120 * S) },
      { v: 4, t: new Date(120 * S - 1), w: win(60 * S, 120 * S) },
      { v: 5, t: new Date(120 * S - 1), w: win(60 * S, 120 * S) },
    ]);
  });

  it("a session window is each row's own [t, t + gap), never merged; rows with an invalid gap are dropped", async () => {
    expect(await small().select(col('v'), sessionWindow(col('ts'), col('gap'))).collect()).toEqual([{ v: 1, session_window: win(61 * S, 71 * S) }]);
    expect(await small().select(col('v'), sessionWindow(col('ts'), '10 seconds')).collect()).toEqual([
      { v: 1, session_window: win(61 * S, 71 * S) },
      { v: 3, session_window: win(-1, 10 * S - 1) },
      { v: 4, session_window: win(65 * S, 75 * S) },
      { v: 5, session_window: win(66 * S, 76 * S) },
    ]);
  });

  it('a window over a window column uses its window_time (end − 1 ms)', async () => {
    const out = await small()
      .select(window(col('ts'), '10 seconds').as('w'), col('v'))
      .select(window(col('w'), '1 minute', '20 seconds'), col('v'))
      .where(col('v').equalTo(1))
      .collect();
    // w = [60 s, 70 s): its time is 69.999 s, in the three 1-minute windows starting 60, 40 and 20 s.
    expect(out).toEqual([
      { window: win(60 * S, 120 * S), v: 1 },
      { window: win(40 * S, 100 * S), v: 1 },
      { window: win(20 * S, 80 * S), v: 1 },
    ]);
  });

  it('grouping by the projected column gives what grouping by the window gives', async () => {
    for (const c of CASES.filter((x) => x.name.startsWith('sliding') || x.name.startsWith('tumbling'))) {
      const a = await df.select(c.column.as('w'), col('v')).groupBy(col('w')).agg(count('*').as('n'), sum('v').as('s')).orderBy(col('w.start')).collect();
      const b = await df.groupBy(c.column.as('w')).agg(count('*').as('n'), sum('v').as('s')).orderBy(col('w.start')).collect();
      expect(a.length).toBeGreaterThan(10);
      expect(a).toEqual(b);
    }
  });

  it('explain() shows the operator that adds the column', () => {
    const text = small().select(window(col('ts'), '10 seconds', '4 seconds').as('w'), col('v')).explain({ print: false });
    expect(text).toMatchInlineSnapshot(`
      "ProjectExec: w, v
        WindowColumnExec: window(ts, 10 seconds, 4 seconds)
          ScanExec: LocalRelation (5 rows) [v, ts, gap]"
    `);
  });

  it('a pipeline spec carries the projected windows: spec → plan gives the same operators', () => {
    const s = new Session();
    const source = s.read.format('jsonl').schema({ id: 'long', ts: 'timestamp' }).load(ORDERS_DIR);
    const q = source.select(col('id'), col('ts'), window(col('ts'), '10 minutes', '5 minutes').as('w')).withColumn('s', sessionWindow(col('ts'), '1 minute'));
    const spec = q.toSpec({ name: 'windows', sink: { format: 'memory' } });
    expect(spec.steps).toEqual([
      { select: ['id', 'ts', { as: 'w', expr: { window: { column: 'ts', size: '10 minutes', slide: '5 minutes' } } }] },
      { withColumn: { s: { sessionWindow: { column: 'ts', gap: '1 minute' } } } },
    ]);
    // The spec reads its source as a stream; the operators above the scan are the same.
    const above = (d: DataFrame) => d.explain({ print: false }).split('\n').slice(0, -1);
    expect(above(dataFrameFromSpec(parsePipelineSpec(spec), s))).toEqual(above(q));
    expect(above(q)).toEqual([
      'ProjectExec: id, ts, w, s',
      '  WindowColumnExec: session_window(ts, 1 minute)',
      '    ProjectExec: id, ts, w',
      '      WindowColumnExec: window(ts, 10 minutes, 5 minutes)',
    ]);
  });

  it('two different windows in one select() are refused (a cartesian product, as Spark)', () => {
    expect(() => small().select(window(col('ts'), '1 minute'), window(col('ts'), '2 minutes').as('w2'))).toThrow(AnalysisError);
    expect(() => small().select(window(col('ts'), '1 minute'), sessionWindow(col('ts'), '1 minute'))).toThrow(/cartesian product/);
  });
});

describe('A projected window downstream in a stream', () => {
  const parallelisms = [
    ['inline', { parallelism: 1 }],
    ['on 2 worker threads', { parallelism: 2, parallelThresholdRows: 1, parallelMinRowNs: 0 }],
  ] as const;
  for (const [where, conf] of parallelisms) {
    it(`groupBy(col('window')) evicts by the window's end, drops late rows and survives a restart (${where})`, async () => {
      const session = new Session({ conf });
      const input = new MemoryStream(session, { v: 'int', ts: 'timestamp' });
      const df = input
        .toDF()
        .withWatermark('ts', '2 seconds')
        .select(window(col('ts'), '10 seconds', '5 seconds'), col('v'))
        .groupBy(col('window'))
        .agg(sum('v').as('total'));
      await testStream(df, { outputMode: 'append' }, [
        addData(input, [
          { v: 1, ts: 1 * S },
          { v: 2, ts: 7 * S },
          { v: 100, ts: null },
        ]),
        // The no-data batch at watermark 5 s closes [-5, 5); the null time had no window.
        checkNewAnswer([{ window: win(-5 * S, 5 * S), total: 1 }]),
        assertProgress('[0, 10) and [5, 15) held', (p) => expect(p.stateOperators[0]!.numRowsTotal).toBe(2)),
        addData(input, [{ v: 4, ts: 12 * S }]),
        checkNewAnswer([{ window: win(0, 10 * S), total: 3 }]),
        stopStream(),
        startStream(),
        // 3 s is late for both windows that hold it (ends 5 s and 10 s ≤ watermark 10 s).
        addData(input, [
          { v: 8, ts: 3 * S },
          { v: 16, ts: 14 * S },
        ]),
        checkNewAnswer([]),
        assertProgress('late windows counted', (_, all) => {
          const data = all.filter((p) => p.numInputRows > 0).at(-1)!;
          expect(data.stateOperators[0]!.numRowsDroppedByWatermark).toBe(2);
        }),
        addData(input, [{ v: 32, ts: 40 * S }]),
        checkNewAnswer([
          { window: win(5 * S, 15 * S), total: 2 + 4 + 16 },
          { window: win(10 * S, 20 * S), total: 4 + 16 },
        ]),
        assertProgress('only the windows of 40 s left', (p) => expect(p.stateOperators[0]!.numRowsTotal).toBe(2)),
      ]);
    });
  }

  it('a chained aggregation groups by the first one\'s window column in append mode', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { v: 'int', ts: 'timestamp' });
    const df = input
      .toDF()
      .withWatermark('ts', '0 seconds')
      .groupBy(window(col('ts'), '5 seconds'))
      .agg(count('*').as('n'))
      .groupBy(col('window'))
      .agg(sum('n').as('total'));
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [
        { v: 1, ts: 1 * S },
        { v: 1, ts: 2 * S },
      ]),
      processAllAvailable(),
      addData(input, [{ v: 1, ts: 12 * S }]),
      processAllAvailable(),
      checkNewAnswer([{ window: win(0, 5 * S), total: 2 }]),
    ]);
  });

  it('dropDuplicates on the projected window drops late rows and forgets windows by their end', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { v: 'int', ts: 'timestamp' });
    const df = input.toDF().withWatermark('ts', '0 seconds').select(window(col('ts'), '5 seconds'), col('v')).dropDuplicates(['window']);
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [
        { v: 1, ts: 1 * S },
        { v: 2, ts: 2 * S },
        { v: 3, ts: 6 * S },
      ]),
      checkNewAnswer([
        { window: win(0, 5 * S), v: 1 },
        { window: win(5 * S, 10 * S), v: 3 },
      ]),
      // Watermark 6 s: [0, 5) is forgotten, and a row in it is late (end 5 s ≤ 6 s), not new.
      assertProgress('[0, 5) forgotten', (p) => expect(p.stateOperators[0]!.numRowsTotal).toBe(1)),
      addData(input, [
        { v: 4, ts: 4 * S },
        { v: 5, ts: 9 * S },
        { v: 6, ts: 11 * S },
      ]),
      checkNewAnswer([{ window: win(10 * S, 15 * S), v: 6 }]),
      assertProgress('late row counted', (_, all) => {
        const data = all.filter((p) => p.numInputRows > 0).at(-1)!;
        expect(data.stateOperators[0]!.numRowsDroppedByWatermark).toBe(1);
      }),
    ]);
  });

  it('withWatermark on the projected window column, and a session window per row', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { user: 'string', ts: 'timestamp' });
    const df = input
      .toDF()
      .select(col('user'), sessionWindow(col('ts'), '3 seconds').as('s'))
      .withWatermark('s', '0 seconds')
      .groupBy(col('s'), col('user'))
      .agg(count('*').as('n'));
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [
        { user: 'a', ts: 1 * S },
        { user: 'a', ts: 2 * S },
        { user: 'a', ts: 2 * S },
      ]),
      // The watermark is the largest end (5 s) minus 0: the no-data batch closes both sessions, unmerged.
      checkNewAnswer([
        { s: win(1 * S, 4 * S), user: 'a', n: 1 },
        { s: win(2 * S, 5 * S), user: 'a', n: 2 },
      ]),
      addData(input, [{ user: 'b', ts: 20 * S }]),
      checkNewAnswer([{ s: win(20 * S, 23 * S), user: 'b', n: 1 }]),
      assertProgress('nothing held', (p) => expect(p.stateOperators[0]!.numRowsTotal).toBe(0)),
    ]);
  });
});
