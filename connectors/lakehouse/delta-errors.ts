/**
 * Errors of the Delta Lake connector. Each message names the table (or file) and says how to fix the problem.
 *
 * @module
 */

/** Base class of every Delta Lake error sluice raises. */
export class DeltaError extends Error {
  override readonly name: string = 'DeltaError';
}

/**
 * Another writer committed first and changed what this transaction read (the protocol, the metadata, files in the
 * partitions being replaced, files being compacted, or the same streaming query's transaction). `version` is the
 * concurrent commit that conflicts.
 */
export class DeltaConcurrentModificationError extends DeltaError {
  override readonly name: string = 'DeltaConcurrentModificationError';
  constructor(
    message: string,
    readonly version: number,
  ) {
    super(message);
  }
}

/** The table needs a reader or writer protocol version (or table feature) sluice does not implement. */
export class DeltaProtocolError extends DeltaError {
  override readonly name: string = 'DeltaProtocolError';
}

/** A `_delta_log` file cannot be parsed; `file` and `line` (1-based) point at it. */
export class DeltaLogCorruptError extends DeltaError {
  override readonly name: string = 'DeltaLogCorruptError';
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** The data written does not have the table's schema (or partitioning); `differences` lists each mismatch. */
export class DeltaSchemaMismatchError extends DeltaError {
  override readonly name: string = 'DeltaSchemaMismatchError';
  constructor(
    message: string,
    readonly differences: readonly string[],
  ) {
    super(message);
  }
}

/** `mode: 'errorIfExists'` (or `create`) on a table that already exists. */
export class DeltaTableExistsError extends DeltaError {
  override readonly name: string = 'DeltaTableExistsError';
}

/** A read, optimize, vacuum or history on a folder that holds no Delta table. */
export class DeltaTableNotFoundError extends DeltaError {
  override readonly name: string = 'DeltaTableNotFoundError';
}

/** A `replaceWhere`/`where` predicate that is malformed, names a non-partition column, or rows that violate it. */
export class DeltaPredicateError extends DeltaError {
  override readonly name: string = 'DeltaPredicateError';
}

/** Connector options that cannot be understood (`partitionBy`, `compression`, …). */
export class DeltaOptionsError extends DeltaError {
  override readonly name: string = 'DeltaOptionsError';
}

/** A vacuum that would delete files still needed (retention below the safety threshold without `force`). */
export class DeltaVacuumError extends DeltaError {
  override readonly name: string = 'DeltaVacuumError';
}
