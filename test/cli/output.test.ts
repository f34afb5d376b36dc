import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorChain } from '../../engine/cli/output.js';
import { DAY1, HOUR, type CliProcess, type CliResult, makeOrders, runCli, salesSpec, startCli, tempDir, writeOrders, writeSpec } from './helpers.js';

/** A sales pipeline over `files` one-hour files of orders, one file per batch. */
function manyFiles(name: string, files: number) {
  const dir = tempDir(`sluice-cli-${name}-`);
  const input = join(dir, 'in');
  for (let i = 0; i < files; i++) writeOrders(input, `orders-${String(i).padStart(3, '0')}.jsonl`, makeOrders(10, DAY1 + i * HOUR, DAY1 + (i + 1) * HOUR, i, i * 10, 0));
  const checkpoint = join(dir, 'ckpt');
  const spec = salesSpec({ input, lake: join(dir, 'lake'), checkpoint, trigger: { processingTime: '100 milliseconds' }, maxFiles: 1 });
  return { dir, input, checkpoint, file: writeSpec(dir, 'sales.json', spec) };
}

/**
 * What `| head -1` does: once stdout has a line matching `re`, close the reading end of the pipe, so the command's next
 * write meets EPIPE; resolves when the process exits (it is killed if the test fails first).
 */
async function closeStdoutAfter(live: CliProcess, re: RegExp): Promise<CliResult> {
  try {
    await live.waitFor(re);
    live.child.stdout!.destroy();
    return await live.exited;
  } finally {
    live.child.kill('SIGKILL');
  }
}

describe('command output', () => {
  it('stops the query after the current batch and exits 0 when the reader of stdout goes away (run --json | head -1)', async () => {
    const s = manyFiles('epipe', 60);
    const live = startCli(['run', s.file, '--json'], { cwd: s.dir });
    const r = await closeStdoutAfter(live, /^\{.*"batchId":0.*\}$/m);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');

    // It stopped cleanly: the last batch it ran is committed, long before the 60 files were read.
    const status = await runCli(['status', s.checkpoint, '--json'], { cwd: s.dir });
    expect(status.code, status.stderr).toBe(0);
    const st = JSON.parse(status.stdout) as { restart: { kind: string; batchId: number } };
    expect(st.restart.kind).toBe('next');
    expect(st.restart.batchId).toBeGreaterThan(0);
    expect(st.restart.batchId).toBeLessThan(60);
  });

  it('stops a schedule after the running backfill and exits 0 when the reader of stdout goes away', async () => {
    const s = manyFiles('epipe-schedule', 2);
    const log = join(s.dir, 'schedule.jsonl');
    const live = startCli(['schedule', s.file, '--json', '--cron', '* * * * * *', '--backfill-window', '2 days', '--ignore-checkpoint', '--log', log], { cwd: s.dir });
    const r = await closeStdoutAfter(live, /^\{"event":"started"/m);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const events = readFileSync(log, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event);
    expect(events.at(-1)).toBe('stopped');
  });

  it("prints a failed query's message once", async () => {
    const s = manyFiles('fail-once', 2);
    appendFileSync(join(s.input, 'orders-000.jsonl'), '{"order_id": 1, "amount": "not a number"\n');
    const r = await runCli(['run', s.file, '--trigger', 'available-now'], { cwd: s.dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
    const mentions = r.stderr.match(/orders-000\.jsonl line 11/g) ?? [];
    expect(mentions.length, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^query failed: Query sales terminated: Malformed JSON in .*orders-000\.jsonl line 11/m);
  });

  it('lists the causes of an error that its message does not already hold', () => {
    const inner = new Error('disk full');
    expect(errorChain(new Error('backfill failed', { cause: inner }))).toBe('backfill failed\n  caused by: disk full');
    expect(errorChain(new Error(`Query q terminated: ${inner.message}`, { cause: inner }))).toBe('Query q terminated: disk full');
    expect(errorChain('plain')).toBe('plain');
  });
});
