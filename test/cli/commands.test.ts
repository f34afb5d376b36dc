import { appendFileSync, existsSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataFrameFromSpec, Session } from '../../engine/index.js';
import { normalizeRows } from '../helpers/stream-test.js';
import {
  DAY1,
  DAY2,
  DAY3,
  FIXTURES,
  HOUR,
  makeOrders,
  MINUTE,
  runCli,
  salesSpec,
  startCli,
  tableRows,
  tempDir,
  writeOrders,
  writeSpec,
} from './helpers.js';

/** Two days of orders in 6 files (4 hours each side of noon, in time order), and a closing order on day 3. */
function twoDays(dir: string): void {
  let id = 0;
  for (const [i, [from, to]] of [
    [DAY1, DAY1 + 8 * HOUR],
    [DAY1 + 8 * HOUR, DAY1 + 16 * HOUR],
    [DAY1 + 16 * HOUR, DAY2],
    [DAY2, DAY2 + 8 * HOUR],
    [DAY2 + 8 * HOUR, DAY2 + 16 * HOUR],
    [DAY2 + 16 * HOUR, DAY3],
  ].entries()) {
    writeOrders(dir, `orders-${i}.jsonl`, makeOrders(300, from!, to!, 100 + i, id, 0));
    id += 300;
  }
  writeOrders(dir, 'orders-6.jsonl', makeOrders(1, DAY3 + 30 * MINUTE, DAY3 + 31 * MINUTE, 9, id, 0));
}

function setup(name: string, o: Partial<Parameters<typeof salesSpec>[0]> = {}) {
  const dir = tempDir(`sluice-cli-${name}-`);
  const input = join(dir, 'in');
  twoDays(input);
  const lake = join(dir, 'lake');
  const checkpoint = join(dir, 'ckpt');
  const spec = salesSpec({ input, lake, checkpoint, ...o });
  return { dir, input, lake, checkpoint, spec, file: writeSpec(dir, 'sales.json', spec) };
}

