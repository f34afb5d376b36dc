/**
 * Stream–static joins: a stream enriched from a Parquet file and from a Delta table, inner and left outer (stream on
 * the left) and inner with the stream on the right, across several micro-batches and a restart. The static side is
 * read once per run (a changed Parquet file is seen after a restart, not before), a Delta table read at its newest
 * version is read again when its version changed, the join keeps no state, and only the stream's rows count as input.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { col, MemoryStream, Session, sum, type DataFrame } from '../../../engine/index.js';
import { writeParquetFile } from '../../../connectors/parquet/index.js';
import { batchFromRows } from '../../../engine/types/values.js';
import { schemaOf } from '../../../engine/types/data-type.js';
import type { BatchScan } from '../../../engine/io/source.js';
import { addData, assertProgress, checkNewAnswer, processAllAvailable, startStream, stopStream, testStream } from '../../helpers/stream-test.js';

const CUSTOMERS = { cid: 'long', name: 'string', tier: 'string' } as const;
const ORDERS = { oid: 'long', cust: 'long', amount: 'double' } as const;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-stream-static-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function writeCustomers(path: string, rows: Record<string, unknown>[]): Promise<void> {
  await writeParquetFile(path, [batchFromRows(rows, schemaOf(CUSTOMERS))], { schema: schemaOf(CUSTOMERS) });
}

const order = (oid: number, cust: number | null, amount: number) => ({ oid, cust, amount });

describe('a stream enriched from a Parquet file', () => {
  it('left outer: every order once, customers read once per run; a restart reads the changed file', async () => {
    const session = new Session({ conf: { parallelism: 1 } });
    const file = join(dir, 'customers.parquet');
    await writeCustomers(file, [
      { cid: 1, name: 'Ann', tier: 'gold' },
      { cid: 2, name: 'Bob', tier: 'silver' },
      { cid: 2, name: 'Bob2', tier: 'dup' },
    ]);
    const customers = session.read.parquet(file).alias('c');
    const input = new MemoryStream(session, ORDERS);
    const df = input.toDF().alias('o').join(customers, col('o.cust').eq(col('c.cid')), 'left_outer').select('oid', 'name');
    expect(df.explain({ print: false })).toContain('HashJoinExec: LeftOuter, keys [(o.cust = c.cid)], build right, stream left, static right read once per run');
    const checkpoint = join(dir, 'ckpt');
    await testStream(df, { checkpoint }, [
      addData(input, [order(10, 1, 5), order(11, 3, 1), order(12, null, 2)]),
      processAllAvailable(),
      checkNewAnswer([
        { oid: 10, name: 'Ann' },
        { oid: 11, name: null },
        { oid: 12, name: null },
      ]),
      addData(input, [order(13, 2, 7)]),
      checkNewAnswer([
        { oid: 13, name: 'Bob' },
        { oid: 13, name: 'Bob2' },
      ]),
      assertProgress('only the stream rows are input rows', (last) => expect(last.numInputRows).toBe(1)),
      // The file changes: this run keeps the table it built.
      {
        name: 'rewrite customers.parquet (customer 3 appears, Ann renamed)',
        run: () =>
          writeCustomers(file, [
            { cid: 1, name: 'Anna', tier: 'gold' },
            { cid: 3, name: 'Cy', tier: 'new' },
          ]),
      },
      addData(input, [order(14, 3, 1), order(15, 1, 1)]),
      checkNewAnswer([
        { oid: 14, name: null },
        { oid: 15, name: 'Ann' },
      ]),
      stopStream(),
      startStream(),
      addData(input, [order(16, 3, 1), order(17, 1, 1), order(18, 2, 1)]),
      checkNewAnswer([
        { oid: 16, name: 'Cy' },
        { oid: 17, name: 'Anna' },
        { oid: 18, name: null },
      ]),
    ]);
    // No state: the join is stateless, the checkpoint has no state folder.
    expect(existsSync(join(checkpoint, 'state'))).toBe(false);
  });

  it('inner join with the stream on the right: the static left side is the build side', async () => {
    const session = new Session({ conf: { parallelism: 1 } });
    const file = join(dir, 'customers.parquet');
    await writeCustomers(file, [
      { cid: 1, name: 'Ann', tier: 'gold' },
      { cid: 2, name: 'Bob', tier: 'silver' },
    ]);
    const input = new MemoryStream(session, ORDERS);
    const df = session.read
      .parquet(file)
      .join(input.toDF(), col('cid').eq(col('cust')).and(col('amount').gt(1)))
      .select('name', 'oid');
    expect(df.explain({ print: false })).toContain('HashJoinExec: Inner, keys [(cid = cust)], condition (amount > 1), build left, stream right');
    await testStream(df, { checkpoint: join(dir, 'ckpt') }, [
      addData(input, [order(1, 1, 5), order(2, 2, 0.5), order(3, 2, 3)]),
      checkNewAnswer([
        { name: 'Ann', oid: 1 },
        { name: 'Bob', oid: 3 },
      ]),
      addData(input, [order(4, 9, 5), order(5, 1, 9)]),
      checkNewAnswer([{ name: 'Ann', oid: 5 }]),
    ]);
  });
});

describe('left semi and left anti with the stream on the left', () => {
  it('keep the orders with (semi) or without (anti) a customer, once each', async () => {
    const session = new Session({ conf: { parallelism: 1 } });
    const customers = session.createDataFrame(
      [
        { cid: 1, name: 'Ann', tier: 'gold' },
        { cid: 1, name: 'Ann again', tier: 'gold' },
        { cid: 2, name: 'Bob', tier: 'silver' },
      ],
      CUSTOMERS,
    );
    for (const how of ['left_semi', 'left_anti']) {
      const input = new MemoryStream(session, ORDERS);
      const df = input.toDF().join(customers, col('cust').eq(col('cid')).and(col('tier').eq('gold')), how);
      const semi = how === 'left_semi';
      await testStream(df, { checkpoint: join(dir, `ckpt-${how}`) }, [
        addData(input, [order(1, 1, 5), order(2, 2, 1), order(3, null, 1)]),
        checkNewAnswer(semi ? [order(1, 1, 5)] : [order(2, 2, 1), order(3, null, 1)]),
        addData(input, [order(4, 1, 2), order(5, 9, 2)]),
        checkNewAnswer(semi ? [order(4, 1, 2)] : [order(5, 9, 2)]),
      ]);
    }
  });
});

describe('a static side with an aggregation', () => {
  it('is computed as a batch, keeps no state and is not checkpointed', async () => {
    const session = new Session({ conf: { parallelism: 1 } });
    const history = session.createDataFrame(
      [
        { cust: 1, amount: 5 },
        { cust: 1, amount: 7 },
        { cust: 2, amount: 1 },
      ],
      { cust: 'long', amount: 'double' },
    );
    const totals = history.groupBy('cust').agg(sum('amount').as('spent'));
    const input = new MemoryStream(session, ORDERS);
    const df = input.toDF().join(totals, 'cust', 'left').select('oid', 'spent');
    const checkpoint = join(dir, 'ckpt');
    await testStream(df, { checkpoint }, [
      addData(input, [order(1, 1, 1), order(2, 3, 1)]),
      checkNewAnswer([
        { oid: 1, spent: 12 },
        { oid: 2, spent: null },
      ]),
      addData(input, [order(3, 2, 1), order(4, 1, 1)]),
      checkNewAnswer([
        { oid: 3, spent: 1 },
        { oid: 4, spent: 12 },
      ]),
      stopStream(),
      startStream(),
      addData(input, [order(5, 1, 1)]),
      checkNewAnswer([{ oid: 5, spent: 12 }]),
    ]);
    expect(existsSync(join(checkpoint, 'state'))).toBe(false);
  });
});

describe('a stream enriched from a Delta table', () => {
  async function appendCustomers(session: Session, table: string, rows: Record<string, unknown>[]): Promise<void> {
    await session.createDataFrame(rows, CUSTOMERS).write.format('delta').mode('append').save(table);
  }

  it('left outer: a micro-batch joins the newest version of the table, before and after a restart', async () => {
    const session = new Session({ conf: { parallelism: 1 } });
    const table = join(dir, 'customers');
    await appendCustomers(session, table, [{ cid: 1, name: 'Ann', tier: 'gold' }]);
    const customers = session.read.format('delta').load(table);
    // A file stream of orders (JSON lines).
    const orders = join(dir, 'orders');
    mkdirSync(orders);
    const writeOrders = (name: string, rows: ReturnType<typeof order>[]) => writeFileSync(join(orders, name), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const stream = session.readStream.format('jsonl').schema(ORDERS).option('maxFilesPerTrigger', 1).load(orders);
    const df = stream.join(customers, col('cust').eq(col('cid')), 'left').select('oid', 'name');
    const step = (name: string, run: () => unknown) => ({ name, run: async () => void (await run()) });
    await testStream(df, { checkpoint: join(dir, 'ckpt') }, [
      step('orders 1', () => writeOrders('1.jsonl', [order(1, 1, 1), order(2, 2, 1)])),
      checkNewAnswer([
        { oid: 1, name: 'Ann' },
        { oid: 2, name: null },
      ]),
      step('customer 2 committed (version 1)', () => appendCustomers(session, table, [{ cid: 2, name: 'Bob', tier: 'silver' }])),
      step('orders 2', () => writeOrders('2.jsonl', [order(3, 2, 1), order(4, 3, 1)])),
      checkNewAnswer([
        { oid: 3, name: 'Bob' },
        { oid: 4, name: null },
      ]),
      assertProgress('the static rows are not input rows', (last) => expect(last.numInputRows).toBe(2)),
      stopStream(),
      step('customer 3 committed while stopped', () => appendCustomers(session, table, [{ cid: 3, name: 'Cy', tier: 'new' }])),
      startStream(),
      step('orders 3', () => writeOrders('3.jsonl', [order(5, 3, 1), order(6, 1, 1)])),
      checkNewAnswer([
        { oid: 5, name: 'Cy' },
        { oid: 6, name: 'Ann' },
      ]),
    ]);
  });
});

describe('when the static side is read', () => {
  /** A static input whose reads are counted and whose version the test sets (as a Delta table's). */
  function countedSource(session: Session, withVersion: boolean) {
    const state = { reads: 0, version: 0, rows: [{ cid: 1, name: 'Ann', tier: 'gold' }] as Record<string, unknown>[] };
    const schema = schemaOf(CUSTOMERS);
    session.formats.register({
      name: withVersion ? 'versioned' : 'fixed',
      batchScan: (): BatchScan => ({
        schema,
        description: 'Counted',
        async *scan() {
          state.reads++;
          yield batchFromRows(state.rows, schema);
        },
        ...(withVersion ? { dataVersion: async () => state.version } : {}),
      }),
    });
    return { state, df: session.read.format(withVersion ? 'versioned' : 'fixed').load('x') as DataFrame };
  }

  it('at the first stream rows of a run, for fixed data; again only after a version change for versioned data', async () => {
    for (const versioned of [false, true]) {
      const session = new Session({ conf: { parallelism: 1 } });
      const { state, df: customers } = countedSource(session, versioned);
      const input = new MemoryStream(session, ORDERS);
      const df = input.toDF().join(customers, col('cust').eq(col('cid'))).select('oid', 'name');
      const mutate = { name: 'the static data changes', run: async () => void ((state.rows = [{ cid: 1, name: 'Anna', tier: 'gold' }]), state.version++) };
      await testStream(df, { checkpoint: join(dir, `ckpt-${versioned}`) }, [
        addData(input, []),
        checkNewAnswer([]),
        { name: 'a micro-batch without stream rows does not read it', run: async () => expect(state.reads).toBe(0) },
        addData(input, [order(1, 1, 1)]),
        checkNewAnswer([{ oid: 1, name: 'Ann' }]),
        addData(input, [order(2, 1, 1)]),
        checkNewAnswer([{ oid: 2, name: 'Ann' }]),
        { name: 'read once so far', run: async () => expect(state.reads).toBe(1) },
        mutate,
        addData(input, [order(3, 1, 1)]),
        checkNewAnswer([{ oid: 3, name: versioned ? 'Anna' : 'Ann' }]),
        addData(input, [order(4, 1, 1)]),
        checkNewAnswer([{ oid: 4, name: versioned ? 'Anna' : 'Ann' }]),
        { name: 'reads', run: async () => expect(state.reads).toBe(versioned ? 2 : 1) },
        stopStream(),
        startStream(),
        addData(input, [order(5, 1, 1)]),
        checkNewAnswer([{ oid: 5, name: 'Anna' }]),
        { name: 'a restart reads it again', run: async () => expect(state.reads).toBe(versioned ? 3 : 2) },
      ]);
    }
  });
});

