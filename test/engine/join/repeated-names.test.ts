/**
 * After a join both inputs' `id` may be in the output (allowed in the plan, as in Spark); turning such a result into
 * rows, showing it or writing it to any sink is refused with the repeated names, their qualifiers and the fix, instead
 * of one of the columns being silently lost.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { col, MemoryStream, RepeatedColumnNamesError, Session } from '../../../engine/index.js';
import { assertUniqueNames, schemaOf } from '../../../engine/types/data-type.js';
import { rowsFromBatch } from '../../../engine/types/values.js';

const session = new Session();
const orders = session.createDataFrame([{ id: 1, cust: 7, amount: 2.5 }], { id: 'long', cust: 'long', amount: 'double' });
const customers = session.createDataFrame([{ id: 7, name: 'Ann' }], { id: 'long', name: 'string' });
const aliased = orders.alias('o').join(customers.alias('c'), col('o.cust').eq(col('c.id')));

const FIX_ALIASED = "Rename them first: select(col('o.id').as('o_id'), col('c.id').as('c_id'), …), or rename the column on one input before the join with withColumnRenamed('id', '<new name>').";

async function rejection(p: Promise<unknown>): Promise<RepeatedColumnNamesError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(RepeatedColumnNamesError);
  return e as RepeatedColumnNamesError;
}

describe('repeated output names after a join', () => {
  it('are allowed in the plan', () => {
    expect(aliased.columns).toEqual(['id', 'cust', 'amount', 'id', 'name']);
    expect(aliased.select('*').columns).toEqual(['id', 'cust', 'amount', 'id', 'name']);
  });

  it('collect() refuses them before running, naming each column with its qualifier and the fix', async () => {
    const e = await rejection(aliased.collect());
    expect(e.name).toBe('RepeatedColumnNamesError');
    expect(e.repeated).toEqual([{ name: 'id', columns: ['o.id', 'c.id'] }]);
    expect(e.message).toBe(`collect() needs one column per name, but the result has 'id' 2 times (o.id, c.id): one would be lost. ${FIX_ALIASED}`);
  });

  it('show() refuses them too', async () => {
    expect((await rejection(aliased.show())).message).toMatch(/^show\(\) needs one column per name, but the result has 'id' 2 times \(o\.id, c\.id\)/);
  });

  it('lists every repeated name; without aliases the fix says to name the inputs', async () => {
    const both = orders.withColumnRenamed('amount', 'name').crossJoin(customers);
    const e = await rejection(both.collect());
    expect(e.repeated).toEqual([
      { name: 'id', columns: ['id', 'id'] },
      { name: 'name', columns: ['name', 'name'] },
    ]);
    expect(e.message).toBe(
      "collect() needs one column per name, but the result has 'id' 2 times (id, id), 'name' 2 times (name, name): one would be lost. " +
        "Name the join's inputs with df.alias('l') and other.alias('r'), then rename: select(col('l.id').as('l_id'), col('r.id').as('r_id'), …), " +
        "or rename the column on one input before the join with withColumnRenamed('id', '<new name>').",
    );
  });

  it('a batch write refuses them before writing anything', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'sluice-repeated-')), 'out');
    const e = await rejection(aliased.write.format('jsonl').save(out));
    expect(e.message).toBe(`write.format('jsonl').save() needs one column per name, but the result has 'id' 2 times (o.id, c.id): one would be lost. ${FIX_ALIASED}`);
    expect(existsSync(out)).toBe(false);
  });

  it('writeStream…start() refuses them for every sink', () => {
    const stream = new MemoryStream(session, { id: 'long', cust: 'long', amount: 'double' }).toDF().alias('o');
    const joined = stream.join(customers.alias('c'), col('o.cust').eq(col('c.id')), 'leftOuter');
    for (const format of ['memory', 'console']) {
      expect(() => joined.writeStream.format(format).queryName(`repeated_${format}`).start()).toThrow(
        `writeStream.format('${format}').start() needs one column per name, but the result has 'id' 2 times (o.id, c.id): one would be lost. ${FIX_ALIASED}`,
      );
    }
  });

  it('are gone once renamed, and a using join has none', () => {
    expect(() => assertUniqueNames(aliased.select(col('o.id').as('orderId'), col('c.id').as('customerId'), 'name').schema, 'collect()')).not.toThrow();
    expect(() => assertUniqueNames(orders.join(customers, 'id').schema, 'collect()')).not.toThrow();
  });

  it('turning batches into rows refuses them wherever it happens (console sink, sluice batch)', async () => {
    const [batch] = await session.createDataFrame([{ a: 1, b: 2 }], { a: 'int', b: 'int' }).toBatches();
    const twice = schemaOf([{ name: 'id', type: 'int', nullable: true }, { name: 'id', type: 'int', nullable: true }]);
    expect(() => rowsFromBatch(batch!, twice)).toThrow(/^Turning batches into rows needs one column per name, but the result has 'id' 2 times \(id, id\)/);
  });
});
