import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lazyModule } from '../../../engine/io/lazy-module.js';
import { ROOT, runCli } from '../../cli/helpers.js';

const SCRIPT = join(ROOT, 'test', 'fixtures', 'loaded-packages.ts');

/** The heavy packages a query run in a fresh process loaded (its last stdout line). */
async function loadedBy(query: 'memory' | 'jsonl' | 'parquet'): Promise<string[]> {
  const r = await runCli([query], { script: SCRIPT });
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as string[];
}

describe('lazyModule', () => {
  it('loads the module on the first call and returns the same module after', () => {
    const path = lazyModule<typeof import('node:path')>('node:path', import.meta.url);
    expect(path().join('a', 'b')).toBe(join('a', 'b'));
    expect(path()).toBe(path());
  });

  it('a MemoryStream or jsonl query loads neither kafkajs nor parquet-wasm nor piscina; a Parquet read loads parquet-wasm', async () => {
    const [memory, jsonl, parquet] = await Promise.all([loadedBy('memory'), loadedBy('jsonl'), loadedBy('parquet')]);
    expect(memory).toEqual([]);
    expect(jsonl).toEqual([]);
    // The observable works: what a query uses is loaded.
    expect(parquet).toContain('parquet-wasm');
    expect(parquet).not.toContain('kafkajs');
  });
});
