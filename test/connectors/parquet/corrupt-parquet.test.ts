import { mkdirSync, mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CorruptFileError, Session, StreamingQueryException } from '../../../engine/index.js';
import { readParquetFile, scanParquetFile, writeParquet } from '../../../connectors/parquet/index.js';
import { DecodedParquetFile, decoderThreads } from '../../../connectors/parquet/parquet-decoder.js';
import { parquetWasmInstances, withParquetWasm } from '../../../connectors/parquet/parquet-wasm.js';

const ROWS = 20_000;
const ROW_GROUP = 5_000;
let dir: string;
let good: Uint8Array;
let goodPath: string;
/** Per row group and column: where its data pages start and how many bytes it has. */
let chunks: { rowGroup: number; column: string; start: number; size: number }[];

function expectedIds(): number[] {
  return Array.from({ length: ROWS }, (_, i) => i);
}

async function idsOf(path: string): Promise<number[]> {
  const { batches } = await readParquetFile(path);
  return batches.flatMap((b) => Array.from(b.getChild('id')!.toArray() as Float64Array));
}

/** A seeded generator (so every run corrupts the same bytes). */
function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

/** A batch read's rows, or the error it failed with (schema inference at `load` or decoding at `collect`). */
async function collectOrError(path: string): Promise<unknown> {
  try {
    return await new Session().read.format('parquet').load(path).collect();
  } catch (e) {
    return e;
  }
}

function corrupted(name: string, change: (bytes: Uint8Array) => void): string {
  const bytes = new Uint8Array(good);
  change(bytes);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-corrupt-parquet-'));
  const table = tableFromArrays({
    id: Float64Array.from(expectedIds()),
    s: Array.from({ length: ROWS }, (_, i) => `str-${i % 1000}`),
  });
  good = writeParquet(table, { rowGroupSize: ROW_GROUP });
  goodPath = join(dir, 'good.parquet');
  writeFileSync(goodPath, good);
  chunks = await chunksOf(goodPath);
});

/** Where each column chunk of a file starts (its first page header) and its size, from DuckDB's parquet_metadata. */
async function chunksOf(path: string): Promise<{ rowGroup: number; column: string; start: number; size: number }[]> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const r = await con.runAndReadAll(
    `SELECT row_group_id, path_in_schema, COALESCE(dictionary_page_offset, data_page_offset) AS start, total_compressed_size AS size
     FROM parquet_metadata('${path}') ORDER BY start`,
  );
  con.closeSync();
  return r.getRowObjects().map((o) => ({
    rowGroup: Number(o['row_group_id']),
    column: String(o['path_in_schema']),
    start: Number(o['start']),
    size: Number(o['size']),
  }));
}

afterAll(() => {
  vi.restoreAllMocks();
});

