import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAY1, HOUR, makeOrders, ROOT, runCli, salesSpec, tempDir, writeOrders, writeSpec } from './helpers.js';

const PRELOAD = join(ROOT, 'test', 'fixtures', 'loaded-ts-modules.mjs');

describe('engine/cli/sluice.js', () => {
  it('runs a JSON pipeline without compiling TypeScript at run time (the bundle of the sources, or dist/ when built)', async () => {
    const dir = tempDir('sluice-cli-launcher-');
    writeOrders(join(dir, 'in'), 'orders-0.jsonl', makeOrders(50, DAY1, DAY1 + 2 * HOUR, 1, 0, 0));
    const spec = salesSpec({ input: join(dir, 'in'), lake: join(dir, 'lake'), checkpoint: join(dir, 'ckpt'), trigger: { availableNow: true } });
    const log = join(dir, 'loaded-ts.log');
    const env = { NODE_OPTIONS: `--import ${PRELOAD}`, LOADED_TS_LOG: log };
    const r = await runCli(['run', writeSpec(dir, 'sales.json', spec)], { cwd: dir, env });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^batch 0: 50 rows in/m);
    expect(existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []).toEqual([]);

    // The observable works: forced onto the sources, the same command compiles them through tsx.
    const fromSource = await runCli(['status', join(dir, 'ckpt')], { cwd: dir, env: { ...env, SLUICE_FROM_SOURCE: '1' } });
    expect(fromSource.code, `${fromSource.stdout}\n${fromSource.stderr}`).toBe(0);
    expect(readFileSync(log, 'utf8')).toContain('/engine/cli/program.ts');
  });

  it('engine/cli/run-source.js runs a TypeScript entry (npm run demo) from its bundle, with its arguments', async () => {
    const dir = tempDir('sluice-cli-run-source-');
    const log = join(dir, 'loaded-ts.log');
    const env = { ...process.env, NODE_OPTIONS: `--import ${PRELOAD}`, LOADED_TS_LOG: log };
    const runSource = join(ROOT, 'engine', 'cli', 'run-source.js');
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) =>
      execFile(process.execPath, [runSource, join(ROOT, 'test', 'fixtures', 'loaded-packages.ts'), 'memory'], { cwd: dir, env }, (e, stdout, stderr) =>
        done({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }),
      ),
    );
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual([]);
    expect(existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []).toEqual([]);
  });
});
