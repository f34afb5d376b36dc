/**
 * Optimistic concurrency: what to do when another writer committed the version a transaction wanted. A pure
 * decision over the transaction's intent and the commits that won, tested case by case without touching disk.
 *
 * | the winner…                                   | blind append | overwrite / replaceWhere / delete | optimize |
 * |-----------------------------------------------|--------------|-----------------------------------|----------|
 * | changed `protocol` or `metaData`              | conflict     | conflict                          | conflict |
 * | created the table with the same schema (we were creating it too) | retry without our `metaData` | same | – |
 * | committed a `txn` of the same appId           | conflict     | conflict                          | conflict |
 * | removed a file we remove                      | –            | conflict                          | conflict |
 * | added a file in a partition we replace        | –            | conflict                          | –        |
 * | anything else                                 | retry        | retry                             | retry    |
 *
 * @module
 */
import type { Commit, MetadataAction } from './delta-actions.js';
import { partitionDir } from './delta-partition.js';
import type { ResolvedPredicate } from './delta-predicate.js';

/** What a transaction read and changes, for conflict checks. */
export interface TxnIntent {
  readonly table: string;
  /** `commitInfo.operation`, for messages. */
  readonly operation: string;
  /** The version the transaction read (-1 when it creates the table). */
  readonly readVersion: number;
  /** The `metaData` it commits when it creates the table (or replaces its schema); null otherwise. */
  readonly metadata: MetadataAction | null;
  /** When creating: what to do if the table appeared meanwhile. `'join'` appends to it if the schema is the same. */
  readonly onExists: 'join' | 'fail' | 'ignore';
  /** Logged paths it removes. */
  readonly removes: ReadonlySet<string>;
  /** Partitions it replaces: a concurrent add there conflicts. `'all'` for a whole-table overwrite. */
  readonly replaces: ResolvedPredicate | 'all' | null;
  /** The application id of its `txn`, if any. */
  readonly appId: string | null;
}

/** The decision after losing a race. */
export type ConflictDecision =
  | { readonly kind: 'retry'; readonly dropMetadata: boolean }
  | { readonly kind: 'conflict'; readonly version: number; readonly reason: string }
  | { readonly kind: 'exists'; readonly version: number };

/**
 * Decides whether a transaction can be committed after `winners` (the commits since it read the table, ascending).
 *
 * @example
 * checkConflicts({ ...intent, removes: new Set(), replaces: null }, [winner]); // { kind: 'retry', dropMetadata: false }
 */
export function checkConflicts(intent: TxnIntent, winners: readonly Commit[]): ConflictDecision {
  let dropMetadata = false;
  const op = intent.operation;
  for (const w of winners) {
    const theirOp = w.commitInfo?.operation ? ` (${w.commitInfo.operation})` : '';
    const creating = intent.readVersion < 0 && intent.metadata !== null && !dropMetadata;
    if (creating && w.version === 0) {
      if (intent.onExists === 'fail') return { kind: 'exists', version: 0 };
      if (intent.onExists === 'ignore') return { kind: 'exists', version: 0 };
      const m = w.metaData;
      if (
        m !== undefined &&
        m.schemaString === intent.metadata!.schemaString &&
        sameList(m.partitionColumns, intent.metadata!.partitionColumns)
      ) {
        dropMetadata = true;
        continue;
      }
      return {
        kind: 'conflict',
        version: w.version,
        reason:
          `another writer created Delta table '${intent.table}' at version 0 with a different schema or partitioning ` +
          `while this ${op} was creating it. Read the table's schema and write data that matches it`,
      };
    }
    if (w.protocol !== undefined) {
      return {
        kind: 'conflict',
        version: w.version,
        reason: `version ${w.version}${theirOp} of Delta table '${intent.table}' changed the protocol while this ${op} was running (it read version ${intent.readVersion}). Re-run the ${op}`,
      };
    }
    if (w.metaData !== undefined) {
      return {
        kind: 'conflict',
        version: w.version,
        reason: `version ${w.version}${theirOp} of Delta table '${intent.table}' changed the table's metadata (schema, partitioning or configuration) while this ${op} was running (it read version ${intent.readVersion}). Re-run the ${op} against the new schema`,
      };
    }
    if (intent.appId !== null) {
      const t = w.txns.find((x) => x.appId === intent.appId);
      if (t !== undefined) {
        return {
          kind: 'conflict',
          version: w.version,
          reason: `version ${w.version} of Delta table '${intent.table}' committed batch ${t.version} of application '${intent.appId}' concurrently: two runs of the same streaming query are writing. Stop the other run (a checkpoint may be used by one run at a time)`,
        };
      }
    }
    for (const r of w.removes) {
      if (intent.removes.has(r.path)) {
        return {
          kind: 'conflict',
          version: w.version,
          reason: `version ${w.version}${theirOp} of Delta table '${intent.table}' removed '${r.path}', which this ${op} also removes (it read version ${intent.readVersion}). Re-run the ${op}: it will see the table as it is now`,
        };
      }
    }
    if (intent.replaces !== null) {
      for (const a of w.adds) {
        if (intent.replaces === 'all' || intent.replaces.matchesPartition(a.partitionValues)) {
          const where =
            Object.keys(a.partitionValues).length > 0
              ? `partition ${partitionDir(Object.keys(a.partitionValues), a.partitionValues)}`
              : 'the table';
          const what = intent.replaces === 'all' ? 'the whole table' : `the partitions where ${intent.replaces.toString()}`;
          return {
            kind: 'conflict',
            version: w.version,
            reason: `version ${w.version}${theirOp} of Delta table '${intent.table}' added '${a.path}' to ${where}, which this ${op} replaces (${what}; it read version ${intent.readVersion}). Re-run the ${op} after the other write, or make writers to the same partitions run one after another`,
          };
        }
      }
    }
  }
  return { kind: 'retry', dropMetadata };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