describe('a corrupt Parquet file', () => {
  it('whose page header is zeroed gives a CorruptFileError naming the file and the row group', async () => {
    const chunk = chunks.find((c) => c.rowGroup === 2 && c.column === 'id')!;
    const path = corrupted('zeroed-header.parquet', (b) => b.fill(0, chunk.start, chunk.start + 32));
    const err = (await readParquetFile(path).catch((e: unknown) => e)) as CorruptFileError;
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.name).toBe('CorruptFileError');
    expect(err.file).toBe(path);
    expect(err.rowGroup).toBe(2);
    expect(err.column).toBe('id');
    expect(err.message).toContain(`Parquet file '${path}' is corrupt`);
    expect(err.message).toContain("in row group 2, column 'id'");
    expect(err.message).toMatch(/Remove or replace the file/);
    expect(await idsOf(goodPath)).toEqual(expectedIds());
  });

  it('that crashes the decoder (a WebAssembly trap) fails only that read; later reads of good files work', async () => {
    // Flipped bits in the middle of row group 1's string column: the decoder panics (a trap) on this file.
    const chunk = chunks.find((c) => c.rowGroup === 1 && c.column === 's')!;
    const started = decoderThreads.started;
    const path = corrupted('flipped-data.parquet', (b) => {
      const next = seeded(1);
      const at = chunk.start + Math.floor(chunk.size / 2);
      for (let k = 0; k < 8; k++) b[at + Math.floor(next() * 32)]! ^= 1 << Math.floor(next() * 8);
    });
    let rows = 0;
    const err = await (async () => {
      for await (const b of scanParquetFile(path)) rows += b.numRows;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect((err as CorruptFileError).message).toMatch(/the Parquet decoder crashed in row group 1, column 's' \(WebAssembly RuntimeError: unreachable\)/);
    expect((err as CorruptFileError).column).toBe('s');
    expect((err as CorruptFileError).file).toBe(path);
    expect(rows).toBe(ROW_GROUP); // row group 0 was decoded before the damage
    expect(await idsOf(goodPath)).toEqual(expectedIds());
    expect(decoderThreads.started).toBeGreaterThan(started); // the crashed thread was replaced by a fresh one
  });

  it('damaged at seeded places (data, page headers, footer) never ends the process: a CorruptFileError or a read', async () => {
    const next = seeded(42);
    let corrupt = 0;
    for (let trial = 0; trial < 16; trial++) {
      const at = 4 + Math.floor(next() * (good.length - 12));
      const path = corrupted(`seeded-${trial}.parquet`, (b) => {
        if (trial % 2 === 0) b.fill(0, at, Math.min(b.length - 8, at + 64));
        else for (let k = 0; k < 8; k++) b[at + Math.floor(next() * 32)]! ^= 1 << Math.floor(next() * 8);
      });
      const result = await collectOrError(path);
      if (result instanceof Error) {
        expect(result).toBeInstanceOf(CorruptFileError);
        expect((result as CorruptFileError).file).toBe(path);
        corrupt++;
      } else {
        expect(result).toHaveLength(ROWS); // a flip in a value (no checksum to see it) reads as a different value
      }
    }
    expect(corrupt).toBeGreaterThan(8);
    const footerStart = good.length - 8 - new DataView(good.buffer, good.byteOffset).getUint32(good.length - 8, true);
    const path = corrupted('footer.parquet', (b) => b.fill(0, footerStart + 4, footerStart + 40));
    expect(await collectOrError(path)).toBeInstanceOf(CorruptFileError);
    await expect(readParquetFile(path)).rejects.toThrow(new RegExp(`'${path}' is corrupt`));
    expect(await idsOf(goodPath)).toEqual(expectedIds());
  });

  it('replaces the calling thread\'s instance after a synchronous trap', () => {
    const before = parquetWasmInstances();
    const trap = Object.assign(new Error('unreachable'), { name: 'RuntimeError' });
    expect(() => withParquetWasm(() => { throw trap; })).toThrow(trap);
    expect(withParquetWasm((w) => typeof w.readParquet)).toBe('function');
    expect(parquetWasmInstances()).toBe(before + 1);
    const notATrap = new Error('a decoder error');
    expect(() => withParquetWasm(() => { throw notATrap; })).toThrow(notATrap);
    expect(parquetWasmInstances()).toBe(before + 1);
  });
});

describe('a folder of Parquet files with a corrupt one', () => {
  function folderWithCorruptFile(): { folder: string; bad: string } {
    const folder = join(dir, `stream-${Math.random().toString(36).slice(2)}`);
    mkdirSync(folder);
    const first = join(folder, 'a.parquet');
    writeFileSync(first, good);
    utimesSync(first, 1000, 1000);
    const chunk = chunks.find((c) => c.rowGroup === 0 && c.column === 'id')!;
    const bad = join(folder, 'b.parquet');
    const bytes = new Uint8Array(readFileSync(goodPath));
    bytes.fill(0, chunk.start, chunk.start + 32);
    writeFileSync(bad, bytes);
    utimesSync(bad, 2000, 2000);
    return { folder, bad };
  }

  it('fails a streaming query with a CorruptFileError naming the file, and the process goes on', async () => {
    const { folder, bad } = folderWithCorruptFile();
    const session = new Session();
    const q = session.readStream.format('parquet').schema({ id: 'double', s: 'string' }).option('maxFilesPerTrigger', 1).load(folder)
      .writeStream.format('memory').queryName('corrupt_fail').option('checkpointLocation', join(folder, '..', `ckpt-${Date.now()}`))
      .trigger({ availableNow: true }).start();
    const err = await q.awaitTermination().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const cause = err instanceof StreamingQueryException ? err.cause : err;
    expect(cause).toBeInstanceOf(CorruptFileError);
    expect((cause as CorruptFileError).file).toBe(bad);
    expect((err as Error).message).toContain(bad);
    expect((await session.table('corrupt_fail').collect())).toHaveLength(ROWS); // the good first file's batch
    expect(await idsOf(goodPath)).toEqual(expectedIds());
  });

  it('read in batch fails naming the file; with ignoreCorruptFiles the file is skipped and logged', async () => {
    const { folder, bad } = folderWithCorruptFile();
    const err = await new Session().read.format('parquet').load(folder).collect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect((err as CorruptFileError).file).toBe(bad);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const rows = await new Session().read.format('parquet').option('ignoreCorruptFiles', 'true').load(folder).collect();
    expect(rows.map((r) => r['id'])).toEqual(expectedIds());
    expect(warn.mock.calls.filter((c) => String(c[0]).includes(`skipped corrupt file '${bad}' (ignoreCorruptFiles)`))).toHaveLength(1);
    warn.mockRestore();
  });

  it('streamed with ignoreCorruptFiles: the file is skipped, counted in progress and logged', async () => {
    const { folder, bad } = folderWithCorruptFile();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const session = new Session();
    const q = session.readStream.format('parquet').schema({ id: 'double', s: 'string' }).option('ignoreCorruptFiles', 'true').load(folder)
      .writeStream.format('memory').queryName('corrupt_skip').option('checkpointLocation', join(folder, '..', `ckpt-skip-${Date.now()}`))
      .trigger({ availableNow: true }).start();
    await q.awaitTermination();
    expect(await session.table('corrupt_skip').collect()).toHaveLength(ROWS);
    const skipped = q.recentProgress.map((p) => Number(p.sources[0]!.metrics['numCorruptFilesSkipped']));
    expect(skipped.reduce((a, b) => a + b, 0)).toBe(1);
    expect(warn.mock.calls.some((c) => String(c[0]).includes(`skipped corrupt file '${bad}'`))).toBe(true);
    warn.mockRestore();
  });
});

describe('a Delta table with a corrupt data file', () => {
  it('fails a batch read and a streaming read with a CorruptFileError naming the data file', async () => {
    const table = join(dir, `delta-${Date.now()}`);
    const session = new Session();
    const rows = Array.from({ length: 1000 }, (_, i) => ({ id: i, s: `v${i}` }));
    await session.createDataFrame(rows, { id: 'long', s: 'string' }).write.format('delta').save(table);
    const file = readdirSync(table).find((f) => f.endsWith('.parquet'))!;
    const path = join(table, file);
    const chunk = (await chunksOf(path)).find((c) => c.column === 's')!;
    const bytes = readFileSync(path);
    bytes.fill(0, chunk.start, chunk.start + 32);
    writeFileSync(path, bytes);

    const err = (await session.read.format('delta').load(table).collect().catch((e: unknown) => e)) as CorruptFileError;
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.file).toBe(path);
    expect(err.column).toBe('s');

    const q = session.readStream.format('delta').load(table).writeStream.format('memory').queryName('delta_corrupt')
      .option('checkpointLocation', join(dir, `ckpt-delta-${Date.now()}`)).trigger({ availableNow: true }).start();
    const failed = await q.awaitTermination().catch((e: unknown) => e);
    const cause = failed instanceof StreamingQueryException ? failed.cause : failed;
    expect(cause).toBeInstanceOf(CorruptFileError);
    expect((failed as Error).message).toContain(path);
    expect(await idsOf(goodPath)).toEqual(expectedIds());
  });
});

describe('the Parquet decoder thread', () => {
  it('answers each request in order: a file closed while its next row group is still being decoded leaves the thread right for the next file', async () => {
    for (let round = 0; round < 3; round++) {
      const file = await DecodedParquetFile.open(goodPath);
      const batches = file.batches(1_000);
      const first = await batches.next(); // asks for the next row group at once, before this is used
      expect(first.done).toBe(false);
      // The caller fails on this batch and closes the file without finishing the generator: the `next` that was
      // asked ahead is still unanswered when `close` is sent.
      await file.close();
      const again = await DecodedParquetFile.open(goodPath);
      expect(again.rowGroupRows).toEqual([ROW_GROUP, ROW_GROUP, ROW_GROUP, ROW_GROUP]);
      await again.close();
    }
    expect(await idsOf(goodPath)).toEqual(expectedIds());
  });
});
