/**
 * The `state` batch format: a checkpoint's state as a DataFrame, like Spark's state data source.
 *
 * ```ts
 * const fails = session.read.format('state')
 *   .option('operatorId', 0)        // default 0: the query's first stateful operator
 *   .option('batchId', 7)           // default: the last committed batch
 *   .option('stateVarName', 'fails') // alias storeName; default: the operator's first table
 *   .load('checkpoints/logins');
 * await fails.where(col('partition_id').eq(1)).show();
 * ```
 *
 * Rows are the table's key columns, then its value columns, then `partition_id` (int): flat, not nested into Spark's
 * `key` / `value` structs, so `where`, `groupBy` and `select` name state columns directly. The rows are the state
 * after batch `batchId` (state version `batchId + 1`), from every partition that wrote it. Errors are
 * `StateReadError`s that name what exists (operators, tables, batches that can be read), raised by `load()`.
 *
 * @module
 */
import { defaultFormats, type ReadRequest } from '../../engine/io/format-registry.js';
import { planStateRead, readStateRows, stateRowSchema, StateReadError, type StateReadPlan } from '../../engine/state/state-reader.js';

/** An option of the `state` format that is unknown or not a valid value. */
export class StateSourceOptionError extends StateReadError {
  override readonly name = 'StateSourceOptionError';
}

/** Spark's option names this format reads (case-insensitive, as Spark's). */
const OPTIONS = ['operatorId', 'batchId', 'stateVarName', 'storeName', 'path'] as const;

function wholeNumber(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) {
    throw new StateSourceOptionError(`The state format's option ${name} is '${value}': it takes a whole number ≥ 0, e.g. .option('${name}', 0).`);
  }
  return n;
}

/**
 * The read a `state` format request asks for.
 *
 * @example
 * stateReadOf({ format: 'state', path: 'ckpt', schema: null, options: { operatorId: '0' } }).table.name; // ''
 */
export function stateReadOf(req: ReadRequest): StateReadPlan {
  const o: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.options)) {
    const known = OPTIONS.find((n) => n.toLowerCase() === k.toLowerCase());
    if (known === undefined) {
      throw new StateSourceOptionError(`The state format has no option '${k}'. Its options: ${OPTIONS.filter((n) => n !== 'path').join(', ')}.`);
    }
    o[known] = v;
  }
  const path = req.path ?? o['path'];
  if (!path) throw new StateSourceOptionError("The state format needs the checkpoint folder: load('checkpoints/my-query').");
  if (req.schema !== null) {
    throw new StateSourceOptionError("The state format takes its schema from the checkpoint: remove .schema(…).");
  }
  if (o['stateVarName'] !== undefined && o['storeName'] !== undefined && o['stateVarName'] !== o['storeName']) {
    throw new StateSourceOptionError(`stateVarName '${o['stateVarName']}' and storeName '${o['storeName']}' name different tables: set one of them.`);
  }
  const table = o['stateVarName'] ?? o['storeName'];
  return planStateRead(path, {
    ...(o['operatorId'] !== undefined ? { operatorId: wholeNumber('operatorId', o['operatorId']) } : {}),
    ...(o['batchId'] !== undefined ? { batchId: wholeNumber('batchId', o['batchId']) } : {}),
    ...(table !== undefined ? { table } : {}),
  });
}

defaultFormats.register({
  name: 'state',
  batchScan(req) {
    const plan = stateReadOf(req);
    const name = plan.table.name === '' ? '' : `/${plan.table.name}`;
    return {
      schema: stateRowSchema(plan.table),
      description: `StateScan[${plan.checkpoint} operator ${plan.operator.operatorId}${name} @ batch ${plan.batchId}]`,
      scan: () => readStateRows(plan),
    };
  },
});
