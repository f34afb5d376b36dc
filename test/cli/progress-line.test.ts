import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Float64, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
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

  it('names corrupt files skipped with ignoreCorruptFiles', async () => {
    const dir = tempDir('sluice-cli-progress-corrupt-');
    const input = join(dir, 'incoming');
    mkdirSync(input);
    const table = new Table({ id: vectorFromArray([1, 2, 3], new Float64()), s: vectorFromArray(['a', 'b', 'c'], new Utf8()) });
    writeFileSync(join(input, 'a.arrow'), tableToIPC(table, 'file'));
    writeFileSync(join(input, 'b.arrow'), tableToIPC(table, 'file').subarray(0, 100));
    const spec = {
      name: 'arrows',
      source: { format: 'arrow', path: input, schema: { id: 'double', s: 'string' }, options: { ignoreCorruptFiles: 'true' } },
      sink: { format: 'delta', path: join(dir, 'lake') },
      checkpoint: join(dir, 'ckpt'),
      trigger: { availableNow: true },
    };
    const r = await runCli(['run', writeSpec(dir, 'arrows.json', spec)], { cwd: dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^batch 0: 3 rows in, 3 rows out, 1 corrupt file skipped, \d+ ms$/m);
    expect(r.stderr).toContain(`skipped corrupt file '${join(input, 'b.arrow')}'`);
  });

  it('names the rows a fromJson step sent to the dead-letter output', async () => {
    const dir = tempDir('sluice-cli-progress-dead-');
    const input = join(dir, 'incoming');
    mkdirSync(input);
    writeFileSync(join(input, 'raw-0.jsonl'), ['{"payload":"{\\"a\\":1}"}', '{"payload":"{\\"a\\":"}', '{"payload":"{\\"a\\":3}"}'].join('\n') + '\n');
    const spec = {
      name: 'payloads',
      source: { format: 'jsonl', path: input, schema: { payload: 'string' } },
      steps: [{ withColumn: { o: { fn: 'fromJson', args: ['payload'], options: { schema: { a: 'long' }, mode: 'dropMalformed' } } } }],
      sink: { format: 'delta', path: join(dir, 'lake'), options: { deadLetterPath: join(dir, 'dead') } },
      checkpoint: join(dir, 'ckpt'),
      trigger: { availableNow: true },
    };
    const r = await runCli(['run', writeSpec(dir, 'payloads.json', spec)], { cwd: dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^batch 0: 3 rows in, 2 rows out, 1 dead letters, \d+ ms$/m);
  });
});
