/**
 * Errors of the operating system while sluice writes a file (a full disk, a read-only file system, missing
 * permissions), as one typed error that names the file, the operation and what to do, keeping the OS error's `code`
 * and the error itself as `cause`. Every file sluice writes goes through `fileStep` / `fileStepSync` (or
 * `writeFileDurably`, built on them): checkpoint logs and state, file sinks, Parquet and Delta files, dead letters.
 *
 * @module
 */
import { promises as fs } from 'node:fs';

/** The step of a file write that failed. */
export type FileOperation = 'create folder' | 'open' | 'write' | 'fsync' | 'close' | 'rename' | 'link';

const WHY: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device. Free space on the file system that holds it',
  EDQUOT: 'the disk quota is used up. Free space, or raise the quota',
  EROFS: 'the file system is read-only. Remount it read-write, or write somewhere else',
  EACCES: 'permission denied. Fix the permissions of the file or its folder, or write somewhere else',
  EPERM: 'operation not permitted. Fix the permissions of the file or its folder, or write somewhere else',
  EIO: 'an I/O error of the device. Check the disk (dmesg, SMART) before going on',
  EMFILE: 'this process has too many open files. Raise its limit (ulimit -n)',
  ENFILE: 'the system has too many open files. Raise fs.file-max or close other programs',
  ENOENT: 'a folder on its path does not exist (or was removed while writing)',
  ENOTDIR: 'a part of its path is a file, not a folder',
  EISDIR: 'it is a folder',
  EFBIG: 'the file is larger than the file system allows',
};

/**
 * Writing a file failed in the operating system. `path` is the file the operation was on (a temporary file, when the
 * write goes through one), `target` the file being written, `code` the OS error code (`ENOSPC`, `EACCES`, `EROFS`…).
 *
 * @example
 * try { await writeReplace(path, bytes); } catch (e) { if (e instanceof FileWriteError && e.code === 'ENOSPC') … }
 */
export class FileWriteError extends Error {
  override readonly name = 'FileWriteError';
  /** The OS error code, e.g. `ENOSPC`. */
  readonly code: string | undefined;

  constructor(
    readonly operation: FileOperation,
    readonly path: string,
    cause: unknown,
    readonly target: string = path,
  ) {
    const code = codeOf(cause);
    const why = code === undefined ? undefined : WHY[code];
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `Cannot write '${target}': ${operation}${path === target ? '' : ` of '${path}'`} failed` +
        (why === undefined ? ` (${detail})` : ` with ${code}: ${why}`) +
        '. A streaming query can then be restarted from its checkpoint: the batch that failed runs again.',
      { cause },
    );
    this.code = code;
  }
}

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether `e` is an error of the operating system (it carries an errno code), as opposed to one of sluice's own. */
function isSystemError(e: unknown): boolean {
  return e instanceof Error && typeof (e as { errno?: unknown }).errno === 'number' && codeOf(e) !== undefined;
}

/**
 * Runs one step of a file write; an OS error becomes a `FileWriteError` naming the file and the step (other errors
 * pass through).
 *
 * @example
 * await fileStep('rename', tmp, () => fs.rename(tmp, path), path);
 */
export async function fileStep<T>(operation: FileOperation, path: string, run: () => Promise<T>, target = path): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw isSystemError(e) ? new FileWriteError(operation, path, e, target) : e;
  }
}

/**
 * `fileStep` for synchronous calls.
 *
 * @example
 * fileStepSync('create folder', root, () => mkdirSync(root, { recursive: true }));
 */
export function fileStepSync<T>(operation: FileOperation, path: string, run: () => T, target = path): T {
  try {
    return run();
  } catch (e) {
    throw isSystemError(e) ? new FileWriteError(operation, path, e, target) : e;
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

/**
 * Creates `path` (it must not exist), writes `data` and fsyncs it, each step named in a `FileWriteError` if it
 * fails; a file left half-written by a failure is removed (on a full disk it would hold space the next write needs).
 * `target` is the file the caller is writing, when `path` is a temporary file for it.
 *
 * @example
 * await writeFileDurably('/lake/t/part-00000.parquet', bytes);
 * await writeFileDurably(tmp, text, '/lake/t/_delta_log/00000000000000000003.json');
 */
export async function writeFileDurably(path: string, data: FileData, target = path): Promise<void> {
  const h = await fileStep('open', path, () => fs.open(path, 'wx'), target);
  let done = false;
  try {
    await fileStep('write', path, async () => {
      if (typeof data === 'string' || data instanceof Uint8Array) await h.writeFile(data);
      else await writeAllV(h, data);
    }, target);
    await fileStep('fsync', path, () => h.sync(), target);
    done = true;
  } finally {
    const closed = fileStep('close', path, () => h.close(), target);
    if (done) await closed;
    else {
      await closed.catch(() => undefined);
      await fs.unlink(path).catch(() => undefined);
    }
  }
}
