/**
 * Which join types run with exactly one streaming side (Spark's UnsupportedOperationChecker): every combination of join
 * type and streaming side, the allowed ones passing the check and the refused ones with their exact message and fix.
 */
import { describe, expect, it } from 'vitest';
import { col, MemoryStream, Session, type DataFrame } from '../../../engine/index.js';
import { checkStreamingPlan, checkStreamStaticJoin, UnsupportedOperationError } from '../../../engine/logical/unsupported-operations.js';
import type { JoinNode } from '../../../engine/logical/plan.js';

const session = new Session();
const stream = new MemoryStream(session, { id: 'long', v: 'double' }).toDF();
const table = session.createDataFrame([{ id: 1, name: 'a' }], { id: 'long', name: 'string' });

const TYPES = ['inner', 'cross', 'leftOuter', 'rightOuter', 'fullOuter', 'leftSemi', 'leftAnti'] as const;
type How = (typeof TYPES)[number];

function joined(left: DataFrame, right: DataFrame, how: How): DataFrame {
  return how === 'cross' ? left.crossJoin(right) : left.join(right, 'id', how);
}

function messageOf(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(UnsupportedOperationError);
    return (e as Error).message;
  }
}

/** What each combination gives: null when allowed, else the exact message. */
const EXPECTED: Record<'streamLeft' | 'streamRight', Record<How, string | null>> = {
  streamLeft: {
    inner: null,
    cross: null,
    leftOuter: null,
    leftSemi: null,
    leftAnti: null,
    rightOuter:
      'RightOuter join with a streaming DataFrame/Dataset on the left and a static DataFrame/Dataset on the right is not supported. ' +
      "The rows of the static side cannot be kept unmatched before the stream ends: put the stream on the right, table.join(stream, on, 'rightOuter'), " +
      "or write stream.join(table, on, 'leftOuter') (every stream row, matched or not).",
    fullOuter:
      'FullOuter join with a streaming DataFrame/Dataset on the left and a static DataFrame/Dataset on the right is not supported. ' +
      "The unmatched rows of the static side cannot be known before the stream ends: keep every stream row with stream.join(table, on, 'leftOuter') " +
      "(the stream on the left), or join them 'inner'.",
  },
  streamRight: {
    inner: null,
    cross: null,
    rightOuter: null,
    leftOuter:
      'LeftOuter join with a streaming DataFrame/Dataset on the right and a static DataFrame/Dataset on the left is not supported. ' +
      "The rows of the static side cannot be kept unmatched before the stream ends: put the stream on the left, stream.join(table, on, 'leftOuter') " +
      "(every stream row, matched or not), or join them 'inner'.",
    leftSemi:
      'LeftSemi join with a streaming DataFrame/Dataset on the right and a static DataFrame/Dataset on the left is not supported. ' +
      "The rows of the static side cannot be tested for a match before the stream ends: put the stream on the left, stream.join(table, on, 'leftSemi') " +
      "(every stream row that has a match), or join them 'inner'.",
    leftAnti:
      'LeftAnti join with a streaming DataFrame/Dataset on the right and a static DataFrame/Dataset on the left is not supported. ' +
      "Whether a static row never has a match cannot be known before the stream ends: put the stream on the left, stream.join(table, on, 'leftAnti') " +
      '(the stream rows without a match in the table).',
    fullOuter:
      'FullOuter join with a streaming DataFrame/Dataset on the right and a static DataFrame/Dataset on the left is not supported. ' +
      "The unmatched rows of the static side cannot be known before the stream ends: keep every stream row with stream.join(table, on, 'leftOuter') " +
      "(the stream on the left), or join them 'inner'.",
  },
};

describe('stream–static joins: which join types run with which side streaming', () => {
  for (const side of ['streamLeft', 'streamRight'] as const) {
    for (const how of TYPES) {
      const expected = EXPECTED[side][how];
      it(`${how} with the stream on the ${side === 'streamLeft' ? 'left' : 'right'}: ${expected === null ? 'allowed' : 'refused'}`, () => {
        const df = side === 'streamLeft' ? joined(stream, table, how) : joined(table, stream, how);
        expect(messageOf(() => checkStreamStaticJoin(df.plan as JoinNode))).toBe(expected);
        // The same verdict from the whole query's check, which start() runs.
        expect(messageOf(() => checkStreamingPlan(df.plan, 'append'))).toBe(expected);
      });
    }
  }

  it('checks a join below other operators, and leaves batch–batch joins alone', () => {
    const below = table.join(stream, 'id', 'leftOuter').select('id').where(col('id').gt(0));
    expect(messageOf(() => checkStreamingPlan(below.plan, 'append'))).toMatch(/^LeftOuter join with a streaming DataFrame\/Dataset on the right/);
    expect(messageOf(() => checkStreamStaticJoin(table.join(table.alias('t'), 'id', 'fullOuter').plan as JoinNode))).toBeNull();
  });

  it('refuses the query at start()', () => {
    expect(() => table.join(stream, 'id', 'fullOuter').writeStream.format('memory').queryName('refused').start()).toThrow(
      /^FullOuter join with a streaming DataFrame\/Dataset on the right and a static DataFrame\/Dataset on the left is not supported\./,
    );
  });
});
