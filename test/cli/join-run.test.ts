/**
 * `sluice run` of pipeline specs with a join step over file sources: a stream of orders enriched from a static table
 * of products, end to end into Delta; and the specs it refuses before running (exit 2), naming the spec field.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PipelineSpec } from '../../engine/index.js';
import { normalizeRows } from '../helpers/stream-test.js';
import { DAY1, HOUR, makeOrders, runCli, tableRows, tempDir, writeOrders, writeSpec, type Order } from './helpers.js';

const ORDER_SCHEMA = { order_id: 'long', product_id: 'string', amount: 'double', event_time: 'timestamp' } as const;
const PRODUCTS = [
  { product_id: 'p1', title: 'Kettle', price: 20 },
  { product_id: 'p2', title: 'Toaster', price: 35 },
  // p3 has no row: a left outer join keeps its orders with a null title.
  { product_id: 'p9', title: 'Never ordered', price: 1 },
];

/** Three files of orders (products p1–p3) and a static JSON Lines table of products. */
function setup(name: string) {
  const dir = tempDir(`sluice-cli-join-${name}-`);
  const input = join(dir, 'orders');
  const orders: Order[] = [];
  for (let i = 0; i < 3; i++) {
    const part = makeOrders(40, DAY1 + i * HOUR, DAY1 + (i + 1) * HOUR, 200 + i, i * 40, 0);
    writeOrders(input, `orders-${i}.jsonl`, part);
    orders.push(...part);
  }
  const products = join(dir, 'products.jsonl');
  writeFileSync(products, PRODUCTS.map((p) => JSON.stringify(p)).join('\n') + '\n');
  return { dir, input, products, orders, lake: join(dir, 'lake'), checkpoint: join(dir, 'ckpt') };
}

type Setup = ReturnType<typeof setup>;

function enrichSpec(s: Setup): PipelineSpec {
  return {
    name: 'enriched',
    source: { format: 'jsonl', path: s.input, options: { maxFilesPerTrigger: 1, mode: 'failFast' }, schema: ORDER_SCHEMA },
    steps: [
      { alias: 'o' },
      {
        join: {
          with: { source: { format: 'jsonl', path: s.products, schema: { product_id: 'string', title: 'string', price: 'double' }, static: true }, alias: 'p' },
          on: { op: '=', args: ['o.product_id', 'p.product_id'] },
          how: 'leftOuter',
        },
      },
      { select: ['o.order_id', 'o.product_id', 'p.title', { as: 'cents', expr: { op: '*', args: ['o.amount', 100] } }] },
    ],
    sink: { format: 'delta', path: s.lake },
    checkpoint: s.checkpoint,
    trigger: { processingTime: '100 milliseconds' },
  };
}

describe('sluice run: a spec with a join', () => {
  it('refuses a static table left outer a stream before running, at the join step, with the fix', async () => {
    const s = setup('refused');
    const spec = {
      name: 'refused',
      source: { format: 'jsonl', path: s.products, schema: { product_id: 'string', title: 'string', price: 'double' }, static: true },
      steps: [{ join: { with: { source: { format: 'jsonl', path: s.input, schema: ORDER_SCHEMA } }, on: 'product_id', how: 'left' } }],
      sink: { format: 'delta', path: s.lake },
      checkpoint: s.checkpoint,
    };
    const r = await runCli(['run', writeSpec(s.dir, 'refused.json', spec), '--trigger', 'available-now'], { cwd: s.dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(r.stderr).toMatch(
      /^ {2}steps\[0\]\.join: LeftOuter join with a streaming DataFrame\/Dataset on the right and a static DataFrame\/Dataset on the left is not supported\. .*put the stream on the left, stream\.join\(table, on, 'leftOuter'\)/m,
    );
    expect(existsSync(s.checkpoint)).toBe(false);
  });

  it('refuses to write both inputs\' product_id under one name, naming them and the fix', async () => {
    const s = setup('repeated');
    const spec = { ...enrichSpec(s), steps: enrichSpec(s).steps!.slice(0, 2) };
    const r = await runCli(['run', writeSpec(s.dir, 'repeated.json', spec), '--trigger', 'available-now'], { cwd: s.dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(r.stderr).toMatch(
      /^ {2}sink: writeStream\.format\('delta'\)\.start\(\) needs one column per name, but the result has 'product_id' 2 times \(o\.product_id, p\.product_id\): one would be lost\. Rename them first: select\(col\('o\.product_id'\)\.as\('o_product_id'\)/m,
    );
    expect(existsSync(s.checkpoint)).toBe(false);
  });
});

describe('sluice run: a stream–static join end to end', () => {
  it('enriches every order from the static table, keeping the orders without a product (left outer)', async () => {
    const s = setup('enrich');
    const r = await runCli(['run', writeSpec(s.dir, 'enriched.json', enrichSpec(s)), '--trigger', 'available-now'], { cwd: s.dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^batch 2: 40 rows in, 40 rows out/m);
    const titles = new Map(PRODUCTS.map((p) => [p.product_id, p.title]));
    const expected = s.orders.map((o) => ({ order_id: o.order_id, product_id: o.product_id, title: titles.get(o.product_id) ?? null, cents: o.amount * 100 }));
    expect(expected.some((o) => o.title === null)).toBe(true);
    expect(await tableRows(s.lake)).toEqual(normalizeRows(expected));
  });
});
