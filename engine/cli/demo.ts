/**
 * The README demo: generated order events in a local folder → 5-minute windowed sales per product (event time,
 * watermark, exactly-once checkpoint) → a Delta table under ./lake/sales → printed.
 *
 *   npm run demo
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { col, count, Session, sum, toDate, window, max } from '../index.js';

const root = process.cwd();
const input = join(root, 'data', 'demo', 'orders');
const lake = join(root, 'lake', 'sales');
const checkpoint = join(root, 'checkpoints', 'demo');
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
const query = session.readStream
  .format('jsonl')
  .schema({ order_id: 'long', product_id: 'string', amount: 'double', event_time: 'timestamp' })
  .option('maxFilesPerTrigger', 2)
  .load(input)
  .withWatermark('event_time', '10 minutes')
  .groupBy(window(col('event_time'), '5 minutes'), col('product_id'))
  .agg(count('*').as('orders'), sum('amount').as('sales'), max('amount').as('largest'))
  .withColumn('date', toDate(col('window.start')))
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
console.log(`Query it with DuckDB:  duckdb -c "SELECT product_id, sum(sales) FROM read_parquet('lake/sales/**/*.parquet', hive_partitioning=true) GROUP BY 1 ORDER BY 1"`);
