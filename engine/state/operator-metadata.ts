/**
 * What a stateful operator's state folder holds, for readers that do not run the query (the state data source,
 * `sluice state`): `state/<op>/_metadata/operator.json`, written by the calling thread at the first commit of a run
 * (replaced whole, atomically). Old checkpoints have none; their readers fall back to the schema inside the state
 * files (Arrow IPC) and treat the partition folder as one table named `''`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptCheckpointError, readIfExists, writeReplace } from '../checkpoint/atomic-file.js';
import { typeToString, type Field } from '../types/data-type.js';
import type { StateTable } from '../physical/partitions/keyed-operator.js';

/** The file's format version. */
export const OPERATOR_METADATA_VERSION = 1;

/** The contents of `operator.json`. */
export interface OperatorMetadata {
  readonly version: number;
  /** The operator's name in progress (`stateOperators[].operatorName`). */
  readonly operatorName: string;
  /** Its registered kind (`defineOperatorKind`). */
  readonly kind: string;
  /** How many partitions wrote the last version (the layout log has the history). */
  readonly partitions: number;
  readonly tables: readonly {
    readonly name: string;
    readonly keyCount: number;
    readonly role: StateTable['role'];
    readonly ttlMs: number | null;
    readonly partitionKeyColumns: readonly number[];
    readonly fields: readonly Field[];
  }[];
}

/** `state/<op>/_metadata/operator.json`. */
export function operatorMetadataPath(operatorDir: string): string {
  return join(operatorDir, '_metadata', 'operator.json');
}

/**
 * Writes an operator's metadata into its state folder (`state/<op>`).
 *
 * @example
 * await writeOperatorMetadata('ckpt/state/0', { operatorName: 'transformWithState', kind: 'transformWithState', partitions: 2, tables });
 */
export async function writeOperatorMetadata(
  operatorDir: string,
  m: { operatorName: string; kind: string; partitions: number; tables: readonly StateTable[] },
): Promise<void> {
  const body: OperatorMetadata = {
    version: OPERATOR_METADATA_VERSION,
    operatorName: m.operatorName,
    kind: m.kind,
    partitions: m.partitions,
    tables: m.tables.map((t) => ({
      name: t.name,
      keyCount: t.keyCount,
      role: t.role,
      ttlMs: t.ttlMs,
      partitionKeyColumns: [...t.partitionKeyColumns],
      fields: t.schema.fields,
    })),
  };
  await writeReplace(operatorMetadataPath(operatorDir), JSON.stringify(body, null, 1) + '\n');
}

/**
 * Reads an operator's metadata, or null when the folder has none (a checkpoint written before it).
 *
 * @example
 * const m = await readOperatorMetadata('ckpt/state/0'); // m?.tables.map((t) => t.name)
 */
export async function readOperatorMetadata(operatorDir: string): Promise<OperatorMetadata | null> {
  const path = operatorMetadataPath(operatorDir);
  const buf = await readIfExists(path);
  return buf === null ? null : parseOperatorMetadata(buf, path);
}

/**
 * `readOperatorMetadata` for readers that must answer at once (the state data source resolves its schema in
 * `load()`).
 *
 * @example
 * const m = readOperatorMetadataSync('ckpt/state/0'); // null for a checkpoint written before operator.json
 */
export function readOperatorMetadataSync(operatorDir: string): OperatorMetadata | null {
  const path = operatorMetadataPath(operatorDir);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return parseOperatorMetadata(buf, path);
}

function parseOperatorMetadata(buf: Buffer, path: string): OperatorMetadata {
  let m: OperatorMetadata;
  try {
    m = JSON.parse(buf.toString('utf8')) as OperatorMetadata;
  } catch (e) {
    throw new CorruptCheckpointError(`${path} is not valid JSON (${(e as Error).message}). Delete it: the next run writes it again.`);
  }
  if (m.version !== OPERATOR_METADATA_VERSION) {
    throw new CorruptCheckpointError(`${path} has format version ${m.version}; this sluice reads version ${OPERATOR_METADATA_VERSION}. Use a newer sluice.`);
  }
  return m;
}

/**
 * A state table of the checkpoint has another layout than the restarting operator's table of the same name: another
 * role (a state variable that changed kind), other columns (a TTL added or removed, another type). The message
 * names the table and both layouts; the fix is a new variable name, or a new checkpoint.
 */
export class IncompatibleStateTableError extends Error {
  override readonly name = 'IncompatibleStateTableError';
}

function layout(fields: readonly Field[]): string {
  return fields.map((f) => `${f.name} ${typeToString(f.type)}`).join(', ');
}

/**
 * Checks the restarting operator's tables against those `operator.json` recorded (the last run's): a table of the
 * same name must have the same role and columns. Tables only one side has are fine: the names of the restarting
 * operator's new tables are returned (a new state variable starts empty); a dropped one is not read. Without
 * `operator.json` (a checkpoint from before it), a named table whose folder partition 0 (`firstPartitionDir`) does not
 * have is new.
 *
 * @example
 * const fresh = await checkRecordedTables('ckpt/state/0', runner.tables, 'ckpt/state/0/0'); // throws IncompatibleStateTableError
 */
export async function checkRecordedTables(operatorDir: string, tables: readonly StateTable[], firstPartitionDir: string): Promise<string[]> {
  const recorded = await readOperatorMetadata(operatorDir);
  if (recorded === null) return tables.filter((t) => t.name !== '' && !existsSync(join(firstPartitionDir, t.name))).map((t) => t.name);
  const fresh: string[] = [];
  for (const t of tables) {
    const old = recorded.tables.find((r) => r.name === t.name);
    if (old === undefined) {
      fresh.push(t.name);
      continue;
    }
    const what = t.role === 'value' || t.role === 'list' || t.role === 'map' ? `State variable '${t.name}'` : `State table '${t.name}'`;
    if (old.role !== t.role) {
      throw new IncompatibleStateTableError(
        `[STATE_STORE_INVALID_VARIABLE_TYPE_CHANGE] ${what} was ${old.role} state in the checkpoint (${operatorMetadataPath(operatorDir)}) and is ${t.role} state now. ` +
          `Give the new variable another name, or start from a new checkpointLocation.`,
      );
    }
    const before = layout(old.fields);
    const now = layout(t.schema.fields);
    if (before !== now) {
      const ttl = (old.ttlMs === null) !== (t.ttlMs === null) ? (t.ttlMs === null ? ' (its TTL was removed)' : ' (a TTL was added)') : '';
      throw new IncompatibleStateTableError(
        `${what} has other columns than in the checkpoint${ttl}: it held (${before}), this query keeps (${now}). ` +
          `Restart with the variable as it was, give the changed one another name (it then starts empty), or start from a new checkpointLocation.`,
      );
    }
  }
  return fresh;
}
