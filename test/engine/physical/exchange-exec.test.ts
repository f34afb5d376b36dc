import { describe, expect, it } from 'vitest';
import { col, count, max, MemoryStream, Session, sessionWindow, sum, window } from '../../../engine/index.js';
import { planPhysical } from '../../../engine/planner/planner.js';
import { ExchangeExec } from '../../../engine/physical/exchange-exec.js';
import { collectBatches, type ExecContext } from '../../../engine/physical/exec-node.js';
import { FailedLoginDetector } from '../processor/processors.js';

const schema = { user: 'string', region: 'string', amount: 'double', ts: 'timestamp' } as const;
const rows = [
  { user: 'a', region: 'eu', amount: 1, ts: 1_000 },
  { user: 'b', region: 'us', amount: 2, ts: 2_000 },
  { user: 'a', region: 'eu', amount: 3, ts: 61_000 },
];

describe('The exchange in explain()', () => {
  const session = new Session({ conf: { parallelism: 3 } });
  const df = () => session.createDataFrame(rows, schema);

  it('prints hashpartitioning by the grouping keys (not the window) with the session parallelism, between a window aggregation and its child', () => {
    const text = df().where(col('amount').gt(0)).groupBy(window(col('ts'), '1 minute'), col('user'), col('region')).agg(count('*').as('n')).explain({ print: false });
    expect(text.split('\n').slice(0, 3)).toEqual([
      'WindowAggregateExec: window=tumbling(1 minute) keys=[user, region] aggs=[n]',
      '  Exchange: hashpartitioning(user, region, 3)',
      '    FilterExec: (amount > 0)',
    ]);
  });

  it('is there for a plain groupBy, a session window and a deduplication, each naming its keys', () => {
    expect(df().groupBy('region').agg(sum('amount').as('total')).explain({ print: false }).split('\n')[1]).toBe('  Exchange: hashpartitioning(region, 3)');
    const sessions = df().groupBy(sessionWindow(col('ts'), '10 seconds'), col('user')).agg(max('amount').as('m')).explain({ print: false });
    expect(sessions.split('\n').slice(0, 2)).toEqual(['SessionWindowExec: gap=10 seconds keys=[user] aggs=[m]', '  Exchange: hashpartitioning(user, 3)']);
    expect(df().dropDuplicates(['user', 'ts']).explain({ print: false }).split('\n').slice(0, 2)).toEqual([
      'DedupExec: keys=[user, ts]',
      '  Exchange: hashpartitioning(user, ts, 3)',
    ]);
    // Every column when no column is named.
    expect(df().distinct().explain({ print: false }).split('\n')[1]).toBe('  Exchange: hashpartitioning(user, region, amount, ts, 3)');
  });

  it('is there for groupByKey(...).transformWithState(...), naming the grouping columns', () => {
    const text = df()
      .groupByKey(col('user'), col('region'))
      .transformWithState(FailedLoginDetector, { outputSchema: { user: 'string', reason: 'string', at: 'timestamp' } })
      .explain({ print: false });
    expect(text.split('\n').slice(0, 3)).toEqual([
      'TransformWithStateExec: keys=[user, region] processor=FailedLoginDetector timeMode=none outputMode=append',
      '  Exchange: hashpartitioning(user, region, 3)',
      '    ScanExec: LocalRelation (3 rows) [user, region, amount, ts]',
    ]);
  });

  it('is one partition for an aggregation without keys', () => {
    const text = df().agg(count('*').as('n')).explain({ print: false });
    expect(text.split('\n').slice(0, 2)).toEqual(['WindowAggregateExec: window=none keys=[] aggs=[n]', '  Exchange: SinglePartition']);
  });

  it('stands between every stateful operator and its child, and nowhere else', () => {
    const text = df()
      .withWatermark('ts', '1 minute')
      .dropDuplicates(['user', 'ts'])
      .groupBy(window(col('ts'), '1 minute'), col('user'))
      .agg(count('*').as('n'))
      .select('user', 'n')
      .explain({ print: false });
    const lines = text.split('\n').map((l) => l.trim().split(':')[0]);
    expect(lines).toEqual(['ProjectExec', 'WindowAggregateExec', 'Exchange', 'DedupExec', 'Exchange', 'EventTimeWatermarkExec', 'ScanExec']);
  });

  it('names the parallelism as unknown when the plan is built without a run', () => {
    const plan = df().groupBy('user').agg(count('*').as('n')).plan;
    expect(planPhysical(plan).toString().split('\n')[1]).toBe('  Exchange: hashpartitioning(user, <parallelism>)');
    expect(planPhysical(plan, { parallelism: 4 }).toString().split('\n')[1]).toBe('  Exchange: hashpartitioning(user, 4)');
  });

  it("is in a streaming query's plan with the query's parallelism, before and after it starts", async () => {
    const s = new Session({ conf: { parallelism: 2 } });
    const input = new MemoryStream(s, { user: 'string', ts: 'timestamp' });
    const q = input.toDF().groupBy('user').agg(count('*').as('n')).writeStream.format('memory').queryName('exchange_explain').outputMode('complete').start();
    try {
      input.addData([{ user: 'a', ts: 1 }]);
      await q.processAllAvailable();
      expect(q.explain({ print: false }).split('\n').slice(0, 2)).toEqual([
        'WindowAggregateExec: window=none keys=[user] aggs=[n]',
        '  Exchange: hashpartitioning(user, 2)',
      ]);
      expect(await s.table('exchange_explain').collect()).toEqual([{ user: 'a', n: 1 }]);
    } finally {
      await q.stop();
    }
  });
});

describe('ExchangeExec', () => {
  it("executes as its child: the same batches, unchanged, and the child's schema", async () => {
    const session = new Session({ conf: { parallelism: 1 } });
    const scan = planPhysical(session.createDataFrame(rows, schema).plan);
    const exchange = new ExchangeExec(scan, ['user'], 2);
    const ctx = { batchId: 0, streaming: false, env: { batchTimestampMs: 0 }, inputs: new Map() } as unknown as ExecContext;
    const direct = await collectBatches(scan.execute(ctx));
    const through = await collectBatches(exchange.execute(ctx));
    expect(through.map((b) => b.numRows)).toEqual(direct.map((b) => b.numRows));
    expect(through.flatMap((b) => b.toArray().map((r) => r.toJSON()))).toEqual(direct.flatMap((b) => b.toArray().map((r) => r.toJSON())));
    expect(exchange.schema).toBe(scan.schema);
    expect(exchange.children).toEqual([scan]);
  });
});
