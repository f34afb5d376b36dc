/**
 * The `_delta_log/` folder: listing and reading commits, replaying them into snapshots, and writing a new commit
 * atomically and only if its version is still free.
 *
 * A commit is written to a temp file in `_delta_log/` (name starting with `.`, so no reader lists it), fsynced, then
 * hard-linked to `%020d.json`; `link` fails with EEXIST when another writer took that version first. Readers see a
 * whole commit file or none.
 *
 * @module
 */
import { promises as fs, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fsyncDir, listIfExists } from '../../engine/checkpoint/atomic-file.js';
import { FileWriteError, fileStep, writeFileDurably } from '../../engine/io/file-write.js';
import type { Schema } from '../../engine/types/data-type.js';
import {
  commitFileName,
  parseCommit,
  versionOfFileName,
  type AddAction,
  type Commit,
  type MetadataAction,
  type ProtocolAction,
  type RemoveAction,
  type TxnAction,
} from './delta-actions.js';
import { findCheckpoints, readCheckpoint } from './delta-checkpoint.js';
import { DeltaLogCorruptError, DeltaProtocolError, DeltaTableNotFoundError } from './delta-errors.js';
import { schemaFromDeltaString } from './delta-schema.js';

/** The highest reader version sluice implements fully. */
export const READER_VERSION = 1;
/** The highest writer version sluice implements fully (2: `appendOnly` and no column invariants). */
export const WRITER_VERSION = 2;
/** Reader table features (protocol reader version 3) sluice can honour. */
export const SUPPORTED_READER_FEATURES: readonly string[] = ['vacuumProtocolCheck'];
/** Writer table features (protocol writer version 7) sluice can honour. */
export const SUPPORTED_WRITER_FEATURES: readonly string[] = ['appendOnly', 'invariants', 'vacuumProtocolCheck'];

/** The state of a table at one version. */
export class DeltaSnapshot {
  constructor(
    readonly tablePath: string,
    readonly version: number,
    readonly protocol: ProtocolAction,
    readonly metadata: MetadataAction,
    /** Live data files by logged path. */
    readonly files: ReadonlyMap<string, AddAction>,
    /** Removed files (tombstones) by logged path, for vacuum. */
    readonly tombstones: ReadonlyMap<string, RemoveAction>,
    /** The latest `txn` of each application. */
    readonly txns: ReadonlyMap<string, TxnAction>,
  ) {}

  private cachedSchema: Schema | null = null;

  /** The table's schema (every column, partition columns included, in table order). */
  get schema(): Schema {
    this.cachedSchema ??= schemaFromDeltaString(this.metadata.schemaString, this.tablePath);
    return this.cachedSchema;
  }

  get partitionColumns(): readonly string[] {
    return this.metadata.partitionColumns;
  }

