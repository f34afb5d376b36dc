/**
 * The lakehouse connector: Delta Lake tables (Parquet files + `_delta_log/`) that DuckDB, delta-rs and Spark read.
 *
 * @module
 */
export {
  DeltaTable,
  DEFAULT_MAX_COMMIT_ATTEMPTS,
  DEFAULT_OPTIMIZE_TARGET,
  DEFAULT_RETENTION_HOURS,
  MAX_ROWS_PER_FILE,
  type DeltaCreateOptions,
  type DeltaFaults,
  type DeltaHistoryEntry,
  type DeltaOptimizeOptions,
  type DeltaOptimizeResult,
  type DeltaReadOptions,
  type DeltaTableOptions,
  type DeltaVacuumOptions,
  type DeltaVacuumResult,
  type DeltaWriteOptions,
  type DeltaWriteResult,
} from './delta-table.js';
export { DeltaLog, DeltaSnapshot } from './delta-log.js';
export { DeltaSink, deltaSinkFromOptions, deltaWriteFromOptions, type DeltaSinkOptions } from './delta-sink.js';
export {
  DEFAULT_MAX_FILES_PER_TRIGGER,
  DeltaScan,
  DeltaSource,
  deltaScanFromOptions,
  deltaSourceFromOptions,
  type DeltaOffset,
  type DeltaScanOptions,
  type DeltaSourceOptions,
} from './delta-source.js';
export { parseDeltaOptions, type DeltaConnectorOptions, type DeltaOptionsKind } from './delta-options.js';
export {
  describePredicate,
  resolvePredicate,
  type ColumnCondition,
  type PartitionPredicate,
  type PredicateValue,
} from './delta-predicate.js';
export { deltaSchemaString, schemaFromDeltaString } from './delta-schema.js';
export {
  ENGINE_INFO,
  commitFileName,
  type AddAction,
  type Commit,
  type CommitInfo,
  type MetadataAction,
  type ProtocolAction,
  type RemoveAction,
  type TxnAction,
} from './delta-actions.js';
export { checkConflicts, type ConflictDecision, type TxnIntent } from './delta-conflicts.js';
export {
  DeltaConcurrentModificationError,
  DeltaError,
  DeltaLogCorruptError,
  DeltaOptionsError,
  DeltaPredicateError,
  DeltaProtocolError,
  DeltaSchemaMismatchError,
  DeltaTableExistsError,
  DeltaTableNotFoundError,
  DeltaVacuumError,
} from './delta-errors.js';
import './delta-format.js';
export { deltaSchemaSync } from './delta-format.js';
