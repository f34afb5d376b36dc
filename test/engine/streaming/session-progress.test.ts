import { describe, expect, it } from 'vitest';
import { col, count, MemoryStream, Session, sessionWindow } from '../../../engine/index.js';

describe('Session windows in progress', () => {
  it('counts each created or changed session once per batch, and not a session merged away in the same batch', async () => {
    const session = new Session({ conf: { parallelism: 1 } });
    const input = new MemoryStream(session, { user: 'string', ts: 'timestamp' });
    const q = input.toDF().groupBy(sessionWindow(col('ts'), '10 seconds'), col('user')).agg(count('*').as('n'))
      .writeStream.format('memory').queryName('sessprog').outputMode('complete').start();
    const updated = () => q.lastProgress!.stateOperators[0]!;
    input.addData([{ user: 'a', ts: 0 }, { user: 'a', ts: 5000 }, { user: 'b', ts: 100_000 }]);
    await q.processAllAvailable();
    expect(updated()).toMatchObject({ numRowsTotal: 2, numRowsUpdated: 2 });
    // A new session for a; b untouched.
    input.addData([{ user: 'a', ts: 60_000 }]);
    await q.processAllAvailable();
    expect(updated()).toMatchObject({ numRowsTotal: 3, numRowsUpdated: 1 });
    // One batch of two chunks: the first creates a's session [30 s, 40 s); the second bridges [0, 15 s) to it and on
    // to [60 s, 70 s), so the two later sessions fold into the first: one session changed, none counted twice.
    input.addData([{ user: 'a', ts: 30_000 }]);
    input.addData([{ user: 'a', ts: 15_000 }, { user: 'a', ts: 22_000 }, { user: 'a', ts: 38_000 }, { user: 'a', ts: 45_000 }, { user: 'a', ts: 52_000 }]);
    await q.processAllAvailable();
    expect(updated()).toMatchObject({ numRowsTotal: 2, numRowsUpdated: 1 });
    const rows = (await session.table('sessprog').collect()).map((r) => [r['user'], r['n']]);
    expect(rows.sort()).toEqual([['a', 9], ['b', 1]]);
    await q.stop();
  });
});
