// A pipeline spec with a transformWithState step, run by the CLI: the processor is named by a module path relative to
// the spec file (TypeScript, compiled on load) and its export; its state survives a restart of the command.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { inspectCheckpoint } from '../../engine/cli/status/checkpoint-inspector.js';
import { describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { col, dataFrameFromSpec, parsePipelineSpec, Session, SpecError, StatefulProcessor } from '../../engine/index.js';
import { runCli, tempDir, writeSpec } from './helpers.js';

/** No import of sluice: a processor is recognised by its shape (init, handleInputRows). */
const PROCESSOR = `
export class FailedLoginDetector {
  private fails: { get(): number | undefined; update(v: number): void; clear(): void } | undefined;
  init(handle: any): void {
    this.fails = handle.getValueState('fails', 'int');
  }
  *handleInputRows(user: string, rows: Iterable<{ success: boolean; ts: number }>) {
    for (const r of rows) {
      if (r.success) { this.fails!.clear(); continue; }
      const n = (this.fails!.get() ?? 0) + 1;
      this.fails!.update(n);
      if (n >= 3) { yield { user, reason: '3 failed logins', at: r.ts }; this.fails!.clear(); }
    }
  }
}
`;

function logins(dir: string, name: string, rows: { user: string; success: boolean; ts: string }[]): void {
  writeFileSync(join(dir, name), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

describe('a pipeline spec with a transformWithState step', () => {
  it('runs its processor from a TypeScript module beside the spec, keeping state across runs of the command', async () => {
    const dir = tempDir('sluice-cli-tws-');
    const input = join(dir, 'in');
    mkdirSync(input);
    mkdirSync(join(dir, 'processors'));
    writeFileSync(join(dir, 'processors', 'detector.ts'), PROCESSOR);
    const spec = writeSpec(dir, 'alerts.json', {
      source: { format: 'jsonl', path: input, schema: { user: 'string', success: 'boolean', ts: 'timestamp' } },
      steps: [
        {
          transformWithState: {
            groupByKey: ['user'],
            processor: { module: './processors/detector.ts', export: 'FailedLoginDetector' },
            outputSchema: { user: 'string', reason: 'string', at: 'timestamp' },
            timeMode: 'none',
          },
        },
      ],
      sink: { format: 'jsonl', path: join(dir, 'out') },
      checkpoint: join(dir, 'ckpt'),
      trigger: { availableNow: true },
    });
    logins(input, '1.jsonl', [
      { user: 'ann', success: false, ts: '2026-12-01T10:00:00Z' },
      { user: 'ann', success: false, ts: '2026-12-01T10:01:00Z' },
      { user: 'bob', success: false, ts: '2026-12-01T10:02:00Z' },
    ]);
    const first = await runCli(['run', spec]);
    expect(first.code, first.stderr).toBe(0);
    // The third failure arrives in a later run of the command: the count of two came back from the checkpoint.
    logins(input, '2.jsonl', [
      { user: 'ann', success: false, ts: '2026-12-01T10:03:00Z' },
      { user: 'bob', success: true, ts: '2026-12-01T10:04:00Z' },
      { user: 'bob', success: false, ts: '2026-12-01T10:05:00Z' },
    ]);
    const second = await runCli(['run', spec]);
    expect(second.code, second.stderr).toBe(0);
    const out = join(dir, 'out');
    const rows = readdirSync(out)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(out, f), 'utf8').trim().split('\n').filter((l) => l !== ''))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toEqual([{ user: 'ann', reason: '3 failed logins', at: '2026-12-01T10:03:00.000Z' }]);
    // sluice status counts the state files of every table: the state variable's live in state/0/<p>/fails/.
    const stateFiles = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? stateFiles(join(dir, e.name)) : /^\d+\.(delta|snapshot)$/.test(e.name) ? [join(dir, e.name)] : []));
    const files = stateFiles(join(dir, 'ckpt', 'state', '0'));
    expect(files.some((f) => f.includes(`${sep}fails${sep}`))).toBe(true);
    const status = await inspectCheckpoint(join(dir, 'ckpt'));
    expect(status.operators[0]!.files).toBe(files.length);
  }, 120_000);

  it('is what toSpec() writes for a processor given by module, and rebuilds the same plan; a class alone has no spec form', () => {
    const session = new Session();
    const dir = tempDir('sluice-cli-tws-');
    writeFileSync(join(dir, 'detector.ts'), PROCESSOR);
    const module = pathToFileURL(join(dir, 'detector.ts')).href;
    const input = session.readStream.format('jsonl').schema({ user: 'string', success: 'boolean', ts: 'timestamp' }).load(dir);
    const df = input.groupByKey(col('user')).transformWithState({ module, export: 'FailedLoginDetector' }, { outputSchema: { user: 'string', at: 'timestamp' }, timeMode: 'processingTime' });
    const spec = df.toSpec();
    expect(spec.steps).toEqual([
      { transformWithState: { groupByKey: ['user'], processor: { module, export: 'FailedLoginDetector' }, outputSchema: { user: 'string', at: 'timestamp' }, timeMode: 'processingTime' } },
    ]);
    expect(dataFrameFromSpec(spec, session).toSpec()).toEqual(spec);
    class Local extends StatefulProcessor {
      init(): void {}
      handleInputRows(): void {}
    }
    const local = input.groupByKey('user').transformWithState(Local, { outputSchema: { user: 'string' } });
    expect(() => local.toSpec()).toThrow(/transformWithState\(Local\) has no spec form without a module/);
  });

  it('names the field of a malformed step', () => {
    const bad = { source: { format: 'jsonl', path: 'x' }, steps: [{ transformWithState: { groupByKey: ['user'], processor: { file: 'x.js' }, outputSchema: { a: 'int' }, timeMode: 'wallClock' } }] };
    let err: unknown;
    try {
      parsePipelineSpec(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/steps\[0\]\.transformWithState\.processor.*module/);
    expect(msg).toMatch(/steps\[0\]\.transformWithState\.timeMode.*"none", "processingTime", "eventTime"/);
  });
});
