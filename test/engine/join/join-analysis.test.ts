/**
 * Join resolution: aliases and qualified names, ambiguity, using columns, join type names, equi-key extraction, and
 * timestamp ± interval.
 */
import { describe, expect, it } from 'vitest';
import { AmbiguousColumnError, AnalysisError, col, interval, lit, parseJoinType, Session } from '../../../engine/index.js';
import { analyzeJoin } from '../../../engine/logical/join-analysis.js';
import type { JoinNode } from '../../../engine/logical/plan.js';
import { errorOf } from '../../helpers/error-of.js';

const session = new Session();
const orders = session.createDataFrame([{ id: 1, cust: 'a', amount: 2.5, ts: 0 }], { id: 'long', cust: 'string', amount: 'double', ts: 'timestamp' });
const customers = session.createDataFrame([{ id: 'a', name: 'Ann', since: 0 }], { id: 'string', name: 'string', since: 'timestamp' });
const payments = session.createDataFrame([{ id: 1, orderId: 1, paid: 2.5 }], { id: 'long', orderId: 'long', paid: 'double' });

describe('join types', () => {
  it("accepts Spark's spellings, case and underscores ignored", () => {
    expect(parseJoinType('left_outer')).toBe('leftOuter');
    expect(parseJoinType('LeftOuter')).toBe('leftOuter');
    expect(parseJoinType('left')).toBe('leftOuter');
    expect(parseJoinType('outer')).toBe('fullOuter');
    expect(parseJoinType('full_outer')).toBe('fullOuter');
    expect(parseJoinType('semi')).toBe('leftSemi');
    expect(parseJoinType('anti')).toBe('leftAnti');
    expect(parseJoinType('RIGHT')).toBe('rightOuter');
    expect(parseJoinType('cross')).toBe('cross');
  });
  it('refuses an unknown type, listing the accepted ones', () => {
    const e = errorOf(() => parseJoinType('sideways'));
    expect(e).toBeInstanceOf(AnalysisError);
    expect(e.message).toContain('UNSUPPORTED_JOIN_TYPE');
    expect(e.message).toContain("'left_outer'");
    expect(errorOf(() => orders.join(payments, 'id', 'sideways')).message).toContain("Unsupported join type 'sideways'");
  });
});

describe('output columns', () => {
  it('a condition join keeps every left column, then every right column', () => {
    const j = orders.alias('o').join(payments.alias('p'), col('o.id').eq(col('p.orderId')));
    expect(j.schema.fields.map((f) => `${f.qualifier}.${f.name}`)).toEqual(['o.id', 'o.cust', 'o.amount', 'o.ts', 'p.id', 'p.orderId', 'p.paid']);
  });
  it('semi and anti joins keep the left columns only', () => {
    for (const how of ['leftSemi', 'anti']) {
      expect(orders.join(payments, col('amount').eq(col('paid')), how).columns).toEqual(['id', 'cust', 'amount', 'ts']);
    }
  });
  it('an outer join makes the padded side nullable', () => {
    const l = session.createDataFrame([{ k: 1 }], { fields: [{ name: 'k', type: 'long', nullable: false }] });
    const r = session.createDataFrame([{ j: 1 }], { fields: [{ name: 'j', type: 'long', nullable: false }] });
    const nullable = (how: string) => l.join(r, col('k').eq(col('j')), how).schema.fields.map((f) => f.nullable);
    expect(nullable('inner')).toEqual([false, false]);
    expect(nullable('left')).toEqual([false, true]);
    expect(nullable('right')).toEqual([true, false]);
    expect(nullable('full')).toEqual([true, true]);
  });
  it('using columns come first, once: the left one, the right one for right joins, both coalesced for full joins', () => {
    const l = session.createDataFrame([{ a: 1, k: 1, x: 'l' }], { a: 'long', k: 'long', x: 'string' });
    const r = session.createDataFrame([{ k: 1, b: 2, x: 'r' }], { k: 'int', b: 'long', x: 'string' });
    expect(l.join(r, 'k').columns).toEqual(['k', 'a', 'x', 'b', 'x']);
    expect(l.join(r, ['k', 'x'], 'semi').columns).toEqual(['k', 'x', 'a']);
    const node = (how: string) => l.join(r, 'k', how).plan as JoinNode;
    expect(analyzeJoin(node('inner')).output[0]).toEqual({ from: 'left', ordinal: 1 });
    expect(analyzeJoin(node('right')).output[0]).toEqual({ from: 'right', ordinal: 0 });
    expect(analyzeJoin(node('full')).output[0]).toEqual({ from: 'coalesce', left: 1, right: 0, type: 'long' });
    // The key is compared in the wider type.
    expect(analyzeJoin(node('inner')).keys[0]!.type).toBe('long');
  });
  it('a using column missing on one side names the side and lists its columns', () => {
    const e = errorOf(() => orders.join(customers, 'cust'));
    expect(e.message).toContain("Column 'cust' does not exist in the right input of join(…, using)");
    expect(e.message).toContain('id, name, since');
  });
});

