/**
 * The actions of a Delta commit file and their (de)serialisation. A commit `_delta_log/00000000000000000003.json`
 * holds one action per line, written in this order:
 *
 * ```
 * {"commitInfo":{"timestamp":1780134900123,"operation":"WRITE","operationParameters":{"mode":"Append","partitionBy":"[\"date\"]"},"readVersion":2,"isBlindAppend":true,"engineInfo":"sluice/0.1.0","txnId":"…"}}
 * {"txn":{"appId":"<queryId>","version":7,"lastUpdated":1780134900123}}
 * {"remove":{"path":"date=2026-05-30/part-00000-….snappy.parquet","deletionTimestamp":1780134900123,"dataChange":true,"extendedFileMetadata":true,"partitionValues":{"date":"2026-05-30"},"size":1234}}
 * {"add":{"path":"date=2026-05-30/part-00000-….snappy.parquet","partitionValues":{"date":"2026-05-30"},"size":1234,"modificationTime":1780134900123,"dataChange":true,"stats":"{\"numRecords\":10,…}"}}
 * ```
 *
 * Version 0 also carries `protocol` and `metaData` (after `commitInfo`). Unknown actions and fields are ignored on
 * read, as the protocol requires.
 *
 * @module
 */
import { DeltaLogCorruptError } from './delta-errors.js';

/** `protocol`: the reader/writer versions (and table features) a client needs. */
export interface ProtocolAction {
  readonly minReaderVersion: number;
  readonly minWriterVersion: number;
  readonly readerFeatures?: readonly string[];
  readonly writerFeatures?: readonly string[];
}

/** `metaData`: the table's id, schema, partition columns and configuration. */
export interface MetadataAction {
  readonly id: string;
  readonly name?: string | null;
  readonly description?: string | null;
  readonly format: { readonly provider: string; readonly options: Readonly<Record<string, string>> };
  readonly schemaString: string;
  readonly partitionColumns: readonly string[];
  readonly configuration: Readonly<Record<string, string>>;
  readonly createdTime?: number;
}

/** `add`: a data file that is part of the table from this version on. */
export interface AddAction {
  readonly path: string;
  readonly partitionValues: Readonly<Record<string, string | null>>;
  readonly size: number;
  readonly modificationTime: number;
  readonly dataChange: boolean;
  readonly stats?: string;
  readonly tags?: Readonly<Record<string, string>> | null;
}

/** `remove`: a data file that is no longer part of the table (a tombstone until vacuumed). */
export interface RemoveAction {
  readonly path: string;
  readonly deletionTimestamp?: number;
  readonly dataChange: boolean;
  readonly extendedFileMetadata?: boolean;
  readonly partitionValues?: Readonly<Record<string, string | null>>;
  readonly size?: number;
  readonly tags?: Readonly<Record<string, string>> | null;
}

/** `txn`: the latest version an application (a streaming query) committed. */
export interface TxnAction {
  readonly appId: string;
  readonly version: number;
  readonly lastUpdated?: number;
}

/** `commitInfo`: provenance of a commit (free-form; these are the fields sluice writes and reads). */
export interface CommitInfo {
  readonly timestamp: number;
  readonly operation: string;
  readonly operationParameters: Readonly<Record<string, string>>;
  readonly readVersion?: number;
  readonly isolationLevel?: string;
  readonly isBlindAppend?: boolean;
  readonly operationMetrics?: Readonly<Record<string, string>>;
  readonly engineInfo?: string;
  readonly txnId?: string;
  readonly [key: string]: unknown;
}

/** The actions of one commit, grouped by kind. */
export interface Commit {
  readonly version: number;
  readonly commitInfo?: CommitInfo;
  readonly protocol?: ProtocolAction;
  readonly metaData?: MetadataAction;
  readonly txns: readonly TxnAction[];
  readonly removes: readonly RemoveAction[];
  readonly adds: readonly AddAction[];
}

/** The actions a writer commits (the version is decided when the commit lands). */
export type CommitActions = Omit<Commit, 'version'>;

/** Engine name written to `commitInfo.engineInfo`. */
export const ENGINE_INFO = 'sluice/0.1.0';

