import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StateReport } from '../../engine/cli/commands/state.js';
import { stateVersionFiles } from '../../engine/state/state-reader.js';
import { expectedDedup, expectedWindows, runStateQuery, writeNamedTableCheckpoint } from '../helpers/state-checkpoint.js';
import { runCli, tempDir } from './helpers.js';

async function stateJson(ckpt: string, ...args: string[]): Promise<StateReport> {
  const r = await runCli(['state', ckpt, '--json', ...args]);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as StateReport;
}

/** Bytes of the files loading version `v` of an operator's table '' reads, over `partitions` partitions. */
function bytesOf(ckpt: string, op: number, partitions: number, v: number): number {
  let n = 0;
  for (let p = 0; p < partitions; p++) for (const f of stateVersionFiles(join(ckpt, 'state', String(op), String(p)), v)!) n += statSync(f).size;
  return n;
}

describe('sluice state', () => {
  it('lists operators, tables, partitions, rows and bytes at the last and at earlier batches, inline and on 2 workers', async () => {
    for (const [conf, partitions] of [
      [{ parallelism: 1 }, 1],
      [{ parallelism: 2, parallelThresholdRows: 1, parallelMinRowNs: 0 }, 2],
    ] as const) {
      const ckpt = tempDir('sluice-cli-state-');
      const seen = await runStateQuery(ckpt, conf);
      const last = seen[seen.length - 1]!;
      for (const b of [seen[1]!, seen[3]!, last]) {
        const r = b === last ? await stateJson(ckpt) : await stateJson(ckpt, '--batch', String(b.batchId));
        expect(r.lastCommittedBatch).toBe(last.batchId);
        expect(r.batchId).toBe(b.batchId);
        expect(r.operators.map((o) => [o.operatorId, o.operatorName, o.kind, o.partitions, o.described])).toEqual([
          [0, 'stateStoreSave', 'aggregate', partitions, true],
          [1, 'dedupe', 'dedup', partitions, true],
        ]);
        const [agg, dedup] = [r.operators[0]!.tables, r.operators[1]!.tables];
        expect(agg).toEqual([
          {
            name: '',
            role: 'internal',
            keyColumns: [{ name: '__window_start', type: 'timestamp' }, { name: 'user', type: 'string' }],
            valueColumns: [{ name: 'a0_count', type: 'long' }],
            ttlMs: null,
            rows: expectedWindows(b).length,
            bytes: bytesOf(ckpt, 0, partitions, b.batchId + 1),
            files: expect.any(Number),
          },
        ]);
        expect(dedup[0]!.keyColumns.map((c) => c.name)).toEqual(['id', 'ts']);
        expect(dedup[0]!.valueColumns).toEqual([]);
        expect(dedup[0]!.rows).toBe(expectedDedup(b).length);
        const numRowsTotal = (name: string) => b.progress.stateOperators.find((s) => s.operatorName === name)!.numRowsTotal;
        expect([agg[0]!.rows, dedup[0]!.rows]).toEqual([numRowsTotal('stateStoreSave'), numRowsTotal('dedupe')]);
      }
      const text = await runCli(['state', ckpt]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(new RegExp(`^last committed  batch ${last.batchId}$`, 'm'));
      expect(text.stdout).toMatch(new RegExp(`^operator 0  stateStoreSave \\(aggregate\\)  ${partitions} partition\\(s\\)$`, 'm'));
      expect(text.stdout).toMatch(new RegExp(`^ {2}table ''  internal  ${expectedWindows(last).length} row\\(s\\), [\\d.]+ (B|KiB) in \\d+ file\\(s\\)  ttl none$`, 'm'));
      expect(text.stdout).toMatch(/^ {4}keys {4}__window_start timestamp, user string$/m);
      expect(text.stdout).toMatch(/^ {4}values {2}\(none\)$/m);
    }
  });

  it('shows named tables with their roles and TTLs from operator.json', async () => {
    const ckpt = tempDir('sluice-cli-state-');
    await writeNamedTableCheckpoint(ckpt);
    const r = await stateJson(ckpt);
    expect(r.operators).toHaveLength(1);
    expect(r.operators[0]).toMatchObject({ operatorName: 'transformWithState', kind: 'transformWithState', partitions: 2, described: true });
    expect(r.operators[0]!.tables.map((t) => [t.name, t.role, t.ttlMs, t.rows])).toEqual([
      ['fails', 'value', 3_600_000, 2],
      ['$timers', 'timers', null, 1],
    ]);
    expect((await stateJson(ckpt, '--batch', '0')).operators[0]!.tables.map((t) => t.rows)).toEqual([3, 1]);
    const text = await runCli(['state', ckpt]);
    expect(text.stdout).toMatch(/^ {2}table fails  value  2 row\(s\), .* ttl 1 hour$/m);
    expect(text.stdout).toMatch(/^ {4}keys {4}user string$/m);
    expect(text.stdout).toMatch(/^ {4}values {2}n int$/m);
    expect(text.stdout).toMatch(/^ {2}table \$timers  timers  1 row\(s\), .* ttl none$/m);
  });

  it('exits 2 naming the fix: no checkpoint, a batch not committed, a bad --batch', async () => {
    const ckpt = tempDir('sluice-cli-state-');
    await writeNamedTableCheckpoint(ckpt);
    const none = await runCli(['state', join(ckpt, 'nope')]);
    expect(none.code, none.stderr).toBe(2);
    expect(none.stderr).toContain('No checkpoint at');
    const later = await runCli(['state', ckpt, '--batch', '5']);
    expect(later.code, later.stderr).toBe(2);
    expect(later.stderr).toMatch(/Batch 5 of .* is not committed \(the last committed batch is 1\); operator 0's table 'fails' can be read at batches 0\.\.1\. Set --batch to one of them\./);
    const bad = await runCli(['state', ckpt, '--batch', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--batch x: a batch id, a whole number ≥ 0.');
    const help = await runCli(['state', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Example/);
    expect(help.stdout).toContain('130  interrupted by SIGINT');
  });
});
