import { join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { listIfExists, readIfExists, writeOnce } from '../../engine/checkpoint/atomic-file.js';
import type { Offset, ReadLimit, SourceContext, StreamSource } from '../../engine/io/source.js';
import type { Schema } from '../../engine/types/data-type.js';
import { ignoreCorruptFiles, skippingCorrupt, type CorruptFileCount } from './corrupt-files.js';
import type { FileFormat } from './file-formats.js';
import { listFiles, type ListedFile } from './file-listing.js';
import type { ReadStats } from './text-options.js';

/** The file source's offset: the id of the last entry of its file log. */
interface FileOffset {
  readonly logOffset: number;
}

/**
 * Streams the files that appear in a folder, oldest first (modification time, then name). Every batch's list of files
 * is written to `sources/<i>/<n>` before the batch is planned, so a re-run batch reads exactly the same files, and a
 * file is read once even if it is touched again. `maxFilesPerTrigger` bounds a batch. A file that cannot be decoded
 * fails the query with a `CorruptFileError` naming it (remove or replace the file, then restart from the checkpoint),
 * or with option `ignoreCorruptFiles` is skipped, logged and counted in the progress metric `numCorruptFilesSkipped`.
 * A path that does not exist is refused at `start()` (`FileNotFoundError`, see `checkStreamPath`) unless the option
 * `waitForPath` is `true`: then the query starts and reads the files once the folder appears.
 *
 * @example
 * session.readStream.format('jsonl').schema({ user: 'string', ts: 'timestamp' }).option('maxFilesPerTrigger', '2').load('in/');
 */
export class FileStreamSource implements StreamSource {
  private dir: string | null = null;
  private readonly log = new Map<number, string[]>();
  private readonly seen = new Set<string>();
  private lastLogId = -1;
  private availableNowFiles: Set<string> | null = null;
  private latestListed = 0;
  readonly stats: ReadStats = { rows: 0, malformed: 0, dropped: 0 };
  private lastStats: ReadStats = { rows: 0, malformed: 0, dropped: 0 };
  readonly corruptFiles: CorruptFileCount = { skipped: 0 };
  private lastCorruptFiles = 0;

  constructor(
    readonly format: FileFormat,
    readonly path: string,
    readonly schema: Schema,
    readonly options: Readonly<Record<string, string>>,
    private readonly maxFilesPerTrigger: number | null,
  ) {}

  get description(): string {
    return `FileStreamSource[${this.format.name}:${this.path}]`;
  }

  async open(ctx: SourceContext): Promise<void> {
    this.dir = ctx.metadataDir;
    const names = await listIfExists(this.dir);
    for (const id of names.filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b)) {
      const text = (await readIfExists(join(this.dir, String(id))))!.toString('utf8');
      const files = JSON.parse(text) as string[];
      this.log.set(id, files);
      for (const f of files) this.seen.add(f);
      this.lastLogId = Math.max(this.lastLogId, id);
    }
  }

  defaultReadLimit(): ReadLimit {
    return this.maxFilesPerTrigger ? { kind: 'maxFiles', max: this.maxFilesPerTrigger } : { kind: 'all' };
  }

  private newFiles(): ListedFile[] {
    const all = listFiles(this.path, { allowEmpty: true, extensions: this.format.extensions });
    this.latestListed = all.length;
    return all
      .filter((f) => !this.seen.has(f.path) && (this.availableNowFiles === null || this.availableNowFiles.has(f.path)))
      .sort((a, b) => a.mtimeMs - b.mtimeMs || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async prepareForAvailableNow(): Promise<void> {
    this.availableNowFiles = new Set(listFiles(this.path, { allowEmpty: true, extensions: this.format.extensions }).map((f) => f.path));
  }

  async latestOffset(start: Offset | null, limit: ReadLimit): Promise<Offset | null> {
    const startId = start === null ? -1 : (start as unknown as FileOffset).logOffset;
    // Files already logged past the start (a batch planned but never run) are read first.
    if (this.lastLogId > startId) return { logOffset: this.lastLogId };
    let files = this.newFiles();
    if (limit.kind === 'maxFiles') files = files.slice(0, limit.max);
    if (files.length === 0) return start;
    const id = this.lastLogId + 1;
    const paths = files.map((f) => f.path);
    await writeOnce(join(this.dir!, String(id)), JSON.stringify(paths));
    this.log.set(id, paths);
    for (const p of paths) this.seen.add(p);
    this.lastLogId = id;
    return { logOffset: id };
  }

  reportLatestOffset(): Offset | null {
    return { logOffset: this.lastLogId, filesListed: this.latestListed };
  }

  async *getBatch(start: Offset | null, end: Offset): AsyncIterable<RecordBatch> {
    const from = start === null ? 0 : (start as unknown as FileOffset).logOffset + 1;
    const to = (end as unknown as FileOffset).logOffset;
    const before = { ...this.stats };
    const corruptBefore = this.corruptFiles.skipped;
    const ignore = ignoreCorruptFiles(this.options);
    for (let id = from; id <= to; id++) {
      const files = this.log.get(id);
      if (!files) throw new Error(`The file source log entry ${join(this.dir ?? '', String(id))} is missing: the checkpoint is incomplete.`);
      for (const f of files) yield* skippingCorrupt(this.format.read(f, this.schema, this.options, this.stats), f, ignore, this.corruptFiles);
    }
    this.lastCorruptFiles = this.corruptFiles.skipped - corruptBefore;
    this.lastStats = {
      rows: this.stats.rows - before.rows,
      malformed: this.stats.malformed - before.malformed,
      dropped: this.stats.dropped - before.dropped,
    };
  }

  metrics(): Record<string, string> {
    return {
      numFilesLogged: String([...this.log.values()].reduce((s, f) => s + f.length, 0)),
      numMalformedRows: String(this.lastStats.malformed),
      numDroppedMalformedRows: String(this.lastStats.dropped),
      numCorruptFilesSkipped: String(this.lastCorruptFiles),
    };
  }
}
