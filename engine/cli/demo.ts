/**
 * The README demo: generated order events in a local folder → 5-minute windowed sales per product (event time,
 * watermark, exactly-once checkpoint) → a Delta table under ./lake/sales → printed. It leaves behind what the README's
 * tour and commands use: the events in `data/demo/orders/`, the query as a pipeline spec in `pipelines/sales.json`, its
 * checkpoint in `checkpoints/sales/` and the table in `lake/sales/`.
 *
 *   npm run demo
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { col, count, Session, sum, toDate, window, max } from '../index.js';
import { duckdbDeltaScan } from './duckdb-delta-scan.js';

// npm runs scripts in the package folder: the demo works in the folder `npm run demo` was typed in. Its paths are
// relative to it, as the spec in pipelines/sales.json and the README's commands use them.
process.chdir(process.env['INIT_CWD'] ?? process.cwd());
const input = join('data', 'demo', 'orders');
const lake = join('lake', 'sales');
const checkpoint = join('checkpoints', 'sales');
const pipeline = join('pipelines', 'sales.json');
for (const dir of [input, lake, checkpoint]) rmSync(dir, { recursive: true, force: true });
mkdirSync(input, { recursive: true });

// 30,000 orders over two hours on 2026-05-30, in 6 files; events arrive up to 2 minutes out of order.
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const start = Date.parse('2026-05-30T09:00:00Z');
for (let f = 0; f < 6; f++) {
  const lines: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const t = start + (f * 5000 + i) * 240 - Math.floor(rand() * 120_000);
    lines.push(JSON.stringify({ order_id: f * 5000 + i, product_id: `p${1 + Math.floor(rand() * 8)}`, amount: Math.round(rand() * 10_000) / 100, event_time: new Date(t).toISOString() }));
  }
  writeFileSync(join(input, `orders-${f}.jsonl`), lines.join('\n') + '\n');
}

const session = new Session();
const sales = session.readStream
  .format('jsonl')
  .schema({ order_id: 'long', product_id: 'string', amount: 'double', event_time: 'timestamp' })
  .option('maxFilesPerTrigger', 2)
  .load(input)
  .withWatermark('event_time', '10 minutes')
  .groupBy(window(col('event_time'), '5 minutes'), col('product_id'))
  .agg(count('*').as('orders'), sum('amount').as('sales'), max('amount').as('largest'))
  .withColumn('date', toDate(col('window.start')));
// The same query as a pipeline spec, for `npx sluice run|backfill|status|diff` (README, "the command line").
mkdirSync('pipelines', { recursive: true });
const spec = sales.toSpec({ name: 'sales', sink: { format: 'delta', path: lake, partitionBy: ['date'] }, checkpoint, trigger: { availableNow: true } });
writeFileSync(pipeline, JSON.stringify(spec, null, 2) + '\n');
const query = sales
  .writeStream.format('delta')
  .outputMode('append')
  .partitionBy('date')
  .option('checkpointLocation', checkpoint)
  .trigger({ availableNow: true })
  .start(lake);

session.streams.addListener({
  onQueryProgress: ({ progress: p }) =>
    console.log(
      `batch ${p.batchId}: ${p.numInputRows} orders in, ${p.sink.numOutputRows} windows out, watermark ${p.eventTime['watermark'] ?? '-'}`,
    ),
});
await query.awaitTermination();

const table = session.read.format('delta').load(lake);
console.log(`\nDelta table lake/sales: ${await table.count()} rows (one per closed 5-minute window and product)`);
await table.orderBy(col('window.start'), col('product_id')).select('window', 'product_id', 'orders', 'sales', 'largest').show(12);
// Exactly the files of the table's current version: a glob over the folder would also read files a later backfill or
// optimize removed from the table (until vacuum deletes them).
const scan = await duckdbDeltaScan(lake);
if (scan.from !== null) {
  console.log(`\nQuery it with DuckDB (the files of table version ${scan.version}; a later commit, such as a backfill, changes the list):`);
  console.log(`  duckdb -c "SELECT product_id, sum(sales) FROM ${scan.from} GROUP BY 1 ORDER BY 1"`);
}
