import { mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { col, count, fromJson, ManualClock, MemoryStream, Session, window, type StreamingQueryProgress } from '../../../engine/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-src-'));

function writeJsonl(dir: string, name: string, rows: object[], mtimeSec: number): void {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  utimesSync(p, mtimeSec, mtimeSec);
}

describe('File stream source', () => {
  it('reads new files oldest first, maxFilesPerTrigger per batch, and logs each batch\'s files under sources/0', async () => {
    const dir = tmp();
    const ckpt = tmp();
    writeJsonl(dir, 'b.jsonl', [{ v: 2 }], 2000);
    writeJsonl(dir, 'a.jsonl', [{ v: 1 }], 3000);
    writeJsonl(dir, 'c.jsonl', [{ v: 3 }], 1000);
    const session = new Session();
    const q = session.readStream
      .format('jsonl')
      .schema({ v: 'int' })
      .option('maxFilesPerTrigger', 2)
      .load(dir)
      .writeStream.format('memory')
      .queryName('files')
      .option('checkpointLocation', ckpt)
      .trigger({ availableNow: true })
      .start();
    await q.awaitTermination();
    expect(q.recentProgress.map((p) => p.numInputRows)).toEqual([2, 1]);
    const rows = (await session.table('files').collect()).map((r) => r['v']);
    expect(rows).toEqual([3, 2, 1]); // by modification time: c, b, a
    const log0 = JSON.parse(readFileSync(join(ckpt, 'sources', '0', '0'), 'utf8'));
    expect(log0.map((p: string) => p.split('/').pop())).toEqual(['c.jsonl', 'b.jsonl']);
    // A restart reads only files it has not logged.
    writeJsonl(dir, 'd.jsonl', [{ v: 4 }], 4000);
    const q2 = session.readStream
      .format('jsonl')
      .schema({ v: 'int' })
      .load(dir)
      .writeStream.format('memory')
      .queryName('files2')
      .option('checkpointLocation', ckpt)
      .trigger({ availableNow: true })
      .start();
    await q2.awaitTermination();
    expect((await session.table('files2').collect()).map((r) => r['v'])).toEqual([4]);
  });

  it('streams CSV, Parquet and Arrow folders the same way', async () => {
    const session = new Session();
    const dir = tmp();
    await session.createDataFrame([{ a: 1 }, { a: 2 }], { a: 'int' }).write.format('parquet').save(join(dir, 'pq'));
    mkdirSync(join(dir, 'csv'));
    writeFileSync(join(dir, 'csv', 'x.csv'), 'a\n1\n2\n');
    for (const [fmt, sub] of [
      ['parquet', 'pq'],
      ['csv', 'csv'],
    ] as const) {
      const q = session.readStream.format(fmt).schema({ a: 'int' }).option('mode', 'failFast').load(join(dir, sub))
        .writeStream.format('memory').queryName(`s-${fmt}`).trigger({ once: true }).start();
      await q.awaitTermination();
      expect((await session.table(`s-${fmt}`).collect()).map((r) => r['a'])).toEqual([1, 2]);
    }
  });
});

describe('jsonl sink', () => {
  it('writes one file per batch named by batch id, with ISO timestamps', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { id: 'int', ts: 'timestamp' });
    const out = tmp();
    const q = input.toDF().writeStream.format('jsonl').option('path', out).option('checkpointLocation', tmp()).start();
    input.addData([{ id: 1, ts: 0 }]);
    await q.processAllAvailable();
    input.addData([{ id: 2, ts: 1500 }]);
    await q.processAllAvailable();
    await q.stop();
    expect(readdirSync(out).sort()).toEqual(['part-00000.jsonl', 'part-00001.jsonl']);
    expect(readFileSync(join(out, 'part-00001.jsonl'), 'utf8')).toBe('{"id":2,"ts":"1970-01-01T00:00:01.500Z"}\n');
  });
});

describe('Dead-letter output', () => {
  it('routes rows fromJson cannot parse to the dead-letter files, counted in progress; dropMalformed drops them', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { value: 'string', offset: 'long' });
    const dead = tmp();
    const q = input
      .toDF()
      .select(fromJson(col('value'), { user: 'string', amount: 'double' }, { mode: 'dropMalformed' }).as('e'), col('offset'))
      .select('e.*', 'offset')
      .writeStream.format('memory')
      .queryName('parsed')
      .option('deadLetterPath', dead)
      .start();
    input.addData([
      { value: '{"user":"a","amount":1.5}', offset: 0 },
      { value: 'not json', offset: 1 },
      { value: '{"user":"b","amount":"lots"}', offset: 2 },
      { value: '{"user":"c","amount":2}', offset: 3 },
    ]);
    await q.processAllAvailable();
    await q.stop();
    expect(await session.table('parsed').collect()).toEqual([
      { user: 'a', amount: 1.5, offset: 0 },
      { user: 'c', amount: 2, offset: 3 },
    ]);
    expect(q.lastProgress!.numDeadLetterRows).toBe(2);
    const lines = readFileSync(join(dead, 'batch-00000.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.value, l.offset, l._batchId])).toEqual([
      ['not json', 1, 0],
      ['{"user":"b","amount":"lots"}', 2, 0],
    ]);
    expect(lines[0]._error).toMatch(/malformed input for fromJson/);
  });

  it('failFast stops the query with the offending value', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { value: 'string' });
    const q = input.toDF().select(fromJson(col('value'), { a: 'int' }, { mode: 'failFast' }).as('e'))
      .writeStream.format('memory').queryName('ff').start();
    input.addData([{ value: '{"a":' }]);
    await expect(q.awaitTermination()).rejects.toThrow(/Malformed JSON in row 0: "\{\\"a\\":"/);
  });
});

