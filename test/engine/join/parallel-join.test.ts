/**
 * A big batch join split by key hash onto two worker threads gives the rows of the same join on the calling thread:
 * every join type, keys of two types that meet only after the key's cast (int = long), string keys, null keys, a hot
 * key, a residual and one-side conjuncts, and a full outer using join.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { col, Session, type Column, type DataFrame } from '../../../engine/index.js';
import { workerFaults } from '../../../engine/workers/pool.js';
import { PARALLEL_JOIN_THRESHOLD_FACTOR } from '../../../engine/physical/parallel-join.js';
import { prng } from '../../helpers/prng.js';
import { normalizeRows } from '../../helpers/stream-test.js';

const THRESHOLD = 500;
const KEYS = 5_000;

function rows(seed: number, n: number, hot: number): Record<string, unknown>[] {
  const r = prng(seed);
  return Array.from({ length: n }, (_, i) => {
    const b = r() < hot ? 3 : Math.floor(r() * KEYS);
    return { id: i, ki: r() < 0.03 ? null : b, kl: r() < 0.03 ? null : b, ks: r() < 0.03 ? null : `s${b % 2000}`, x: Math.floor(r() * 100) };
  });
}

function session(parallelism: number): Session {
  return new Session({ conf: { parallelism, parallelThresholdRows: THRESHOLD } });
}

const L_ROWS = rows(5, 30_000, 0.01);
const R_ROWS = rows(6, 20_000, 0.005);

function sides(s: Session): [DataFrame, DataFrame] {
  return [
    s.createDataFrame(L_ROWS, { id: 'int', ki: 'int', kl: 'long', ks: 'string', x: 'int' }).alias('l'),
    s.createDataFrame(R_ROWS, { id: 'int', ki: 'int', kl: 'long', ks: 'string', x: 'int' }).alias('r'),
  ];
}

/** Every column under a distinct name (`l_id`, `r_id`): a result whose names repeat cannot be collected. */
function flat(df: DataFrame): DataFrame {
  return df.select(...df.schema.fields.map((f) => col(f.qualifier !== undefined ? `${f.qualifier}.${f.name}` : f.name).as(`${f.qualifier ?? ''}_${f.name}`)));
}

afterEach(() => {
  workerFaults.next = null;
});

const CONDITIONS: readonly [string, () => Column][] = [
  ['an int key against a long key, with a residual', () => col('l.ki').eq(col('r.kl')).and(col('l.x').lt(col('r.x')))],
  ['a string key and one-side conjuncts', () => col('l.ks').eq(col('r.ks')).and(col('l.x').gt(50)).and(col('r.x').lt(20))],
];

describe('a batch join on two worker threads', () => {
  it('is big enough here to run on the workers (a failing join task fails the query)', async () => {
    expect(L_ROWS.length + R_ROWS.length).toBeGreaterThanOrEqual(PARALLEL_JOIN_THRESHOLD_FACTOR * THRESHOLD);
    const [l, r] = sides(session(2));
    workerFaults.next = { task: 'join', mode: 'throw' };
    await expect(l.join(r, col('l.ki').eq(col('r.ki'))).count()).rejects.toThrow(/injected worker fault in 'join'/);
  });

  for (const [name, on] of CONDITIONS) {
    for (const how of ['inner', 'left', 'right', 'full', 'semi', 'anti']) {
      it(`${how}: ${name}, the same rows as inline`, async () => {
        const [l1, r1] = sides(session(1));
        const [l2, r2] = sides(session(2));
        const one = await flat(l1.join(r1, on(), how)).collect();
        const two = await flat(l2.join(r2, on(), how)).collect();
        expect(one.length).toBeGreaterThan(0);
        expect(two.length).toBe(one.length);
        expect(normalizeRows(two)).toEqual(normalizeRows(one));
      }, 60_000);
    }
  }

  it('full outer using join: the coalesced key columns, the same rows as inline', async () => {
    const [l1, r1] = sides(session(1));
    const [l2, r2] = sides(session(2));
    const one = await flat(l1.join(r1, ['ki', 'ks'], 'full')).collect();
    const two = await flat(l2.join(r2, ['ki', 'ks'], 'full')).collect();
    expect(Object.keys(one[0]!)).toEqual(['_ki', '_ks', 'l_id', 'l_kl', 'l_x', 'r_id', 'r_kl', 'r_x']);
    expect(normalizeRows(two)).toEqual(normalizeRows(one));
  }, 60_000);
});
