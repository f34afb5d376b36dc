/**
 * Reads a checkpoint's state without running its query: the operators and their named tables, and a table's rows as
 * they were after a committed batch. The `state` batch format (`session.read.format('state')`) and `sluice state`
 * are built on it.
 *
 * What it reads (see `CheckpointPaths`, `operator-metadata.ts`, `StateTable`):
 *
 * ```
 * <ckpt>/commits/N                         batch N committed; `statePartitions` = partitions that wrote version N+1
 * <ckpt>/state/<op>/_metadata/operator.json   the operator's name, kind and tables (absent in old checkpoints)
 * <ckpt>/state/<op>/_metadata/schema          the operator's kind and state columns (every checkpoint)
 * <ckpt>/state/<op>/<p>/<v>.delta|.snapshot   table '' of partition p
 * <ckpt>/state/<op>/<p>/<table>/<v>.…         any other table
 * ```
 *
 * The state after batch N is version N+1, read from partitions `0 … P-1` where P is what `commits/N` records, each with
 * `StateStore.load` (the newest snapshot at or below the version, then the deltas after it, evictions replayed), as a
 * restart would. A checkpoint written before `operator.json` has one table, `''`, whose columns are read from its
 * state files and whose key columns are those of the built-in operators' state: everything up to `__session_start`
 * for session windows, else every column before the trailing accumulator columns (`a<k>_…`).
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { CheckpointPaths } from '../checkpoint/checkpoint-paths.js';
import { CommitLog, type CommitMetadata } from '../checkpoint/commit-log.js';
import type { StateTable } from '../physical/partitions/keyed-operator.js';
import { field, schemaOf, type Schema } from '../types/data-type.js';
import { batchFromVecs, columnVec } from '../types/values.js';
import type { Vec } from '../kernels/vec.js';
import { readOperatorMetadataSync } from './operator-metadata.js';
import { MissingStateError, stateFileSchema, StateStore, stateVersions } from './state-store.js';

/** A checkpoint's state cannot be read as asked; the message names what exists and what to ask for instead. */
export class StateReadError extends Error {
  override readonly name: string = 'StateReadError';
}

/** The path is not a checkpoint folder (or does not exist). */
export class StateCheckpointNotFoundError extends StateReadError {
  override readonly name: string = 'StateCheckpointNotFoundError';
}

/** The checkpoint has no stateful operator of the id asked for. */
export class StateOperatorNotFoundError extends StateReadError {
  override readonly name: string = 'StateOperatorNotFoundError';
}

/** The operator has no state table of the name asked for. */
export class StateTableNotFoundError extends StateReadError {
  override readonly name: string = 'StateTableNotFoundError';
}

/** The batch asked for is not committed, or its state was purged. */
export class StateBatchNotAvailableError extends StateReadError {
  override readonly name: string = 'StateBatchNotAvailableError';
}

/** One state table of an operator, as `operator.json` (or, for old checkpoints, the state files) describe it. */
export interface StateTableInfo {
  /** `''` is the partition folder itself (the built-in operators' table). */
  readonly name: string;
  readonly role: StateTable['role'];
  /** Key columns first (`keyCount`), then values. */
  readonly schema: Schema;
  readonly keyCount: number;
  readonly ttlMs: number | null;
  readonly partitionKeyColumns: readonly number[];
}

/** One stateful operator of a checkpoint. */
export interface StateOperatorInfo {
  readonly operatorId: number;
  /** Its name in progress (`stateOperators[].operatorName`). */
  readonly operatorName: string;
  /** Its registered kind (`aggregate`, `session`, `dedup`, `transformWithState` …). */
  readonly kind: string;
  /** `state/<op>`. */
  readonly dir: string;
  /** True when `operator.json` describes the tables; false for a checkpoint written before it. */
  readonly described: boolean;
  /** The first is the operator's main table (the default `stateVarName`). */
  readonly tables: readonly StateTableInfo[];
}

/** What a checkpoint holds, for state readers. */
export interface StateCheckpointInfo {
  readonly checkpoint: string;
  /** Committed batch ids still in `commits/`, ascending. */
  readonly committedBatches: readonly number[];
  readonly lastCommittedBatch: number | null;
  readonly operators: readonly StateOperatorInfo[];
}

/** What one read covers: a table of an operator at a committed batch. */
export interface StateReadPlan {
  readonly checkpoint: string;
  readonly operator: StateOperatorInfo;
  readonly table: StateTableInfo;
  readonly batchId: number;
  /** The state version read: `batchId + 1`. */
  readonly version: number;
  /** The folders of the table in partitions `0 … partitions-1`. */
  readonly dirs: readonly string[];
}

