import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, salesSpec, tempDir, writeSpec } from './helpers.js';

describe('sluice run progress line', () => {
  it('names malformed rows, the ones the mode dropped, and rows that fell in no window', async () => {
    const dir = tempDir('sluice-cli-progress-');
    const input = join(dir, 'incoming');
    mkdirSync(input);
    writeFileSync(
      join(input, 'orders-0.jsonl'),
      [
        '{"order_id":1,"product_id":"p1","amount":2.5,"event_time":"2026-05-30T09:00:00Z"}',
        '{"order_id":2,"product_id":"p1","amount":1.5,"event_time":"2026-05-30T09:10:00Z"}',
        '{"order_id":3,"product_id":"p2","amount":',
        '{"order_id":4,"product_id":"p2","amount":3.0,"event_time":null}',
      ].join('\n') + '\n',
    );
    const base = salesSpec({ input, lake: join(dir, 'lake'), checkpoint: join(dir, 'ckpt'), trigger: { availableNow: true } });
    const dropping = { ...base, source: { ...base.source, options: { ...base.source.options, mode: 'dropMalformed' } } };
    const r = await runCli(['run', writeSpec(dir, 'sales.json', dropping)], { cwd: dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^batch 0: 3 rows in, 0 rows out, watermark [^,]+, 1 malformed \(1 dropped\), 1 in no window, \d+ ms$/m);

    // Permissive keeps the malformed line as a row (null but for _corrupt_record), which also falls in no window.
    const keeping = { ...base, checkpoint: join(dir, 'ckpt2'), sink: { ...base.sink, path: join(dir, 'lake2') } };
    keeping.source = { ...base.source, options: { ...base.source.options, mode: 'permissive' } };
    const k = await runCli(['run', writeSpec(dir, 'keeping.json', keeping)], { cwd: dir });
    expect(k.code, `${k.stdout}\n${k.stderr}`).toBe(0);
    expect(k.stdout).toMatch(/^batch 0: 4 rows in, 0 rows out, watermark [^,]+, 1 malformed, 2 in no window, \d+ ms$/m);
  });
});