describe('Progress and listeners', () => {
  it('reports Spark-shaped progress and calls listeners in order', async () => {
    const clock = new ManualClock(1_000_000);
    const session = new Session({ clock });
    const events: string[] = [];
    session.streams.addListener({
      onQueryStarted: () => events.push('started'),
      onQueryProgress: ({ progress }) => events.push(`progress ${progress.batchId}`),
      onQueryTerminated: ({ exception }) => events.push(`terminated ${exception === null}`),
    });
    const input = new MemoryStream(session, { v: 'int', ts: 'timestamp' });
    const q = input.toDF().withWatermark('ts', '1 second').groupBy(window(col('ts'), '1 second')).agg(count('*').as('n'))
      .writeStream.format('memory').queryName('prog').outputMode('update').start();
    input.addData([{ v: 1, ts: 5000 }, { v: 2, ts: 7000 }]);
    await q.processAllAvailable();
    // batch 0 had the data; batch 1 was the no-data batch the watermark move asked for
    expect(q.recentProgress.map((x) => x.numInputRows)).toEqual([2, 0]);
    const p: StreamingQueryProgress = q.recentProgress[0]!;
    expect(p.batchId).toBe(0);
    expect(p.name).toBe('prog');
    expect(p.timestamp).toBe(new Date(1_000_000).toISOString());
    expect(p.numInputRows).toBe(2);
    expect(p.eventTime).toEqual({
      min: '1970-01-01T00:00:05.000Z',
      max: '1970-01-01T00:00:07.000Z',
      avg: '1970-01-01T00:00:06.000Z',
      watermark: '1970-01-01T00:00:00.000Z',
    });
    expect(p.stateOperators[0]).toMatchObject({ numRowsTotal: 2, numRowsUpdated: 2, numRowsRemoved: 0 });
    expect(p.sources[0]).toMatchObject({ startOffset: null, endOffset: 1, numInputRows: 2 });
    expect(p.sink).toMatchObject({ description: 'MemorySink[prog]', numOutputRows: 2 });
    expect(Object.keys(p.durationMs)).toEqual(expect.arrayContaining(['triggerExecution', 'addBatch', 'walCommit', 'latestOffset']));
    expect(q.status.isTriggerActive || q.status.message.length > 0).toBe(true);
    await q.stop();
    expect(events[0]).toBe('started');
    expect(events).toContain('progress 0');
    expect(events[events.length - 1]).toBe('terminated true');
  });

  it('a processing-time trigger waits for the clock', async () => {
    const clock = new ManualClock(0);
    const session = new Session({ clock });
    const input = new MemoryStream(session, { v: 'int' });
    input.addData([{ v: 1 }]);
    const q = input.toDF().writeStream.format('memory').queryName('pt').trigger({ processingTime: '10 seconds' }).start();
    const waitFor = async (cond: () => boolean) => {
      for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(cond()).toBe(true);
    };
    await waitFor(() => q.recentProgress.length === 1);
    input.addData([{ v: 2 }]);
    await new Promise((r) => setTimeout(r, 100));
    expect(q.recentProgress.length).toBe(1); // the next trigger is at 10 s
    clock.advance(10_000);
    await waitFor(() => q.recentProgress.length === 2);
    expect(q.lastProgress!.timestamp).toBe(new Date(10_000).toISOString());
    expect(q.lastProgress!.numInputRows).toBe(1);
    await q.stop();
  });
});

describe('ManualClock and processAllAvailable', () => {
  it('a woken sleeper leaves no abort listener behind', async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    let added = 0;
    let removed = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    const remove = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...a: Parameters<typeof add>) => (added++, add(...a))) as typeof add;
    ac.signal.removeEventListener = ((...a: Parameters<typeof remove>) => (removed++, remove(...a))) as typeof remove;
    for (let i = 0; i < 12; i++) {
      const p = clock.sleep(10, ac.signal);
      clock.advance(10);
      await p;
    }
    expect(added).toBe(12);
    expect(removed).toBe(12);
  });

  it('an idle query starts the next batch as soon as a MemoryStream gets data, not after pollingDelayMs', async () => {
    // With a stopped clock the idle poll would never end: only the source's wake-up can start batch 1.
    const session = new Session({ clock: new ManualClock(0), conf: { pollingDelayMs: 60_000 } });
    const input = new MemoryStream(session, { v: 'int' });
    const q = input.toDF().writeStream.format('memory').queryName('woken').start();
    input.addData([{ v: 1 }]);
    await q.processAllAvailable();
    await new Promise((r) => setTimeout(r, 50)); // the query is idle, asleep
    input.addData([{ v: 2 }]);
    await q.processAllAvailable();
    expect((await session.table('woken').collect()).map((r) => r['v'])).toEqual([1, 2]);
    expect(q.lastProgress?.batchId).toBe(1);
    await q.stop();
  }, 20_000);

  it('processAllAvailable returns at once on an idle query with nothing pending, even on a stopped clock', async () => {
    const session = new Session({ clock: new ManualClock(0) });
    const input = new MemoryStream(session, { v: 'int' });
    const q = input.toDF().writeStream.format('memory').queryName('idle').trigger({ processingTime: '1 minute' }).start();
    await new Promise((r) => setTimeout(r, 100));
    await q.processAllAvailable();
    await q.stop();
  });
});
