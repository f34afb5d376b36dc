/**
 * Join types and the names users may spell them with (Spark's `JoinType.apply`: case and `_` ignored).
 *
 * @module
 */
import { AnalysisError } from './resolve-expr.js';

/** The join types sluice runs, in Spark's canonical spelling. */
export type JoinType = 'inner' | 'leftOuter' | 'rightOuter' | 'fullOuter' | 'leftSemi' | 'leftAnti' | 'cross';

const ALIASES: Readonly<Record<string, JoinType>> = {
  inner: 'inner',
  outer: 'fullOuter',
  full: 'fullOuter',
  fullouter: 'fullOuter',
  leftouter: 'leftOuter',
  left: 'leftOuter',
  rightouter: 'rightOuter',
  right: 'rightOuter',
  leftsemi: 'leftSemi',
  semi: 'leftSemi',
  leftanti: 'leftAnti',
  anti: 'leftAnti',
  cross: 'cross',
};

/** The names `parseJoinType` accepts, for messages. */
export const JOIN_TYPE_NAMES: readonly string[] = [
  'inner',
  'outer',
  'full',
  'fullouter',
  'full_outer',
  'leftouter',
  'left',
  'left_outer',
  'rightouter',
  'right',
  'right_outer',
  'leftsemi',
  'left_semi',
  'semi',
  'leftanti',
  'left_anti',
  'anti',
  'cross',
];

/**
 * Reads a join type as Spark does: lower-cased, underscores removed (`left_outer`, `LeftOuter`, `left` are one type).
 * Anything else is refused with the list of accepted names (Spark's `UNSUPPORTED_JOIN_TYPE`).
 *
 * @example
 * parseJoinType('left_outer'); // 'leftOuter'
 * parseJoinType('full');       // 'fullOuter'
 */
export function parseJoinType(name: string): JoinType {
  const t = ALIASES[String(name).toLowerCase().replace(/_/g, '')];
  if (t === undefined) {
    throw new AnalysisError(
      `[UNSUPPORTED_JOIN_TYPE] Unsupported join type '${name}'. Supported join types include: ${JOIN_TYPE_NAMES.map((n) => `'${n}'`).join(', ')}.`,
    );
  }
  return t;
}

/** Whether the join keeps left rows without a match (null-padding the right side). */
export function preservesLeft(t: JoinType): boolean {
  return t === 'leftOuter' || t === 'fullOuter';
}

/** Whether the join keeps right rows without a match (null-padding the left side). */
export function preservesRight(t: JoinType): boolean {
  return t === 'rightOuter' || t === 'fullOuter';
}

/** Whether the output has the left side's columns only (semi and anti joins). */
export function leftColumnsOnly(t: JoinType): boolean {
  return t === 'leftSemi' || t === 'leftAnti';
}

/** Spark's display name of a join type, as `explain()` shows it: `LeftOuter`, `FullOuter`, `LeftSemi`. */
export function joinTypeName(t: JoinType): string {
  return t === 'inner' ? 'Inner' : t === 'cross' ? 'Cross' : t[0]!.toUpperCase() + t.slice(1);
}