describe('sluice run', () => {
  it('stops after the current batch on SIGINT (exit 130), and a restart continues where it stopped', async () => {
    const s = setup('run', { trigger: { processingTime: '300 milliseconds' } });
    const live = startCli(['run', s.file], { cwd: s.dir });
    await live.waitFor(/^batch 1: /m);
    live.signal('SIGINT');
    const first = await live.exited;
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(130);
    expect(first.stdout).toMatch(/^started sales: query [0-9a-f-]{36}, checkpoint /m);
    expect(first.stdout).toContain('SIGINT: stopping after the current batch');
    const stoppedAt = Number(/stopped after batch (\d+) \(committed\); a restart continues with batch (\d+)/.exec(first.stdout)![1]);
    expect(live.lines(/^batch \d+: /).length).toBe(stoppedAt + 1);

    const status = await runCli(['status', s.checkpoint], { cwd: s.dir });
    expect(status.code, `${status.stdout}\n${status.stderr}`).toBe(0);
    expect(status.stdout).toContain(`restart:    batch ${stoppedAt} is committed: a restart starts batch ${stoppedAt + 1}`);

    const again = await runCli(['run', s.file, '--trigger', 'available-now'], { cwd: s.dir });
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(again.stdout.split('\n').find((l) => l.startsWith('batch '))).toMatch(new RegExp(`^batch ${stoppedAt + 1}: `));
    expect(again.stdout).toMatch(/stopped after batch \d+ \(committed\)/);

    // The same as one straight run.
    const straight = setup('run-straight');
    const r = await runCli(['run', straight.file, '--trigger', 'available-now'], { cwd: straight.dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const expected = await tableRows(straight.lake);
    expect(expected.length).toBeGreaterThan(40);
    expect(await tableRows(s.lake)).toEqual(expected);
  });

  it('prints one line per batch with rows, watermark and late data', async () => {
    const s = setup('lines');
    const r = await runCli(['run', s.file, '--trigger', 'available-now'], { cwd: s.dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^batch 0: 300 rows in, 0 rows out, watermark 1970-01-01T00:00:00\.000Z, \d+ ms$/m);
    expect(r.stdout).toMatch(/^batch 7: 0 rows in, \d+ rows out, watermark 2026-05-31T00:20:00\.000Z, \d+ ms$/m);
    // Late orders of day 1, arriving after day 3's: dropped by the watermark.
    writeOrders(s.input, 'orders-7-late.jsonl', makeOrders(20, DAY1 + HOUR, DAY1 + 2 * HOUR, 5, 5000, 0));
    const late = await runCli(['run', s.file, '--trigger', 'once'], { cwd: s.dir });
    expect(late.code, `${late.stdout}\n${late.stderr}`).toBe(0);
    expect(late.stdout).toMatch(/^batch 8: 20 rows in, 0 rows out, watermark 2026-05-31T00:20:00\.000Z, \d+ dropped as late, \d+ ms$/m);
    writeOrders(s.input, 'orders-8-late.jsonl', makeOrders(5, DAY1 + HOUR, DAY1 + 2 * HOUR, 6, 6000, 0));
    const json = await runCli(['run', s.file, '--trigger', 'once', '--json'], { cwd: s.dir });
    expect(json.code, `${json.stdout}\n${json.stderr}`).toBe(0);
    const progress = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { batchId: number; numInputRows: number; stateOperators: { numRowsDroppedByWatermark: number }[] });
    expect(progress).toMatchObject([{ batchId: 9, numInputRows: 5, sink: { numOutputRows: 0 } }]);
    expect(progress[0]!.stateOperators[0]!.numRowsDroppedByWatermark).toBeGreaterThan(0);
    // Nothing new: the trigger records an idle progress entry (batch 9, the last committed), but no batch runs.
    const idle = await runCli(['run', s.file, '--trigger', 'once'], { cwd: s.dir });
    expect(idle.code, `${idle.stdout}\n${idle.stderr}`).toBe(0);
    expect(idle.stdout).toContain('stopped: no batch ran (nothing new in the input)');
    expect(idle.stdout).not.toContain('stopped after batch');
  });

  it('exits 1 when the query fails while running', async () => {
    const s = setup('fail');
    appendFileSync(join(s.input, 'orders-0.jsonl'), '{"order_id": 1, "amount": "not a number"\n');
    const r = await runCli(['run', s.file, '--trigger', 'available-now'], { cwd: s.dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.stderr).toMatch(/query failed: .*orders-0\.jsonl/);
  });

  it('accepts a TypeScript module that exports the query', async () => {
    const s = setup('ts');
    const env = { SALES_INPUT: s.input, SALES_LAKE: join(s.dir, 'lake-ts'), SALES_CHECKPOINT: join(s.dir, 'ckpt-ts') };
    const r = await runCli(['run', join(FIXTURES, 'sales-query.ts')], { cwd: s.dir, env });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^started sales-ts: /m);
    const json = await runCli(['run', s.file, '--trigger', 'available-now'], { cwd: s.dir });
    expect(json.code, `${json.stdout}\n${json.stderr}`).toBe(0);
    expect(await tableRows(join(s.dir, 'lake-ts'))).toEqual(await tableRows(s.lake));
  });
});

describe('sluice batch', () => {
  it('runs the query over bounded input as a batch and writes every window to the sink', async () => {
    const s = setup('batch');
    const r = await runCli(['batch', s.file, '--input', join(s.input, 'orders-{0,1,2}.jsonl')], { cwd: s.dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^wrote 72 rows to delta .*lake \(mode append\) in \d+ ms$/m);
    const expected = await dataFrameFromSpec({ ...s.spec, source: { ...s.spec.source, path: join(s.input, 'orders-{0,1,2}.jsonl') } }, new Session(), { mode: 'batch' }).collect();
    expect(await tableRows(s.lake)).toEqual(normalizeRows(expected));
    // 24 windows × 3 products on day 1, none of day 2
    expect(new Set(expected.map((x) => x['date']))).toEqual(new Set(['2026-05-29']));
  });
});

describe('sluice status', () => {
  it('shows the batches, the state, and that an uncommitted batch runs again', async () => {
    const s = setup('status');
    expect(await runCli(['run', s.file, '--trigger', 'available-now'], { cwd: s.dir })).toMatchObject({ code: 0 });
    const ok = await runCli(['status', s.checkpoint, '--batches', '3'], { cwd: s.dir });
    expect(ok.code, `${ok.stdout}\n${ok.stderr}`).toBe(0);
    expect(ok.stdout).toMatch(/^query id    [0-9a-f-]{36}$/m);
    expect(ok.stdout).toMatch(/^last 3 batch\(es\):$/m);
    expect(ok.stdout).toMatch(/^ {2}7 {6}committed  2026-05-3\d.*ms .*\{"logOffset":6\}$/m);
    expect(ok.stdout).toMatch(/^ {2}operator 0  [\d.]+ (B|KiB) in \d+ file\(s\), 1 partition\(s\), latest version \d+  aggregate\(/m);
    const json = JSON.parse((await runCli(['status', s.checkpoint, '--json'], { cwd: s.dir })).stdout) as { restart: { kind: string; batchId: number } };
    const last = json.restart.batchId - 1;
    expect(json.restart.kind).toBe('next');

    // As if the process died after writing its sink but before commits/N.
    unlinkSync(join(s.checkpoint, 'commits', String(last)));
    const rerun = await runCli(['status', s.checkpoint], { cwd: s.dir });
    expect(rerun.stdout).toContain(`restart:    offsets/${last} has no commit: a restart runs batch ${last} again with the same offsets, watermark and timestamp`);
    const before = await tableRows(s.lake);
    const again = await runCli(['run', s.file, '--trigger', 'available-now'], { cwd: s.dir });
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^batch ${last}: `, 'm'));
    expect(await tableRows(s.lake)).toEqual(before);
  });

  it('exits 2 for a folder that is not a checkpoint', async () => {
    const dir = tempDir();
    const r = await runCli(['status', join(dir, 'nope')]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(r.stderr).toContain('No checkpoint at');
  });
});

describe('sluice diff', () => {
  it('finds batch and stream results identical over ordered input', async () => {
    const s = setup('diff');
    const r = await runCli(['diff', s.file, '--seed', '7', '--batches', '8'], { cwd: s.dir });
    expect(r.stderr).toBe('');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^ {2}stream {2}\d+ rows from \d+ micro-batches of random sizes \(seed 7: /m);
    expect(r.stdout).toMatch(/^ {2}open {4}1 window\(s\) end after the stream's final watermark 2026-05-31T00:20:00\.000Z/m);
    expect(r.stdout).toMatch(/^ {2}result {2}identical$/m);
  });

  it('reports late rows the stream dropped as a difference (exit 3)', async () => {
    const s = setup('diff-late');
    writeOrders(s.input, 'z-late.jsonl', makeOrders(10, DAY1 + HOUR, DAY1 + 2 * HOUR, 5, 9000, 0));
    const r = await runCli(['diff', s.file, '--seed', '7', '--json'], { cwd: s.dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(3);
    const j = JSON.parse(r.stdout) as { identical: boolean; lateRowsDropped: number; onlyInBatch: unknown[]; onlyInStream: unknown[] };
    expect(j.identical).toBe(false);
    expect(j.lateRowsDropped).toBeGreaterThan(0);
    expect(j.onlyInBatch.length).toBeGreaterThan(0);
  });
});

describe('sluice backfill --dry-run', () => {
  it('prints the ranges, the partitions to replace and the rows to read, and changes nothing', async () => {
    const s = setup('dry');
    expect(await runCli(['batch', s.file], { cwd: s.dir })).toMatchObject({ code: 0 });
    const before = await tableRows(s.lake);
    const r = await runCli(['backfill', s.file, '--from', '2026-05-29T06:00:00Z', '--to', '2026-05-29T18:00:00Z', '--dry-run', '--ignore-checkpoint'], { cwd: s.dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('  requested    [2026-05-29T06:00:00.000Z, 2026-05-29T18:00:00.000Z)');
    expect(r.stdout).toContain("  recomputed   [2026-05-29T00:00:00.000Z, 2026-05-30T00:00:00.000Z)  (widened to whole 'date' partitions)");
    expect(r.stdout).toContain('  windows      window.start in [2026-05-29T00:00:00.000Z, 2026-05-30T00:00:00.000Z)');
    expect(r.stdout).toContain("  replace      date >= '2026-05-29' AND date < '2026-05-30'  (1 partition(s))");
    expect(r.stdout).toMatch(/^ {4}date=2026-05-29 {2}now 1 file\(s\), 72 rows$/m);
    expect(r.stdout).toMatch(/^ {2}read {9}jsonl: 7 file\(s\), [\d,]+ bytes, ~[\d,]+ rows, event time in \[2026-05-29T00:00:00\.000Z, 2026-05-30T01:00:00\.000Z\)$/m);
    expect(await tableRows(s.lake)).toEqual(before);
  });
});

describe('sluice schedule', () => {
  it('backfills on every slot, logs every run, stops on SIGINT (130), and reports slots missed while stopped', async () => {
    const s = setup('schedule');
    expect(await runCli(['batch', s.file], { cwd: s.dir })).toMatchObject({ code: 0 });
    const log = join(s.dir, 'schedule.jsonl');
    const args = ['schedule', s.file, '--cron', '*/2 * * * * *', '--backfill-window', '1 day', '--timezone', 'UTC', '--log', log, '--ignore-checkpoint'];
    const p = startCli(args, { cwd: s.dir });
    await p.waitFor(/^done {2}slot .* in [\d.]+ s: replaced \d partition\(s\)/m);
    p.signal('SIGINT');
    const r = await p.exited;
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(130);
    expect(r.stdout).toMatch(/^schedule started at .*: cron "\*\/2 \* \* \* \* \*", next slot /m);
    expect(r.stdout).toMatch(/^schedule stopped at /m);
    const events = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; slot?: string; ok?: boolean });
    expect(events.filter((e) => e.event === 'run').length).toBeGreaterThan(0);
    expect(events.filter((e) => e.event === 'done').every((e) => e.ok)).toBe(true);
    expect(events.at(-1)!.event).toBe('stopped');

    await new Promise((res) => setTimeout(res, 4500));
    const q = startCli(args, { cwd: s.dir });
    await q.waitFor(/^missed slot .*: sluice schedule was not running$/m);
    q.signal('SIGINT');
    expect((await q.exited).code).toBe(130);
  });

  it('exits 2 for a bad cron pattern', async () => {
    const s = setup('schedule-bad');
    const r = await runCli(['schedule', s.file, '--cron', '99 * * * *', '--backfill-window', '1 day'], { cwd: s.dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(r.stderr).toContain("Invalid cron pattern '99 * * * *'");
  });
});

describe('invalid specs and usage (exit 2)', () => {
  const cases: [string, (spec: Record<string, unknown>) => unknown, RegExp][] = [
    ['an unknown field', (s) => ({ ...s, sinks: [] }), /^ {2}sinks: unknown field; known fields: name, description, source/m],
    ['a wrong type', (s) => ({ ...s, aggregations: { fn: 'count' } }), /^ {2}aggregations: Invalid input: expected array, received object$/m],
    ['a bad duration', (s) => ({ ...s, groupBy: { window: { type: 'tumbling', column: 'event_time', size: '1 hr' } }, keys: undefined }), /^ {2}groupBy\.window\.size: The duration '1 hr' has an unknown unit 'hr'/m],
    ['an unknown format', (s) => ({ ...s, source: { ...(s['source'] as object), format: 'jsonlines' } }), /^ {2}source\.format: Unknown format 'jsonlines'/m],
    ['an unknown column', (s) => ({ ...s, steps: [{ filter: { op: '>', args: ['amout', 0] } }] }), /^ {2}steps\[0\]\.filter: Column 'amout' does not exist/m],
  ];
  for (const [what, change, message] of cases) {
    it(`names the field of ${what}`, async () => {
      const s = setup('invalid');
      const file = writeSpec(s.dir, 'bad.json', change(s.spec as unknown as Record<string, unknown>));
      const r = await runCli(['run', file], { cwd: s.dir });
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^Invalid pipeline spec \(.*bad\.json\):$/m);
      expect(r.stderr).toMatch(message);
      expect(existsSync(s.checkpoint)).toBe(false);
    });
  }

  it('exits 2 for a missing file, an unknown command or a missing option, and documents the codes in --help', async () => {
    expect((await runCli(['run', 'nope.json'])).code).toBe(2);
    expect((await runCli(['frobnicate'])).code).toBe(2);
    const missing = await runCli(['backfill', 'x.json', '--from', '2026-05-29']);
    expect(missing.code, `${missing.stdout}\n${missing.stderr}`).toBe(2);
    expect(missing.stderr).toContain("required option '--to <time>' not specified");
    for (const cmd of ['run', 'batch', 'backfill', 'schedule', 'status', 'diff']) {
      const help = await runCli([cmd, '--help']);
      expect(help.code, `${help.stdout}\n${help.stderr}`).toBe(0);
      expect(help.stdout).toMatch(/Example/);
      expect(help.stdout).toContain('130  interrupted by SIGINT');
    }
  });

  it('refuses a backfill of a spec whose sink is not partitioned by a window date', async () => {
    const s = setup('bf-invalid');
    const file = writeSpec(s.dir, 'nodate.json', { ...s.spec, outputSteps: undefined, sink: { format: 'delta', path: s.lake } });
    const r = await runCli(['backfill', file, '--from', '2026-05-29', '--to', '2026-05-30'], { cwd: s.dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(r.stderr).toContain('the sink is not partitioned');
    rmSync(s.dir, { recursive: true, force: true });
  });
});