  /** The live files, sorted by path (a stable read order). */
  fileList(): AddAction[] {
    return [...this.files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The latest version committed by `appId`, or -1. */
  txnVersion(appId: string): number {
    return this.txns.get(appId)?.version ?? -1;
  }
}

/**
 * Reads and writes one table's `_delta_log/`. Parsed commits are cached (they never change), and the newest snapshot
 * is kept so the next one replays only the commits after it.
 *
 * @example
 * const log = new DeltaLog('/lake/events');
 * const snap = await log.snapshot(); // latest
 * const v3 = await log.snapshot(3); // time travel
 */
export class DeltaLog {
  readonly logDir: string;
  private readonly commits = new Map<number, Commit>();
  private latest: DeltaSnapshot | null = null;
  private knownLatest = -1;

  constructor(readonly tablePath: string) {
    this.logDir = join(tablePath, '_delta_log');
  }

  /** Every commit version present, ascending. */
  async listVersions(): Promise<number[]> {
    return versionsIn(await this.listLog());
  }

  private async listLog(): Promise<string[]> {
    return listIfExists(this.logDir);
  }


  /**
   * The newest version, or -1 when the table has no commit yet. Once a version is known, later ones are found by
   * probing `v+1, v+2, …` (commits are created in order, without gaps), so the cost does not grow with the log.
   */
  async latestVersion(): Promise<number> {
    if (this.knownLatest < 0) {
      const vs = await this.listVersions();
      this.knownLatest = vs.length === 0 ? -1 : vs[vs.length - 1]!;
      return this.knownLatest;
    }
    let v = this.knownLatest;
    while (await exists(this.commitPath(v + 1))) v++;
    this.knownLatest = v;
    return v;
  }

  /** The path of a commit file. */
  commitPath(version: number): string {
    return join(this.logDir, commitFileName(version));
  }

  /** Reads (and caches) one commit; null when it does not exist. */
  async readCommit(version: number): Promise<Commit | null> {
    const cached = this.commits.get(version);
    if (cached) return cached;
    const file = this.commitPath(version);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const c = parseCommit(version, text, file);
    if (this.commits.size >= 4096) this.commits.delete(this.commits.keys().next().value!);
    this.commits.set(version, c);
    return c;
  }

  /**
   * The table at `version` (default: the newest). Throws `DeltaTableNotFoundError` when there is no log,
   * `DeltaProtocolError` when the table needs a reader sluice is not, `DeltaLogCorruptError` for a bad commit.
   */
  async snapshot(version?: number): Promise<DeltaSnapshot> {
    if (version === undefined && this.latest !== null) {
      const newest = await this.latestVersion();
      return this.replay(newest, this.latest);
    }
    const names = await this.listLog();
    const versions = versionsIn(names);
    if (versions.length === 0) {
      throw new DeltaTableNotFoundError(
        `'${this.tablePath}' is not a Delta table: it has no _delta_log/ commits. Write to it first (mode 'append' creates it).`,
      );
    }
    const newest = versions[versions.length - 1]!;
    const target = version ?? newest;
    if (!Number.isInteger(target) || target < 0 || target > newest) {
      throw new DeltaTableNotFoundError(
        `Delta table '${this.tablePath}' has versions ${versions[0]}..${newest}; version ${version} does not exist.`,
      );
    }
    if (newest > this.knownLatest) this.knownLatest = newest;
    let base = this.latest !== null && this.latest.version <= target ? this.latest : null;
    if (base === null && versions[0] !== 0) {
      // Early commits were cleaned up after a checkpoint: start from the newest usable checkpoint.
      const first = versions[0]!;
      const ref = findCheckpoints(names)
        .filter((c) => c.version <= target && c.version + 1 >= first)
        .pop();
      if (ref === undefined) {
        throw new DeltaLogCorruptError(
          `The log of Delta table '${this.tablePath}' starts at version ${first} and has no complete checkpoint at or ` +
            `after version ${first - 1} that reaches version ${target} (older commits were cleaned up). ` +
            'Read an existing version, or restore the checkpoint.',
          join(this.logDir, commitFileName(first)),
          0,
        );
      }
      base = snapshotOf(this.tablePath, await readCheckpoint(this.logDir, ref), this.logDir);
    }
    return this.replay(target, base);
  }

  /** Replays commits `base.version + 1 … target` on top of `base` (or from version 0). */
  private async replay(target: number, base: DeltaSnapshot | null): Promise<DeltaSnapshot> {
    if (base !== null && base.version === target) return base;
    const files = new Map(base?.files ?? []);
    const tombstones = new Map(base?.tombstones ?? []);
    const txns = new Map(base?.txns ?? []);
    let protocol = base?.protocol;
    let metadata = base?.metadata;
    for (let v = (base?.version ?? -1) + 1; v <= target; v++) {
      const c = await this.readCommit(v);
      if (c === null) {
        throw new DeltaLogCorruptError(
          `Commit ${v} of Delta table '${this.tablePath}' is missing (the log jumps over it). Restore it from a backup.`,
          this.commitPath(v),
          0,
        );
      }
      if (c.protocol) protocol = c.protocol;
      if (c.metaData) metadata = c.metaData;
      for (const t of c.txns) txns.set(t.appId, t);
      for (const r of c.removes) {
        files.delete(r.path);
        tombstones.set(r.path, r);
      }
      for (const a of c.adds) {
        files.set(a.path, a);
        tombstones.delete(a.path);
      }
    }
    if (protocol === undefined || metadata === undefined) {
      throw new DeltaLogCorruptError(
        `Delta table '${this.tablePath}' has no ${protocol === undefined ? 'protocol' : 'metaData'} action up to version ${target}.`,
        this.commitPath(0),
        0,
      );
    }
    checkReadable(protocol, this.tablePath, target);
    const snap = new DeltaSnapshot(this.tablePath, target, protocol, metadata, files, tombstones, txns);
    if (this.latest === null || target >= this.latest.version) this.latest = snap;
    return snap;
  }

  /**
   * Writes commit `version` if nobody has: true when it landed, false when another writer took that version.
   *
   * @example
   * if (!(await log.tryCommit(4, serializeCommit(actions)))) { // lost the race: re-read and retry on 5 }
   */
  async tryCommit(version: number, text: string): Promise<boolean> {
    const target = this.commitPath(version);
    await fileStep('create folder', this.logDir, () => fs.mkdir(this.logDir, { recursive: true }), target);
    const tmp = join(this.logDir, `.${commitFileName(version)}.${randomUUID()}.tmp`);
    await writeFileDurably(tmp, text, target);
    try {
      await fileStep('link', tmp, () => fs.link(tmp, target), target);
    } catch (e) {
      if (e instanceof FileWriteError && e.code === 'EEXIST') return false;
      throw e;
    } finally {
      await fs.unlink(tmp).catch(() => undefined);
    }
    await fsyncDir(this.logDir);
    if (version > this.knownLatest) this.knownLatest = version;
    return true;
  }
}

function versionsIn(names: readonly string[]): number[] {
  const out: number[] = [];
  for (const n of names) {
    const v = versionOfFileName(n);
    if (v >= 0) out.push(v);
  }
  return out.sort((a, b) => a - b);
}

/** The snapshot a checkpoint holds. */
function snapshotOf(tablePath: string, c: Commit, logDir: string): DeltaSnapshot {
  if (c.protocol === undefined || c.metaData === undefined) {
    throw new DeltaLogCorruptError(
      `The checkpoint of version ${c.version} of Delta table '${tablePath}' has no ${c.protocol === undefined ? 'protocol' : 'metaData'} action.`,
      join(logDir, `${String(c.version).padStart(20, '0')}.checkpoint.parquet`),
      0,
    );
  }
  checkReadable(c.protocol, tablePath, c.version);
  return new DeltaSnapshot(
    tablePath,
    c.version,
    c.protocol,
    c.metaData,
    new Map(c.adds.map((a) => [a.path, a])),
    new Map(c.removes.map((r) => [r.path, r])),
    new Map(c.txns.map((t) => [t.appId, t])),
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path);
    return true;
  } catch {
    return false;
  }
}

/** Throws `DeltaProtocolError` when sluice cannot read a table with this protocol. */
export function checkReadable(p: ProtocolAction, table: string, version: number): void {
  const unsupported = (p.readerFeatures ?? []).filter((f) => !SUPPORTED_READER_FEATURES.includes(f));
  const noList = p.minReaderVersion === 3 && !Array.isArray(p.readerFeatures);
  if (p.minReaderVersion > 3 || p.minReaderVersion === 2 || (p.minReaderVersion === 3 && (unsupported.length > 0 || noList))) {
    const what =
      p.minReaderVersion === 3
        ? noList
          ? 'reader version 3 (table features) but lists no readerFeatures'
          : `reader features [${unsupported.join(', ')}]`
        : p.minReaderVersion === 2
          ? 'reader version 2 (column mapping)'
          : `reader version ${p.minReaderVersion}`;
    throw new DeltaProtocolError(
      `Delta table '${table}' at version ${version} requires ${what}, which sluice does not support ` +
        `(it reads reader version ${READER_VERSION}${SUPPORTED_READER_FEATURES.length > 0 ? ` and features ${SUPPORTED_READER_FEATURES.join(', ')}` : ''}). ` +
        'Read it with Spark or delta-rs, or rewrite it without that feature.',
    );
  }
}

/** Throws `DeltaProtocolError` when sluice cannot write a table with this protocol and metadata. */
export function checkWritable(p: ProtocolAction, m: MetadataAction, table: string, version: number): void {
  const unsupported = (p.writerFeatures ?? []).filter((f) => !SUPPORTED_WRITER_FEATURES.includes(f));
  const tooNew = p.minWriterVersion > 7 || (p.minWriterVersion > WRITER_VERSION && p.minWriterVersion < 7);
  if (tooNew || (p.minWriterVersion === 7 && unsupported.length > 0)) {
    const what = p.minWriterVersion === 7 ? `writer features [${unsupported.join(', ')}]` : `writer version ${p.minWriterVersion}`;
    throw new DeltaProtocolError(
      `Delta table '${table}' at version ${version} requires ${what}, which sluice does not implement ` +
        `(it writes writer version ${WRITER_VERSION}: append-only tables, no constraints, generated columns or column mapping). ` +
        'Write to it with Spark or delta-rs, or write to a new table.',
    );
  }
  if (m.schemaString.includes('"delta.invariants"')) {
    throw new DeltaProtocolError(
      `Delta table '${table}' has column invariants (delta.invariants), which sluice does not check. Write to it with Spark.`,
    );
  }
}
