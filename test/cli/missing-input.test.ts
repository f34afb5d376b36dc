import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, salesSpec, tempDir, writeSpec } from './helpers.js';

describe('sluice run on an input that does not exist', () => {
  it('exits 2 before running, naming the path and the waitForPath option', async () => {
    const dir = tempDir('sluice-cli-missing-');
    const input = join(dir, 'incoming');
    const spec = salesSpec({ input, lake: join(dir, 'lake'), checkpoint: join(dir, 'ckpt'), trigger: { availableNow: true } });
    const r = await runCli(['run', writeSpec(dir, 'sales.json', spec)], { cwd: dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(r.stdout).not.toMatch(/started|no batch ran/);
    expect(r.stderr).toMatch(new RegExp(`source\\.path: Cannot stream jsonl files from '${input}'.*does not exist`));
    expect(r.stderr).toContain('"waitForPath": true');

    // With the option it starts (and, available-now, finds nothing to read); once the folder exists it runs as usual.
    const waiting = { ...spec, source: { ...spec.source, options: { ...spec.source.options, waitForPath: true } } };
    const w = await runCli(['run', writeSpec(dir, 'waiting.json', waiting)], { cwd: dir });
    expect(w.code, `${w.stdout}\n${w.stderr}`).toBe(0);
    expect(w.stdout).toContain('no batch ran');
    mkdirSync(input);
    const ok = await runCli(['run', writeSpec(dir, 'sales.json', spec)], { cwd: dir });
    expect(ok.code, `${ok.stdout}\n${ok.stderr}`).toBe(0);
  });

  it('exits 2 for a Delta source whose table folder does not exist, naming it', async () => {
    const dir = tempDir('sluice-cli-missing-delta-');
    const table = join(dir, 'lake', 'orders');
    const spec = { name: 'tail', source: { format: 'delta', path: table }, sink: { format: 'console' }, trigger: { availableNow: true } };
    const r = await runCli(['run', writeSpec(dir, 'tail.json', spec)], { cwd: dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(r.stderr).toContain(`Delta table '${table}' does not exist`);
    expect(r.stdout).not.toMatch(/started|no batch ran/);
  });
});
