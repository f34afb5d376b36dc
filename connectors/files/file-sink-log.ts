/**
 * The file sink's metadata log, `<output>/_spark_metadata/`, in Spark's format (`FileStreamSinkLog`), so Spark and
 * sluice read each other's folders:
 *
 * ```
 * _spark_metadata/0          v1
 *                            {"path":"file:///out/part-00000-1f0c…-c000.snappy.parquet","size":1032,"isDir":false,
 *                             "modificationTime":1780134900123,"blockReplication":1,"blockSize":33554432,"action":"add"}
 * _spark_metadata/9.compact  v1, then every live entry of batches 0–9
 * ```
 *
 * Entry N is written once, atomically (temp file + link that never overwrites), after the batch's files are durable;
 * a second writer of the same N fails with "Race while writing batch N". When `(N + 1) % 10 == 0` entry N is written as
 * `N.compact` holding every live entry (Spark's `spark.sql.streaming.fileSink.log.compactInterval`). Log files older
 * than the previous compaction are deleted once a new compaction is written (Spark waits ten minutes instead; a reader
 * that loses the race lists again). A reader takes the latest `.compact` and every entry after it, and drops files an
 * entry marks `delete`.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConcurrentUpdateError, listIfExists, writeOnce } from '../../engine/checkpoint/atomic-file.js';

/** The folder of the log, inside the output folder. */
export const SINK_METADATA_DIR = '_spark_metadata';
/** Spark's default `spark.sql.streaming.fileSink.log.compactInterval`. */
export const DEFAULT_COMPACT_INTERVAL = 10;
/** The log version sluice writes and reads (Spark's `FileStreamSinkLog.VERSION`). */
export const SINK_LOG_VERSION = 1;
/** Spark's block size for a local file (`fs.local.block.size`, 32 MiB), written as `blockSize`. */
const LOCAL_BLOCK_SIZE = 33_554_432;

/** One file of the log (Spark's `SinkFileStatus`). */
export interface SinkFileStatus {
  /** A `file:` URI (Spark writes fully qualified paths); relative paths are read relative to the output folder. */
  readonly path: string;
  readonly size: number;
  readonly isDir: boolean;
  readonly modificationTime: number;
  readonly blockReplication: number;
  readonly blockSize: number;
  readonly action: 'add' | 'delete';
}

/** A log file that cannot be read, a log written by a newer version, a missing entry, or a second writer. */
export class FileSinkLogError extends Error {
  override readonly name = 'FileSinkLogError';
}

/**
 * The entry sluice logs for a file it just wrote.
 *
 * @example
 * addedFile('/out/part-00000-….json', 120, Date.now()); // { path: 'file:///out/part-00000-….json', size: 120, …, action: 'add' }
 */
export function addedFile(absolutePath: string, size: number, modificationTime: number): SinkFileStatus {
  return {
    path: pathToFileURL(resolve(absolutePath)).href,
    size,
    isDir: false,
    modificationTime,
    blockReplication: 1,
    blockSize: LOCAL_BLOCK_SIZE,
    action: 'add',
  };
}

/**
 * Whether batch `batchId` is written as a compaction (`N.compact`).
 *
 * @example
 * isCompactionBatch(9, 10); // true
 * isCompactionBatch(10, 10); // false
 */
export function isCompactionBatch(batchId: number, interval: number): boolean {
  return (batchId + 1) % interval === 0;
}

/**
 * Whether `path` is a folder written by a file sink (it holds `_spark_metadata/`). Globs are never: Spark reads
 * the log only for a plain folder path.
 *
 * @example
 * hasSinkMetadata('out/'); // true after a file sink wrote there
 */