/** The name of the partition column every row of the `state` format carries. */
export const PARTITION_ID_COLUMN = 'partition_id';

/** `commits/N` read synchronously (the state format resolves its schema in `load()`). */
class CommitReader extends CommitLog {
  read(batchId: number): CommitMetadata | null {
    const file = this.path(batchId);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    return this.decode(text, file);
  }
  ids(): number[] {
    return numbered(this.dir);
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}

function numbered(dir: string): number[] {
  return entries(dir)
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * The files `StateStore.load(version)` reads in `dir` (the newest snapshot at or below it, then every delta after
 * it), or null when one is missing (purged, or never written).
 *
 * @example
 * stateVersionFiles('ckpt/state/0/1', 4); // ['ckpt/state/0/1/1.snapshot', 'ckpt/state/0/1/2.delta', …]
 */
export function stateVersionFiles(dir: string, version: number): string[] | null {
  const { deltas, snapshots } = stateVersions(entries(dir));
  let base = 0;
  for (const s of snapshots) if (s <= version) base = s;
  const files = base > 0 ? [join(dir, `${base}.snapshot`)] : [];
  for (let v = base + 1; v <= version; v++) {
    if (!deltas.has(v)) return null;
    files.push(join(dir, `${v}.delta`));
  }
  return files;
}

/** `table`'s folder in partition folder `partitionDir`. */
function tableDir(partitionDir: string, table: string): string {
  return table === '' ? partitionDir : join(partitionDir, table);
}

/** The built-in operators' kind and progress name from `_metadata/schema` (`aggregate(…)`, `dedupe(…)` …). */
function fromSignature(signature: string | null): { kind: string; operatorName: string } {
  const prefix = signature === null ? null : (/^([A-Za-z]\w*)\(/.exec(signature)?.[1] ?? null);
  switch (prefix) {
    case 'aggregate':
      return { kind: 'aggregate', operatorName: 'stateStoreSave' };
    case 'session':
      return { kind: 'session', operatorName: 'sessionWindowStateStoreSaveExec' };
    case 'dedupe':
    case 'dedupeWithinWatermark':
      return { kind: 'dedup', operatorName: prefix };
    case null:
      return { kind: 'unknown', operatorName: 'unknown' };
    default:
      return { kind: prefix, operatorName: prefix };
  }
}

/** Key columns of a built-in operator's state (see the module's notes). */
function inferredKeyCount(schema: Schema): number {
  const session = schema.fields.findIndex((f) => f.name === '__session_start');
  if (session >= 0) return session + 1;
  let k = schema.fields.length;
  while (k > 0 && /^a\d+_/.test(schema.fields[k - 1]!.name)) k--;
  return k;
}

/** The newest state file of any partition of an old-layout operator, for its columns. */
function newestStateFile(opDir: string): string | null {
  let best: { v: number; file: string } | null = null;
  for (const p of numbered(opDir)) {
    const dir = join(opDir, String(p));
    for (const n of entries(dir)) {
      const m = /^(\d+)\.(delta|snapshot)$/.exec(n);
      if (m && (best === null || Number(m[1]) > best.v)) best = { v: Number(m[1]), file: join(dir, n) };
    }
  }
  return best?.file ?? null;
}

function readOperator(paths: CheckpointPaths, operatorId: number): StateOperatorInfo {
  const dir = join(paths.stateRoot(), String(operatorId));
  const meta = readOperatorMetadataSync(dir);
  if (meta !== null) {
    return {
      operatorId,
      operatorName: meta.operatorName,
      kind: meta.kind,
      dir,
      described: true,
      tables: meta.tables.map((t) => ({
        name: t.name,
        role: t.role,
        schema: schemaOf(t.fields),
        keyCount: t.keyCount,
        ttlMs: t.ttlMs,
        partitionKeyColumns: t.partitionKeyColumns,
      })),
    };
  }
  let signature: string | null = null;
  try {
    signature = readFileSync(paths.stateMetadata(operatorId), 'utf8').trim();
  } catch {
    signature = null;
  }
  const file = newestStateFile(dir);
  const schema = file === null ? schemaOf([]) : stateFileSchema(file);
  return {
    operatorId,
    ...fromSignature(signature),
    dir,
    described: false,
    tables: [{ name: '', role: 'internal', schema, keyCount: inferredKeyCount(schema), ttlMs: null, partitionKeyColumns: [] }],
  };
}

/**
 * The operators and committed batches of a checkpoint (read synchronously, without locking it).
 *
 * @example
 * const info = inspectStateCheckpoint('ckpt');
 * info.operators.map((o) => `${o.operatorId} ${o.operatorName}: ${o.tables.map((t) => t.name).join(', ')}`);
 */
export function inspectStateCheckpoint(checkpoint: string): StateCheckpointInfo {
  const paths = new CheckpointPaths(checkpoint);
  let isDir = false;
  try {
    isDir = statSync(checkpoint).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    throw new StateCheckpointNotFoundError(
      `No checkpoint at ${checkpoint}: the folder does not exist. Pass the query's checkpointLocation to load('…').`,
    );
  }
  const known = entries(checkpoint);
  if (!known.includes('metadata') && !known.includes('offsets') && !known.includes('commits')) {
    throw new StateCheckpointNotFoundError(
      `${checkpoint} is not a sluice checkpoint (no metadata, offsets/ or commits/). Pass the query's checkpointLocation to load('…').`,
    );
  }
  const committed = new CommitReader(paths.commitsDir).ids();
  return {
    checkpoint,
    committedBatches: committed,
    lastCommittedBatch: committed.length > 0 ? committed[committed.length - 1]! : null,
    operators: numbered(paths.stateRoot()).map((op) => readOperator(paths, op)),
  };
}

/** `5..9, 12` */
function ranges(ids: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    out.push(i === j ? String(ids[i]) : `${ids[i]}..${ids[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

function tableLabel(name: string): string {
  return name === '' ? "'' (the operator's own table)" : `'${name}'`;
}

/** Partitions that wrote the state version after committed batch `batchId`, by its commit. */
function partitionsOf(commit: CommitMetadata, operatorId: number): number {
  return commit.statePartitions?.[String(operatorId)] ?? 1;
}

/**
 * The committed batches whose state of `table` can still be read: the commit is kept, and every partition it
 * records still holds what loading the version needs.
 *
 * @example
 * const info = inspectStateCheckpoint('ckpt');
 * readableBatches(info, info.operators[0]!, info.operators[0]!.tables[0]!); // [5, 6, 7, 8, 9]
 */
export function readableBatches(info: StateCheckpointInfo, op: StateOperatorInfo, table: StateTableInfo): number[] {
  const commits = new CommitReader(new CheckpointPaths(info.checkpoint).commitsDir);
  return info.committedBatches.filter((b) => {
    const c = commits.read(b);
    if (c === null) return false;
    const P = partitionsOf(c, op.operatorId);
    for (let p = 0; p < P; p++) if (stateVersionFiles(tableDir(join(op.dir, String(p)), table.name), b + 1) === null) return false;
    return true;
  });
}

/**
 * Resolves a read of `table` (default: the operator's first) of operator `operatorId` (default 0) at committed batch
 * `batchId` (default: the last committed), or throws a `StateReadError` naming what exists.
 *
 * @example
 * const plan = planStateRead('ckpt', { operatorId: 0, batchId: 3, table: 'fails' });
 * plan.dirs; // ['ckpt/state/0/0/fails', 'ckpt/state/0/1/fails']
 */
export function planStateRead(checkpoint: string, o: { operatorId?: number; batchId?: number; table?: string } = {}): StateReadPlan {
  const info = inspectStateCheckpoint(checkpoint);
  const operatorId = o.operatorId ?? 0;
  const op = info.operators.find((x) => x.operatorId === operatorId);
  if (op === undefined) {
    throw new StateOperatorNotFoundError(
      info.operators.length === 0
        ? `${checkpoint} holds no state (state/ is empty: the query has no stateful operator, or never committed a batch).`
        : `${checkpoint} has no stateful operator ${operatorId}. Its operators: ` +
            `${info.operators.map((x) => `${x.operatorId} (${x.operatorName})`).join(', ')}. Set .option('operatorId', …) to one of them.`,
    );
  }
  const table = o.table === undefined ? op.tables[0] : op.tables.find((t) => t.name === o.table);
  if (table === undefined) {
    throw new StateTableNotFoundError(
      `Operator ${operatorId} (${op.operatorName}) of ${checkpoint} has no state table '${o.table}'. Its tables: ` +
        `${op.tables.map((t) => tableLabel(t.name)).join(', ') || '(none)'}. Set .option('stateVarName', …) to one of them` +
        `${op.described ? '' : " (a checkpoint written before operator.json has only the table '')"}.`,
    );
  }
  if (table.schema.fields.some((f) => f.name.toLowerCase() === PARTITION_ID_COLUMN)) {
    throw new StateReadError(
      `State table ${tableLabel(table.name)} of operator ${operatorId} has a column named '${PARTITION_ID_COLUMN}', the column the state format adds for each row's partition; ` +
        `read its state files with StateStore instead.`,
    );
  }
  const readable = () => {
    const ids = readableBatches(info, op, table);
    const whose = `operator ${operatorId}'s table ${tableLabel(table.name)}`;
    return ids.length === 0 ? `no batch of ${whose} can be read` : `${whose} can be read at batch${ids.length === 1 ? '' : 'es'} ${ranges(ids)}`;
  };
  if (info.lastCommittedBatch === null) {
    throw new StateBatchNotAvailableError(`${checkpoint} has no committed batch yet (commits/ is empty): there is no state to read. Run the query until a batch commits.`);
  }
  const batchId = o.batchId ?? info.lastCommittedBatch;
  const commit = new CommitReader(new CheckpointPaths(checkpoint).commitsDir).read(batchId);
  if (commit === null) {
    const why =
      batchId > info.lastCommittedBatch
        ? `is not committed (the last committed batch is ${info.lastCommittedBatch})`
        : `was purged from commits/ (the checkpoint keeps commits ${ranges(info.committedBatches)})`;
    throw new StateBatchNotAvailableError(`Batch ${batchId} of ${checkpoint} ${why}; ${readable()}. Set .option('batchId', …) to one of them.`);
  }
  const version = batchId + 1;
  const partitions = partitionsOf(commit, operatorId);
  const dirs = Array.from({ length: partitions }, (_, p) => tableDir(join(op.dir, String(p)), table.name));
  const missing = dirs.find((d) => stateVersionFiles(d, version) === null);
  if (missing !== undefined) {
    const kept = readable();
    throw new StateBatchNotAvailableError(
      `The state of batch ${batchId} (version ${version}) of operator ${operatorId}, table ${tableLabel(table.name)}, is no longer in ${missing}: ` +
        `it was purged (or never written); ${kept}. Set .option('batchId', …) to one of them.`,
    );
  }
  return { checkpoint, operator: op, table, batchId, version, dirs };
}

/** The rows a state read returns: the table's columns, then `partition_id` (int). */
export function stateRowSchema(table: StateTableInfo): Schema {
  return schemaOf([...table.schema.fields, field(PARTITION_ID_COLUMN, 'int', false)]);
}

/**
 * The table's rows in each partition, as of the plan's version (one batch per partition that has rows), with the
 * partition's number in `partition_id`.
 *
 * @example
 * for await (const b of readStateRows(planStateRead('ckpt'))) console.log(b.numRows);
 */
export async function* readStateRows(plan: StateReadPlan): AsyncIterable<RecordBatch> {
  const { table } = plan;
  const out = stateRowSchema(table);
  for (let p = 0; p < plan.dirs.length; p++) {
    let rows: RecordBatch | null;
    try {
      rows = await new StateStore(plan.dirs[p]!, table.schema, table.keyCount).load(plan.version);
    } catch (e) {
      if (!(e instanceof MissingStateError)) throw e;
      // The running query purged the version between load() and the read.
      throw new StateBatchNotAvailableError(
        `The state of batch ${plan.batchId} of operator ${plan.operator.operatorId} was purged while it was being read (${e.message}) ` +
          `Read a later batch: its query keeps the newest minBatchesToRetain batches.`,
      );
    }
    if (rows === null || rows.numRows === 0) continue;
    const n = rows.numRows;
    const vecs: Vec[] = table.schema.fields.map((_, i) => columnVec(rows, table.schema, i));
    vecs.push({ kind: 'num', type: 'int', length: n, values: new Float64Array(n).fill(p), big: null, valid: null });
    yield batchFromVecs(out, vecs, n);
  }
}

/**
 * Rows and bytes on disk of the plan's version, per partition: the rows loading gives, and the sizes of the files it
 * reads (the base snapshot and the deltas after it).
 *
 * @example
 * const s = await stateReadStats(plan); s.rows; // 42
 */
export async function stateReadStats(plan: StateReadPlan): Promise<{ rows: number; bytes: number; files: number }> {
  let rows = 0;
  let bytes = 0;
  let files = 0;
  for (const dir of plan.dirs) {
    for (const f of stateVersionFiles(dir, plan.version) ?? []) {
      bytes += statSync(f).size;
      files++;
    }
  }
  for await (const b of readStateRows(plan)) rows += b.numRows;
  return { rows, bytes, files };
}
