import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { col, count, Session, sessionWindow, window } from '../../../engine/index.js';

describe('Batch query metrics', () => {
  let dir: string;
  const session = new Session();
  const schema = { user: 'string', ts: 'timestamp' } as const;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-batch-metrics-'));
    // Line 3's time cannot be read (a malformed line); line 5's is empty (null in the input).
    writeFileSync(join(dir, 'events.csv'), 'user,ts\na,2026-01-01T00:00:01Z\nb,yesterday\nc,2026-01-01T00:00:02Z\nd,\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  let warn: ReturnType<typeof vi.spyOn>;
  const warnings = () => warn.mock.calls.map((c) => String(c[0]));
  beforeAll(() => {
    warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  });
  afterEach(() => warn.mockClear());
  afterAll(() => warn.mockRestore());

  const events = (mode = 'permissive') => session.read.format('csv').schema(schema).option('mode', mode).load(join(dir, 'events.csv'));

  it('counts the rows a window aggregation leaves out for a null or unreadable time, and warns once per run', async () => {
    const agg = events().groupBy(window(col('ts'), '1 minute')).agg(count('*').as('n'));
    expect(agg.lastMetrics).toBeNull();
    expect((await agg.collect()).map((r) => r['n'])).toEqual([2]);
    expect(agg.lastMetrics).toEqual({
      numOutputRows: 1,
      numMalformedRows: 1,
      numDroppedMalformedRows: 0,
      numDeadLetterRows: 0,
      rowsWithoutWindow: [{ column: 'ts', window: 'window', rows: 2 }],
    });
    expect(warnings()).toEqual([
      "sluice: 2 row(s) fell in no window: 'ts' is null (null in the input, or not readable as a timestamp; 1 malformed line(s) " +
        "were read in permissive mode, null in every column but _corrupt_record). See them with where(col('ts').isNull()), or read " +
        "with .option('mode', 'failFast') to stop at the first malformed line; df.lastMetrics counts them.",
    ]);
    // A second run counts its own rows, not both runs'.
    warn.mockClear();
    await agg.count();
    expect(agg.lastMetrics?.rowsWithoutWindow).toEqual([{ column: 'ts', window: 'window', rows: 2 }]);
    expect(agg.lastMetrics?.numMalformedRows).toBe(1);
    expect(warnings()).toHaveLength(1);
  });

  it('counts session windows and windows over an expression too', async () => {
    const sessions = events().groupBy(sessionWindow(col('ts'), '1 minute')).agg(count('*').as('n'));
    await sessions.collect();
    expect(sessions.lastMetrics?.rowsWithoutWindow).toEqual([{ column: 'ts', window: 'session_window', rows: 2 }]);
    const text = session.read.format('csv').schema({ user: 'string', ts: 'string' }).load(join(dir, 'events.csv'));
    const cast = text.groupBy(window(col('ts').cast('timestamp'), '1 minute')).agg(count('*').as('n'));
    await cast.collect();
    expect(cast.lastMetrics?.rowsWithoutWindow).toEqual([{ column: null, window: 'window', rows: 2 }]);
    expect(cast.lastMetrics?.numMalformedRows).toBe(0);
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toContain('sluice: 2 row(s) fell in no window: the time of window is null (null in the input, or not readable as a timestamp).');
  });

  it('says nothing when every row has a window, and counts dropped malformed rows', async () => {
    const agg = events('dropMalformed').where(col('ts').isNotNull()).groupBy(window(col('ts'), '1 minute')).agg(count('*').as('n'));
    await agg.collect();
    expect(agg.lastMetrics).toMatchObject({ numMalformedRows: 1, numDroppedMalformedRows: 1, rowsWithoutWindow: [{ column: 'ts', rows: 0 }] });
    expect(warnings().filter((w) => w.includes('no window'))).toEqual([]);
    const shown = events();
    await shown.showString(2);
    expect(shown.lastMetrics).toMatchObject({ numOutputRows: 2, rowsWithoutWindow: [] });
  });

  it('streaming progress counts them per batch, for the window and the file source', async () => {
    const input = join(dir, 'stream');
    mkdirSync(input);
    writeFileSync(join(input, 'a.csv'), 'user,ts\na,2026-01-01T00:00:01Z\nb,yesterday\n');
    const q = session.readStream
      .format('csv')
      .schema(schema)
      .load(input)
      .groupBy(window(col('ts'), '1 minute'))
      .agg(count('*').as('n'))
      .writeStream.format('memory')
      .queryName('nowindow')
      .outputMode('complete')
      .option('checkpointLocation', join(dir, 'ckpt'))
      .trigger({ availableNow: true })
      .start();
    await q.awaitTermination();
    const p = q.recentProgress[0]!;
    expect(p.stateOperators[0]!.numRowsWithoutWindow).toBe(1);
    expect(p.sources[0]!.metrics).toMatchObject({ numMalformedRows: '1', numDroppedMalformedRows: '0' });
  });
});