export function hasSinkMetadata(path: string): boolean {
  if (/[*?{]/.test(path)) return false;
  try {
    return statSync(path).isDirectory() && statSync(join(path, SINK_METADATA_DIR)).isDirectory();
  } catch {
    return false;
  }
}

interface LogFileName {
  readonly id: number;
  readonly compact: boolean;
  readonly name: string;
}

function logFileNames(names: readonly string[]): LogFileName[] {
  const out: LogFileName[] = [];
  for (const name of names) {
    const m = /^(\d+)(\.compact)?$/.exec(name);
    if (m) out.push({ id: Number(m[1]), compact: m[2] !== undefined, name });
  }
  return out.sort((a, b) => a.id - b.id);
}

/**
 * Parses one log file: `v<n>` then one JSON line per file.
 *
 * @example
 * parseLogFile('_spark_metadata/3', 'v1\n{"path":"file:///out/a.json",…,"action":"add"}');
 */
export function parseLogFile(file: string, text: string): SinkFileStatus[] {
  const lines = text.split('\n');
  const version = /^v(\d+)$/.exec(lines[0]?.trim() ?? '');
  if (!version) {
    throw new FileSinkLogError(`${file} is not a file sink log entry: line 1 is '${(lines[0] ?? '').slice(0, 40)}', expected 'v1'. Restore it from a backup or delete the output folder and its checkpoint.`);
  }
  if (Number(version[1]) > SINK_LOG_VERSION) {
    throw new FileSinkLogError(`${file} was written by a newer version of the log (v${version[1]}); this reader reads v${SINK_LOG_VERSION}. Read the folder with the version that wrote it.`);
  }
  const out: SinkFileStatus[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch (err) {
      throw new FileSinkLogError(`${file} line ${i + 1}: not JSON (${(err as Error).message}). The log entry is corrupt; restore it from a backup.`);
    }
    const s = e as Partial<SinkFileStatus>;
    if (typeof s.path !== 'string' || (s.action !== 'add' && s.action !== 'delete')) {
      throw new FileSinkLogError(`${file} line ${i + 1}: expected {"path": "...", "action": "add"|"delete", …}, got ${line.slice(0, 120)}.`);
    }
    out.push({
      path: s.path,
      size: typeof s.size === 'number' ? s.size : 0,
      isDir: s.isDir === true,
      modificationTime: typeof s.modificationTime === 'number' ? s.modificationTime : 0,
      blockReplication: typeof s.blockReplication === 'number' ? s.blockReplication : 1,
      blockSize: typeof s.blockSize === 'number' ? s.blockSize : LOCAL_BLOCK_SIZE,
      action: s.action,
    });
  }
  return out;
}

function serialize(entries: readonly SinkFileStatus[]): string {
  const lines = entries.map((e) =>
    JSON.stringify({
      path: e.path,
      size: e.size,
      isDir: e.isDir,
      modificationTime: e.modificationTime,
      blockReplication: e.blockReplication,
      blockSize: e.blockSize,
      action: e.action,
    }),
  );
  return [`v${SINK_LOG_VERSION}`, ...lines].join('\n');
}

/** Spark's `compactLogs`: every entry except files some entry deletes. */
function live(entries: readonly SinkFileStatus[]): SinkFileStatus[] {
  const deleted = new Set(entries.filter((e) => e.action === 'delete').map((e) => e.path));
  return entries.filter((e) => e.action === 'add' && !deleted.has(e.path));
}

/** The log files a reader reads: the latest compaction and every entry after it, in batch order. */
function readerFiles(names: readonly string[]): LogFileName[] {
  const files = logFileNames(names);
  const from = files.filter((f) => f.compact).at(-1)?.id ?? -1;
  return files.filter((f) => f.id > from || (f.id === from && f.compact));
}

/**
 * The local path a logged entry names: `file:` URIs are decoded; other relative paths are under the output folder.
 *
 * @example
 * loggedPath('/out', 'file:///out/part-00000-x.json'); // '/out/part-00000-x.json'
 */
export function loggedPath(outputPath: string, path: string): string {
  if (path.startsWith('file:')) return fileURLToPath(path);
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path)) {
    throw new FileSinkLogError(`${join(outputPath, SINK_METADATA_DIR)} names '${path}', on a storage sluice cannot read (only local files). Copy the folder to a local disk first.`);
  }
  return isAbsolute(path) ? path : join(outputPath, path);
}

