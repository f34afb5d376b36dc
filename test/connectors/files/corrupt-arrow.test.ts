import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CorruptFileError, Session, StreamingQueryException } from '../../../engine/index.js';

const BATCH = 1000;
/** Three batches of `BATCH` rows (ids 0…2999) as Arrow IPC bytes. */
function ipc(format: 'file' | 'stream'): Uint8Array {
  const batch = (k: number) =>
    new Table({
      id: vectorFromArray(Array.from({ length: BATCH }, (_, i) => k * BATCH + i), new Float64()),
      s: vectorFromArray(Array.from({ length: BATCH }, (_, i) => `s${i}`), new Utf8()),
    }).batches;
  return tableToIPC(new Table([0, 1, 2].flatMap(batch)), format);
}

/** A folder with a good file and, after it, `bad` (named so it lists and sorts second). */
function folderWith(badName: string, bad: Uint8Array): { folder: string; badPath: string } {
  const folder = mkdtempSync(join(tmpdir(), 'sluice-corrupt-arrow-'));
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'a.arrow'), ipc('file'));
  utimesSync(join(folder, 'a.arrow'), 1000, 1000);
  const badPath = join(folder, badName);
  writeFileSync(badPath, bad);
  utimesSync(badPath, 2000, 2000);
  return { folder, badPath };
}

const ids = (rows: Record<string, unknown>[]): number[] => rows.map((r) => r['id'] as number).sort((a, b) => a - b);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const file = ipc('file');
const stream = ipc('stream');
const cases: [string, string, Uint8Array, number][] = [
  // [what, name, bytes, rows of it decoded before the damage]
  ['a file cut before its footer', 'b.arrow', file.subarray(0, Math.floor(file.length * 0.7)), 0],
  ['a stream cut inside its second batch', 'b.arrows', stream.subarray(0, Math.floor(stream.length * 0.5)), BATCH],
  ['an empty file', 'b.arrow', new Uint8Array(0), 0],
  ['text that is not Arrow', 'b.arrow', new TextEncoder().encode('id,s\n1,x\n'), 0],
];

describe('a corrupt Arrow IPC file', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each(cases)('%s fails a batch read with a CorruptFileError naming it', async (_what, name, bytes) => {
    const { folder, badPath } = folderWith(name, bytes);
    const err = await new Session().read.format('arrow').load(folder).collect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect((err as CorruptFileError).file).toBe(badPath);
    expect((err as Error).message).toContain(`${badPath} is not a readable Arrow IPC file or stream (`);
  });

  it.each(cases)('%s is skipped with ignoreCorruptFiles, keeping rows decoded before the damage', async (_what, name, bytes, before) => {
    const { folder, badPath } = folderWith(name, bytes);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const rows = await new Session().read.format('arrow').option('ignoreCorruptFiles', 'true').load(folder).collect();
    expect(ids(rows)).toEqual([...range(3 * BATCH), ...range(before)].sort((a, b) => a - b));
    expect(warn.mock.calls.filter((c) => String(c[0]).includes(`skipped corrupt file '${badPath}' (ignoreCorruptFiles)`))).toHaveLength(1);
  });

  it('fails a streaming query naming the file, or with ignoreCorruptFiles is skipped and counted in progress', async () => {
    const { folder, badPath } = folderWith('b.arrow', file.subarray(0, 100));
    const session = new Session();
    const start = (name: string, ignore: boolean) =>
      session.readStream.format('arrow').schema({ id: 'double', s: 'string' }).option('ignoreCorruptFiles', String(ignore)).load(folder)
        .writeStream.format('memory').queryName(name).option('checkpointLocation', join(folder, '..', `${name}-${Date.now()}`))
        .trigger({ availableNow: true }).start();
    const failing = start('arrow_corrupt_fail', false);
    const err = await failing.awaitTermination().catch((e: unknown) => e);
    const cause = err instanceof StreamingQueryException ? err.cause : err;
    expect(cause).toBeInstanceOf(CorruptFileError);
    expect((cause as CorruptFileError).file).toBe(badPath);

    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const skipping = start('arrow_corrupt_skip', true);
    await skipping.awaitTermination();
    expect(ids(await session.table('arrow_corrupt_skip').collect())).toEqual(range(3 * BATCH));
    const skipped = skipping.recentProgress.map((p) => Number(p.sources[0]!.metrics['numCorruptFilesSkipped']));
    expect(skipped.reduce((a, b) => a + b, 0)).toBe(1);
  });
});
