import type { RecordBatch } from 'apache-arrow';
import { EvaluationError, ParseFailures } from '../kernels/expr-kernel.js';
import { gatherBatch } from '../kernels/select-kernel.js';
import type { Schema } from '../types/data-type.js';
import type { ExecContext } from './exec-node.js';

/**
 * Routes the rows the parses of one batch's expressions could not read (`ParseFailures`, filled by `fromJson`/
 * `fromCsv` wherever they sit inside a projection or a filter): a `failFast` parse throws an `EvaluationError` naming
 * its first bad row; every other bad row is written to the dead-letter output (`deadLetterPath`, counted in progress)
 * as the input row with `reason`. Returns the rows a `dropMalformed` parse flagged, which the operator leaves out of
 * its output (1: drop), or null when there are none.
 *
 * @example
 * const failures = new ParseFailures();
 * const v = evaluate(bound, batch, schema, { ...ctx.env, failures });
 * const drop = routeMalformedRows(failures, batch, schema, ctx, "in column 'e'"); // then gather the rows not dropped
 */
export function routeMalformedRows(
  failures: ParseFailures,
  batch: RecordBatch,
  schema: Schema,
  ctx: ExecContext,
  where: string,
): Uint8Array | null {
  if (failures.entries.length === 0) return null;
  const n = batch.numRows;
  for (const f of failures.entries) {
    if (f.mode !== 'failFast') continue;
    const first = f.rows.indexOf(1);
    if (first >= 0) throw new EvaluationError(f.message(first));
  }
  const bad = new Uint8Array(n);
  const drop = new Uint8Array(n);
  const fns = new Set<string>();
  for (const f of failures.entries) {
    fns.add(f.fn);
    for (let i = 0; i < n; i++) {
      bad[i]! |= f.rows[i]!;
      if (f.mode === 'dropMalformed') drop[i]! |= f.rows[i]!;
    }
  }
  const badRows = rowsWhere(bad, 1);
  if (badRows.length > 0) {
    ctx.deadLetters?.add(gatherBatch(batch, schema, badRows), schema, `malformed input for ${[...fns].join('/')}() ${where}`);
  }
  return drop.includes(1) ? drop : null;
}

/**
 * The indices of the rows whose flag is `flag` (0 or 1), as a selection vector.
 *
 * @example
 * rowsWhere(new Uint8Array([1, 0, 1]), 0); // Int32Array [1]
 */
export function rowsWhere(flags: Uint8Array, flag: 0 | 1): Int32Array {
  let count = 0;
  for (let i = 0; i < flags.length; i++) if (flags[i] === flag) count++;
  const out = new Int32Array(count);
  for (let i = 0, k = 0; i < flags.length; i++) if (flags[i] === flag) out[k++] = i;
  return out;
}