describe('names after a join', () => {
  const j = orders.alias('o').join(customers.alias('c'), col('o.cust').eq(col('c.id')));
  it('a qualified name reaches its side; an unqualified unique one resolves', () => {
    const out = j.select(col('o.id').as('orderId'), col('c.id').as('custId'), 'name');
    expect(out.columns).toEqual(['orderId', 'custId', 'name']);
    expect(out.schema.fields.map((f) => f.type)).toEqual(['long', 'string', 'string']);
  });
  it('an ambiguous name is refused with its candidates', () => {
    const e = errorOf(() => j.select('id'));
    expect(e).toBeInstanceOf(AmbiguousColumnError);
    expect(e.message).toContain("Reference 'id' is ambiguous, could be: o.id, c.id");
    expect(e.message).toContain("col('o.id')");
  });
  it('without aliases the message says how to name the inputs', () => {
    const e = errorOf(() => orders.join(customers, col('cust').eq(col('name'))).select('id'));
    expect(e.message).toContain('df.alias(');
  });
  it('an alias that does not exist lists the qualified columns', () => {
    const e = errorOf(() => j.select('x.id'));
    expect(e.message).toContain("Column 'x.id' does not exist");
    expect(e.message).toContain('o.id');
  });
  it('a condition must be boolean', () => {
    expect(errorOf(() => orders.join(payments, col('amount').plus(1))).message).toContain('The join condition must be a boolean');
  });
  it('selecting every column of a join with repeated names is allowed (the names are refused only where written)', () => {
    expect(orders.join(payments, col('amount').eq(col('paid'))).select('*').columns).toEqual(['id', 'cust', 'amount', 'ts', 'id', 'orderId', 'paid']);
  });
});

describe('equi-keys', () => {
  it('equalities across the sides are keys; the other conjuncts are split by side', () => {
    const j = orders.alias('o').join(
      payments.alias('p'),
      col('o.id')
        .eq(col('p.orderId'))
        .and(col('p.paid').gt(1))
        .and(col('o.amount').geq(col('p.paid')))
        .and(col('o.cust').ne('x'))
        .and(col('p.id').eqNullSafe(col('o.id'))),
      'left',
    );
    const a = analyzeJoin(j.plan as JoinNode);
    expect(a.keys.map((k) => [k.text, k.nullSafe])).toEqual([
      ['(o.id = p.orderId)', false],
      ['(p.id <=> o.id)', true],
    ]);
    // The second key's sides are swapped to left/right, each over its own input's columns.
    expect(a.keys[1]!.left).toEqual({ k: 'ref', ordinal: 0, path: [], type: 'long' });
    expect(a.keys[1]!.right).toEqual({ k: 'ref', ordinal: 0, path: [], type: 'long' });
    expect(a.conjuncts.map((c) => c.side)).toEqual(['both', 'right', 'both', 'left', 'both']);
    expect(a.leftCondition).not.toBeNull();
    expect(a.rightCondition).not.toBeNull();
    expect(a.residual).not.toBeNull();
  });
});

describe('timestamp ± interval', () => {
  it('moves a timestamp by a fixed duration', async () => {
    const rows = await orders
      .select(col('ts').plus(interval('1 hour')).as('later'), col('ts').minus(interval('90 seconds')).as('earlier'), interval('1 day').plus(col('ts')).as('t2'))
      .collect();
    expect(rows).toEqual([{ later: new Date(3_600_000), earlier: new Date(-90_000), t2: new Date(86_400_000) }]);
    expect(orders.select(col('ts').plus(interval('1 hour')).as('t')).schema.fields[0]!.type).toBe('timestamp');
  });
  it('is refused anywhere but next to a timestamp, with the fix', () => {
    expect(errorOf(() => orders.select(interval('1 hour'))).message).toContain("can only be added to or subtracted from a timestamp");
    expect(errorOf(() => orders.select(col('amount').plus(interval('1 hour')))).message).toContain('an interval can only move a timestamp');
    expect(errorOf(() => orders.select(interval('1 hour').minus(col('ts')))).message).toContain('can only be added to or subtracted from');
    expect(errorOf(() => orders.select(col('ts').mul(interval('1 hour')))).message).toContain('can only be added to or subtracted from');
    void lit;
  });
});