describe('a static side that would be preserved', () => {
  it('is refused when planned (the static rows without a match would be lost)', () => {
    const session = new Session({ conf: { parallelism: 1 } });
    const customers = session.createDataFrame([{ cid: 1, name: 'Ann', tier: 'gold' }], CUSTOMERS);
    const stream = new MemoryStream(session, ORDERS).toDF();
    const on = col('cust').eq(col('cid'));
    expect(() => customers.join(stream, on, 'left').explain({ print: false })).toThrow(
      'LeftOuter join with a streaming DataFrame/Dataset on the right and a static DataFrame/Dataset on the left is not supported',
    );
    expect(() => stream.join(customers, on, 'full').explain({ print: false })).toThrow(/FullOuter join with a streaming DataFrame\/Dataset on the left/);
    expect(() => customers.join(stream, on, 'anti').explain({ print: false })).toThrow(/LeftAnti join with a streaming DataFrame\/Dataset on the right/);
  });
});

describe('explain()', () => {
  it('shows the join line of a batch join, with its keys, condition and build side', () => {
    const session = new Session({ conf: { parallelism: 1 } });
    const o = session.createDataFrame([{ id: 1 }], { id: 'long' }).alias('o');
    const p = session.createDataFrame([{ orderId: 1, paid: 2 }], { orderId: 'long', paid: 'double' }).alias('p');
    const text = o.join(p, col('o.id').eq(col('p.orderId')).and(col('p.paid').gt(0)), 'left_outer').explain({ print: false });
    expect(text.split('\n')[0]).toBe('HashJoinExec: LeftOuter, keys [(o.id = p.orderId)], condition (p.paid > 0), build smaller side');
    expect(o.join(p, col('o.id').eq(col('p.orderId')), 'semi').explain({ print: false }).split('\n')[0]).toBe('HashJoinExec: LeftSemi, keys [(o.id = p.orderId)], build right');
    expect(o.crossJoin(p).explain({ print: false }).split('\n')[0]).toBe('NestedLoopJoinExec: Cross, build smaller side');
  });
});
