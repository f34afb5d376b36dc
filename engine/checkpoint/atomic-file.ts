import { promises as fs, constants as fsc } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomUUID } from 'node:crypto';

/** A write-once log file that already exists: another run (or a second query) wrote this batch. */
export class ConcurrentUpdateError extends Error {
  override readonly name = 'ConcurrentUpdateError';
}

/** A checkpoint file that cannot be read back: truncated, corrupt, or of an unknown version. */
export class CorruptCheckpointError extends Error {
  override readonly name: string = 'CorruptCheckpointError';
}

/** Test hook: called before each checkpoint write with the target path; throwing simulates a crash or a full disk. */
export const checkpointFaults: { beforeWrite: ((path: string) => void) | null } = { beforeWrite: null };

/** Makes a folder's entries durable (after a rename or link); a file system that refuses is left as is. */
export async function fsyncDir(dir: string): Promise<void> {
  let h: fs.FileHandle | null = null;
  try {
    h = await fs.open(dir, fsc.O_RDONLY);
    await h.sync();
  } catch {
    // Some file systems refuse to fsync a directory; the rename is still atomic.
  } finally {
    await h?.close();
  }
}

/** A file's contents: text, bytes, or pieces of bytes written in order (one vectored write, never joined). */
export type FileData = string | Uint8Array | readonly Uint8Array[];

/**
 * Writes every piece, in order, with as few `writev` calls as the kernel allows (a short write resumes where it
 * stopped).
 *
 * @example
 * await writeAllV(await fs.open('out.bin', 'w'), [header, body, trailer]);
 */
export async function writeAllV(h: Pick<fs.FileHandle, 'writev'>, parts: readonly Uint8Array[]): Promise<void> {
  let pending = parts.filter((p) => p.byteLength > 0);
  while (pending.length > 0) {
    // Linux takes at most 1024 pieces per call (IOV_MAX).
    let { bytesWritten } = await h.writev(pending.slice(0, 1024) as Uint8Array[]);
    let i = 0;
    while (i < pending.length && bytesWritten >= pending[i]!.byteLength) bytesWritten -= pending[i++]!.byteLength;
    const rest = pending.slice(i);
    // A short write: the rest of the piece it stopped in comes first in the next call.
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
    pending = rest;
  }
}

async function writeTemp(path: string, data: FileData): Promise<string> {
  checkpointFaults.beforeWrite?.(path);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomUUID()}.tmp`);
  let h: fs.FileHandle;
  try {
    h = await fs.open(tmp, 'wx');
  } catch (e) {
    // The folder is made on first use (a call fewer for every later write).
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await fs.mkdir(dir, { recursive: true });
    h = await fs.open(tmp, 'wx');
  }
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) await h.writeFile(data);
    else await writeAllV(h, data);
    await h.sync();
  } finally {
    await h.close();
  }
  return tmp;
}

/**
 * Writes a file once, atomically: a temp file, fsync, then a hard link that fails if the target exists. Readers see
 * the whole file or none of it; a second writer gets `ConcurrentUpdateError`.
 *
 * @example
 * await writeOnce('ckpt/commits/3', 'v1\n{"nextBatchWatermarkMs":0}\n');
 */
export async function writeOnce(path: string, data: FileData): Promise<void> {
  const tmp = await writeTemp(path, data);
  try {
    await fs.link(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConcurrentUpdateError(
        `${path} already exists: another query is writing to this checkpoint, or wrote this batch concurrently. ` +
          `Stop the other query, or give this one its own checkpointLocation.`,
      );
    }
    throw e;
  } finally {
    await fs.unlink(tmp).catch(() => {});
  }
  await fsyncDir(dirname(path));
}

/**
 * Writes a file atomically, replacing any previous version (temp file, fsync, rename).
 *
 * @example
 * await writeReplace('ckpt/state/0/0/4.delta', bytes);
 */
export async function writeReplace(path: string, data: FileData): Promise<void> {
  const tmp = await writeTemp(path, data);
  await fs.rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** Reads a file, or null when it does not exist. */
export async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
