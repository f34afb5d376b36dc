import type { ScanStats } from '../../engine/io/source.js';
import { field, schemaOf, type Schema } from '../../engine/types/data-type.js';

/** How a reader treats a line it cannot parse (Spark's `mode` option). */
export type ParseMode = 'permissive' | 'dropMalformed' | 'failFast';

/** The column that holds the raw text of a malformed line in permissive mode. */
export const CORRUPT_RECORD = '_corrupt_record';

/** A malformed line in failFast mode: the message names the file, line and column. */
export class MalformedRecordError extends Error {
  override readonly name = 'MalformedRecordError';
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    readonly column: string | null,
  ) {
    super(message);
  }
}

/** A reader option with a value it cannot use. */
export class ReaderOptionError extends Error {
  override readonly name = 'ReaderOptionError';
}

/** Parses the `mode` option. */
export function parseMode(v: string | undefined): ParseMode {
  if (v === undefined) return 'permissive';
  const m = v.toLowerCase().replace(/[_-]/g, '');
  if (m === 'permissive') return 'permissive';
  if (m === 'dropmalformed') return 'dropMalformed';
  if (m === 'failfast') return 'failFast';
  throw new ReaderOptionError(`Unknown mode '${v}': use 'permissive', 'dropMalformed' or 'failFast'.`);
}

/** The schema a text reader produces: in permissive mode, `_corrupt_record` is added (unless already declared). */
export function outputSchema(schema: Schema, mode: ParseMode, corruptColumn: string): Schema {
  if (mode !== 'permissive' || schema.fields.some((f) => f.name === corruptColumn)) return schema;
  return schemaOf([...schema.fields, field(corruptColumn, 'string')]);
}

/** Counters a text reader keeps (surfaced in progress, in a batch query's `lastMetrics` and in logs). */
export type ReadStats = ScanStats;

/** Reads a boolean option. */
export function boolOption(v: string | undefined, dflt: boolean, name: string): boolean {
  if (v === undefined) return dflt;
  const s = v.toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw new ReaderOptionError(`Option '${name}' must be 'true' or 'false', got '${v}'.`);
}

/** Reads a positive integer option. */
export function intOption(v: string | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new ReaderOptionError(`Option '${name}' must be a positive integer, got '${v}'.`);
  return n;
}

/** Appends a malformed line as a row: its raw text in the corrupt-record column, nulls elsewhere (permissive mode). */
export function appendCorruptRow(builders: readonly { append(v: unknown): boolean; appendNull(): void }[], corruptIdx: number, raw: string): void {
  for (let c = 0; c < builders.length; c++) {
    if (c === corruptIdx) builders[c]!.append(raw);
    else builders[c]!.appendNull();
  }
}