/** A file the log lists, as `listFiles` returns files. */
export interface LoggedFile {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * The files a file sink committed to `outputPath` (Spark's `MetadataLogFileIndex`), with paths in the form the
 * caller gave (`out/part-…` for `out`), sorted by name. Uncommitted, aborted and stray files are not listed.
 *
 * @example
 * loggedFilesSync('out/'); // [{ path: 'out/part-00000-….snappy.parquet', size: 1032, mtimeMs: … }]
 */
export function loggedFilesSync(outputPath: string): LoggedFile[] {
  const dir = join(outputPath, SINK_METADATA_DIR);
  const root = resolve(outputPath);
  for (let attempt = 0; ; attempt++) {
    try {
      const all: SinkFileStatus[] = [];
      for (const f of readerFiles(readdirSync(dir))) all.push(...parseLogFile(join(dir, f.name), readFileSync(join(dir, f.name), 'utf8')));
      return live(all)
        .filter((e) => !e.isDir)
        .map((e) => {
          const abs = loggedPath(outputPath, e.path);
          const rel = relative(root, resolve(abs));
          const inside = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
          return { path: inside ? join(outputPath, rel) : abs, size: e.size, mtimeMs: e.modificationTime };
        })
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    } catch (e) {
      // A compaction deleted an old entry between listing and reading it: list again.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 3 && existsSync(dir)) continue;
      throw e;
    }
  }
}

/**
 * Reads and writes a file sink's log.
 *
 * @example
 * const log = new FileSinkLog('out/');
 * if (batchId > (await log.latestBatchId())) await log.add(batchId, [addedFile(file, size, mtime)]);
 */
export class FileSinkLog {
  readonly dir: string;

  constructor(
    readonly outputPath: string,
    readonly compactInterval = DEFAULT_COMPACT_INTERVAL,
  ) {
    this.dir = join(outputPath, SINK_METADATA_DIR);
  }

  /** Creates the log folder (before any data file is written, so readers use the log from the start). */
  async ensure(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
  }

  private async names(): Promise<string[]> {
    return listIfExists(this.dir);
  }

  /** The id of the latest logged batch, -1 when none. */
  async latestBatchId(): Promise<number> {
    return logFileNames(await this.names()).at(-1)?.id ?? -1;
  }

  /** Every live file the log lists. */
  async allFiles(): Promise<SinkFileStatus[]> {
    const all: SinkFileStatus[] = [];
    for (const f of readerFiles(await this.names())) all.push(...parseLogFile(join(this.dir, f.name), await fs.readFile(join(this.dir, f.name), 'utf8')));
    return live(all);
  }

  /**
   * Writes entry `batchId` (as `N.compact` holding every live entry when it is a compaction batch). Throws
   * `FileSinkLogError` ("Race while writing batch N") when the entry exists already.
   */
  async add(batchId: number, entries: readonly SinkFileStatus[]): Promise<void> {
    const compact = isCompactionBatch(batchId, this.compactInterval);
    let content = entries;
    if (compact) {
      const names = await this.names();
      const present = logFileNames(names);
      const prev = present.filter((f) => f.compact && f.id < batchId).at(-1)?.id ?? -1;
      for (let id = prev + 1; id < batchId; id++) {
        if (!present.some((f) => f.id === id)) {
          throw new FileSinkLogError(
            `Cannot compact ${join(this.dir, `${batchId}.compact`)}: entry ${id} is missing. The log was changed by hand; restore it or write to a new folder.`,
          );
        }
      }
      content = live([...(await this.allFiles()), ...entries]);
    }
    const file = join(this.dir, compact ? `${batchId}.compact` : String(batchId));
    try {
      await writeOnce(file, serialize(content));
    } catch (e) {
      if (e instanceof ConcurrentUpdateError) {
        throw new FileSinkLogError(`Race while writing batch ${batchId}: ${file} already exists. Another query writes to ${this.outputPath}; give each query its own output folder.`);
      }
      throw e;
    }
    if (compact) await this.deleteExpired(batchId);
  }

  /**
   * Deletes log files older than the previous compaction (every reader listing now starts at one of the two). Best
   * effort: the entry is written, so a failure here must not fail (and undo) the batch; the next compaction retries.
   */
  private async deleteExpired(compactedAt: number): Promise<void> {
    const keepFrom = compactedAt - this.compactInterval;
    try {
      for (const f of logFileNames(await this.names())) {
        if (f.id < keepFrom) await fs.unlink(join(this.dir, f.name)).catch(() => undefined);
      }
    } catch {
      // Listing the log folder failed; the old entries stay until the next compaction.
    }
  }
}