/**
 * The 20-digit commit file name of a version.
 *
 * @example
 * commitFileName(3); // '00000000000000000003.json'
 */
export function commitFileName(version: number): string {
  return `${String(version).padStart(20, '0')}.json`;
}

/** The version of a commit file name, or -1 when `name` is not one. */
export function versionOfFileName(name: string): number {
  return /^\d{20}\.json$/.test(name) ? Number(name.slice(0, 20)) : -1;
}

/**
 * The text of a commit file: one JSON action per line, `commitInfo` first.
 *
 * @example
 * serializeCommit({ commitInfo, txns: [], removes: [], adds: [add] }); // '{"commitInfo":{…}}\n{"add":{…}}\n'
 */
export function serializeCommit(c: CommitActions): string {
  const lines: string[] = [];
  if (c.commitInfo) lines.push(JSON.stringify({ commitInfo: c.commitInfo }));
  if (c.protocol) lines.push(JSON.stringify({ protocol: c.protocol }));
  if (c.metaData) lines.push(JSON.stringify({ metaData: c.metaData }));
  for (const t of c.txns) lines.push(JSON.stringify({ txn: t }));
  for (const r of c.removes) lines.push(JSON.stringify({ remove: r }));
  for (const a of c.adds) lines.push(JSON.stringify({ add: a }));
  return `${lines.join('\n')}\n`;
}

/**
 * Parses a commit file. A line that is not JSON, or an action missing a required field, throws a
 * `DeltaLogCorruptError` naming `file` and the 1-based line.
 *
 * @example
 * parseCommit(3, text, '/lake/t/_delta_log/00000000000000000003.json').adds.length;
 */
export function parseCommit(version: number, text: string, file: string): Commit {
  const txns: TxnAction[] = [];
  const removes: RemoveAction[] = [];
  const adds: AddAction[] = [];
  let commitInfo: CommitInfo | undefined;
  let protocol: ProtocolAction | undefined;
  let metaData: MetadataAction | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw corrupt(file, i + 1, `is not valid JSON (${(e as Error).message})`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw corrupt(file, i + 1, 'is not a JSON object');
    if ('add' in obj) adds.push(checkFile(obj.add, 'add', file, i + 1) as unknown as AddAction);
    else if ('remove' in obj) removes.push(checkFile(obj.remove, 'remove', file, i + 1) as unknown as RemoveAction);
    else if ('txn' in obj) {
      const t = obj.txn as TxnAction;
      if (typeof t?.appId !== 'string' || typeof t.version !== 'number') throw corrupt(file, i + 1, 'is a txn action without appId/version');
      txns.push(t);
    } else if ('metaData' in obj) {
      const m = obj.metaData as MetadataAction;
      if (typeof m?.schemaString !== 'string' || !Array.isArray(m.partitionColumns)) {
        throw corrupt(file, i + 1, 'is a metaData action without schemaString/partitionColumns');
      }
      metaData = m;
    } else if ('protocol' in obj) {
      const p = obj.protocol as ProtocolAction;
      if (typeof p?.minReaderVersion !== 'number') throw corrupt(file, i + 1, 'is a protocol action without minReaderVersion');
      protocol = p;
    } else if ('commitInfo' in obj) commitInfo = obj.commitInfo as CommitInfo;
  }
  return { version, commitInfo, protocol, metaData, txns, removes, adds };
}

function checkFile(a: unknown, kind: string, file: string, line: number): Record<string, unknown> {
  const o = a as Record<string, unknown> | null;
  if (o === null || typeof o !== 'object' || typeof o.path !== 'string') throw corrupt(file, line, `is a ${kind} action without a path`);
  if (kind === 'add' && (o.partitionValues === null || typeof o.partitionValues !== 'object')) {
    throw corrupt(file, line, 'is an add action without partitionValues');
  }
  return o;
}

function corrupt(file: string, line: number, what: string): DeltaLogCorruptError {
  return new DeltaLogCorruptError(
    `Delta log file '${file}' is corrupt: line ${line} ${what}. A Delta commit is written once and never edited; ` +
      'restore the file from a backup, or if the table can be rebuilt, rewrite it.',
    file,
    line,
  );
}
