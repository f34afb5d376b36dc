import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { CorruptCheckpointError, listIfExists, readIfExists, writeOnce } from './atomic-file.js';

/**
 * A folder of write-once, numbered entries (`<dir>/<batchId>`), as Spark's HDFSMetadataLog. It owns atomicity and
 * listing; subclasses only encode and decode one entry.
 *
 * @example
 * class NotesLog extends MetadataLog<string> { … }
 * await log.add(0, 'hello'); await log.get(0); // 'hello'
 */
export abstract class MetadataLog<T> {
  constructor(readonly dir: string) {}

  /** Serialises an entry. */
  protected abstract encode(value: T): string;
  /** Parses an entry; `file` is for error messages. */
  protected abstract decode(text: string, file: string): T;

  path(batchId: number): string {
    return join(this.dir, String(batchId));
  }

  /** Writes entry `batchId` once; throws `ConcurrentUpdateError` if it exists. */
  async add(batchId: number, value: T): Promise<void> {
    await writeOnce(this.path(batchId), this.encode(value));
  }

  /** Entry `batchId`, or null. */
  async get(batchId: number): Promise<T | null> {
    const file = this.path(batchId);
    const buf = await readIfExists(file);
    if (buf === null) return null;
    return this.decode(buf.toString('utf8'), file);
  }

  /** Batch ids present, ascending. */
  async list(): Promise<number[]> {
    const names = await listIfExists(this.dir);
    return names.filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
  }

  /** The newest entry, or null. */
  async getLatest(): Promise<{ batchId: number; value: T } | null> {
    const ids = await this.list();
    if (ids.length === 0) return null;
    const batchId = ids[ids.length - 1]!;
    return { batchId, value: (await this.get(batchId))! };
  }

  /** Deletes entries older than `batchId`. */
  async purge(batchId: number): Promise<void> {
    for (const id of await this.list()) if (id < batchId) await fs.unlink(this.path(id)).catch(() => {});
  }
}

/**
 * A log entry that was not written completely. Whether deleting it is a safe way out depends on which entry it is and
 * what else the checkpoint holds, so the message only says what is wrong; the restart, which knows, adds the advice.
 */
export class TruncatedLogEntryError extends CorruptCheckpointError {
  override readonly name = 'TruncatedLogEntryError';
  constructor(
    readonly file: string,
    readonly kind: string,
    /** What to do, when the restart knows that deleting the entry is safe. */
    advice: string | null = null,
  ) {
    super(
      `${file} is truncated (no final newline): the ${kind} entry was not written completely. ` +
        (advice !== null ? `${advice} Or restore the checkpoint from a backup.` : 'Restore the checkpoint from a backup.'),
    );
  }
}

/** Splits a log file into its version line and the rest, checking the version. */
export function readVersioned(text: string, file: string, kind: string): string[] {
  if (!text.endsWith('\n')) throw new TruncatedLogEntryError(file, kind);
  const lines = text.slice(0, -1).split('\n');
  const version = lines[0];
  if (version !== 'v1') {
    throw new CorruptCheckpointError(
      `${file} starts with '${version?.slice(0, 20)}', not 'v1': it is not a sluice ${kind} entry or was written by a newer version.`,
    );
  }
  return lines.slice(1);
}

/** JSON.parse with an error that names the file. */
export function parseJson(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CorruptCheckpointError(`${file}: cannot read the ${what} (${(e as Error).message}). The file is corrupt.`);
  }
}
