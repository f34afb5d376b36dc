import { promises as fs, constants as fsc } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { FileWriteError, fileStep, writeFileDurably, type FileData } from '../io/file-write.js';

export { writeAllV, type FileData } from '../io/file-write.js';

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

async function writeTemp(path: string, data: FileData): Promise<string> {
  checkpointFaults.beforeWrite?.(path);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    await writeFileDurably(tmp, data, path);
  } catch (e) {
    // The folder is made on first use (a call fewer for every later write).
    if (!(e instanceof FileWriteError && e.operation === 'open' && e.code === 'ENOENT')) throw e;
    await fileStep('create folder', dir, () => fs.mkdir(dir, { recursive: true }), path);
    await writeFileDurably(tmp, data, path);
  }
  return tmp;
}

/**
 * Writes a file once, atomically: a temp file, fsync, then a hard link that fails if the target exists. Readers see
 * the whole file or none of it; a second writer gets `ConcurrentUpdateError`; an OS failure (a full disk…) a
 * `FileWriteError` naming the file, and no temp file is left behind.
 *
 * @example
 * await writeOnce('ckpt/commits/3', 'v1\n{"nextBatchWatermarkMs":0}\n');
 */
export async function writeOnce(path: string, data: FileData): Promise<void> {
  const tmp = await writeTemp(path, data);
  try {
    await fileStep('link', tmp, () => fs.link(tmp, path), path);
  } catch (e) {
    if (e instanceof FileWriteError && e.code === 'EEXIST') {
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
 * Writes a file atomically, replacing any previous version (temp file, fsync, rename). An OS failure gives a
 * `FileWriteError` naming the file, and no temp file is left behind.
 *
 * @example
 * await writeReplace('ckpt/state/0/0/4.delta', bytes);
 */
export async function writeReplace(path: string, data: FileData): Promise<void> {
  const tmp = await writeTemp(path, data);
  try {
    await fileStep('rename', tmp, () => fs.rename(tmp, path), path);
  } catch (e) {
    await fs.unlink(tmp).catch(() => {});
    throw e;
  }
  await fsyncDir(dirname(path));
}

/**
 * The names in a folder, or none when the folder does not exist.
 *
 * @example
 * await listIfExists('ckpt/commits'); // ['0', '1', '2'], or [] before the first commit
 */
export async function listIfExists(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
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
