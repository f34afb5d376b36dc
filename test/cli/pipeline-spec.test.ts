import { describe, expect, it } from 'vitest';
import {
  avg,
  col,
  count,
  countDistinct,
  dataFrameFromSpec,
  fromJson,
  lit,
  max,
  parsePipelineSpec,
  parsePipelineSpecText,
  Session,
  sessionWindow,
  SpecError,
  sum,
  toDate,
  upper,
  when,
  window,
  type PipelineSpec,
} from '../../engine/index.js';
import { ORDERS_DIR, ROOT, specErrorOf } from './helpers.js';

const ORDERS = ORDERS_DIR;

/** The spec of the issue, verbatim plus the date partition column. */
const KAFKA_SPEC = {
  name: 'sales-per-5min',
  source: {
    format: 'kafka',
    options: { 'kafka.bootstrap.servers': '127.0.0.1:9092', subscribe: 'orders' },
    value: { format: 'json', schema: { product_id: 'string', amount: 'double', event_time: 'timestamp' } },
  },
  watermark: { column: 'event_time', delay: '10 minutes' },
  groupBy: { window: { type: 'tumbling', column: 'event_time', size: '5 minutes' }, keys: ['product_id'] },
  aggregations: [
    { fn: 'count', as: 'n' },
    { fn: 'sum', column: 'amount', as: 'total' },
  ],
  outputSteps: [{ withColumn: { date: { fn: 'toDate', args: ['window.start'] } } }],
  outputMode: 'append',
  sink: { format: 'delta', path: 'lake/sales', partitionBy: ['date'] },
  checkpoint: 'checkpoints/sales',
  trigger: { processingTime: '1 second' },
} as const;

function extrasOf(spec: PipelineSpec) {
  const { name, outputMode, sink, checkpoint, trigger } = spec;
  return { name, outputMode, sink, checkpoint, trigger } as const;
}

describe('Pipeline spec ⇄ logical plan', () => {
  const session = new Session({ conf: { parallelism: 2 } });

  it('builds the same plan as the fluent query, and prints the same spec back', () => {
    const spec = parsePipelineSpec(KAFKA_SPEC);
    const fromSpec = dataFrameFromSpec(spec, session);
    const fluent = session.readStream
      .format('kafka')
      .option('kafka.bootstrap.servers', '127.0.0.1:9092')
      .option('subscribe', 'orders')
      .load()
      .select(fromJson(col('value').cast('string'), { product_id: 'string', amount: 'double', event_time: 'timestamp' }).as('e'))
      .select('e.*')
      .withWatermark('event_time', '10 minutes')
      .groupBy(window(col('event_time'), '5 minutes'), col('product_id'))
      .agg(count('*').as('n'), sum('amount').as('total'))
      .withColumn('date', toDate(col('window.start')));
    expect(fromSpec.explain({ print: false })).toMatchInlineSnapshot(`
      "ProjectExec: window, product_id, n, total, date
        WindowAggregateExec: window=tumbling(5 minutes) keys=[product_id] aggs=[n, total]
          Exchange: hashpartitioning(product_id, 2)
            EventTimeWatermarkExec: event_time delay=10 minutes
              ProjectExec: product_id, amount, event_time
                ProjectExec: e
                  StreamScanExec: KafkaSource[Subscribe[orders]] [key, value, topic, partition, offset, timestamp, timestampType]"
    `);
    expect(fluent.explain({ print: false })).toBe(fromSpec.explain({ print: false }));
    expect(fluent.toSpec(extrasOf(spec))).toEqual(KAFKA_SPEC);
    expect(fromSpec.toSpec(extrasOf(spec))).toEqual(KAFKA_SPEC);
  });

  it('keeps a spec with every kind of step stable: spec → plan → spec', () => {
    const spec = parsePipelineSpec({
      name: 'everything',
      source: { format: 'jsonl', path: ORDERS, options: { maxFilesPerTrigger: '2' }, schema: { order_id: 'long', product_id: 'string', amount: 'double', event_time: 'timestamp' } },
      steps: [
        { filter: { op: 'and', args: [{ op: '>', args: ['amount', 0] }, { op: 'isNotNull', args: ['product_id'] }] } },
        { withColumn: { cents: { op: '*', args: ['amount', 100] }, product: { fn: 'upper', args: ['product_id'] }, big: { fn: 'when', args: [{ op: '>', args: ['amount', 50] }, { lit: 'big' }, { lit: 'small' }] } } },
        { select: ['order_id', 'product', 'cents', 'big', { as: 'ts', expr: { cast: 'event_time', to: 'timestamp' } }, { as: 'day', expr: { fn: 'toDate', args: ['event_time'] } }] },
        { dropDuplicatesWithinWatermark: ['order_id'] },
      ],
      watermark: { column: 'ts', delay: '1 minute' },
      groupBy: { window: { type: 'sliding', column: 'ts', size: '10 minutes', slide: '5 minutes' }, keys: ['product', { as: 'size', expr: 'big' }] },
      aggregations: [
        { fn: 'count', as: 'n' },
        { fn: 'max', column: 'cents' },
        { fn: 'sum', column: { op: '/', args: ['cents', 100] }, as: 'total' },
      ],
      outputSteps: [{ filter: { op: '>', args: ['n', 1] } }, { withColumn: { date: { fn: 'toDate', args: ['window.start'] } } }],
      outputMode: 'append',
    });
    // The dedup needs the watermark before it: put it in the steps.
    const { watermark, ...rest } = spec;
    const withWm: PipelineSpec = { ...rest, steps: [...spec.steps!.slice(0, 3), { watermark: watermark! }, spec.steps![3]!] };
    const df = dataFrameFromSpec(withWm, session);
    const once = df.toSpec({ name: 'everything', outputMode: 'append' });
    expect(once).toEqual(withWm);
    expect(dataFrameFromSpec(parsePipelineSpec(once), session).toSpec({ name: 'everything', outputMode: 'append' })).toEqual(once);
    expect(dataFrameFromSpec(parsePipelineSpec(once), session).explain({ print: false })).toBe(df.explain({ print: false }));
  });

  it('turns fluent queries into canonical specs that rebuild the same plan', () => {
    const events = session.readStream.format('jsonl').schema({ user: 'string', amount: 'double', ts: 'timestamp', vip: 'boolean' }).load(ORDERS);
    const queries = [
      events.where(col('amount').gt(0)).withColumn('cents', col('amount').mul(100)).select('user', 'cents', 'ts'),
      events
        .withWatermark('ts', '30 seconds')
        .groupBy(sessionWindow(col('ts'), when(col('vip'), lit('1 minute')).otherwise(lit('10 seconds'))), col('user'))
        .agg(count('*').as('n'), avg('amount').as('mean')),
      events.withWatermark('ts', '10 seconds').groupBy(sessionWindow('ts', '30 seconds'), upper(col('user')).as('u')).agg(max('amount')),
      events.groupBy('user').agg(countDistinct('ts').as('distinct'), sum(col('amount').mul(2)).as('doubled')),
      events.agg(count('*').as('all')),
      events.dropDuplicates(['user']).withColumnRenamed('amount', 'value').drop('vip'),
    ];
    for (const q of queries) {
      const spec = q.toSpec();
      const rebuilt = dataFrameFromSpec(parsePipelineSpec(JSON.parse(JSON.stringify(spec))), session);
      expect(rebuilt.explain({ print: false })).toBe(q.explain({ print: false }));
      expect(rebuilt.toSpec()).toEqual(spec);
    }
  });

  it('accepts an aggregation as an expression and writes it in the short form', () => {
    const spec = parsePipelineSpec({ ...KAFKA_SPEC, aggregations: [{ expr: { agg: 'count', args: [] }, as: 'n' }, { expr: { agg: 'mean', args: ['amount'] } }] });
    expect(dataFrameFromSpec(spec, session).toSpec().aggregations).toEqual([{ fn: 'count', as: 'n' }, { fn: 'avg', column: 'amount' }]);
  });

  it('writes durations and windows in their canonical form', () => {
    const df = session.readStream.format('jsonl').schema({ ts: 'timestamp' }).load(ORDERS).withWatermark('ts', 90_000).groupBy(window('ts', '300 seconds')).agg(count('*'));
    expect(df.toSpec()).toMatchObject({
      watermark: { column: 'ts', delay: '90 seconds' },
      groupBy: { window: { type: 'tumbling', column: 'ts', size: '5 minutes' } },
      aggregations: [{ fn: 'count' }],
    });
  });

  it('refuses plans that have no spec form, naming the operation', () => {
    const df = session.read.format('jsonl').load(ORDERS);
    expect(() => df.orderBy('amount').toSpec()).toThrow(/orderBy\(\) has no spec form/);
    expect(() => df.union(df).toSpec()).toThrow(/union\(\) has no spec form/);
    expect(() => session.createDataFrame([{ a: 1 }], { a: 'int' }).toSpec()).toThrow(/LocalRelation/);
  });

  it('describes batch reads of files too', () => {
    const df = session.read.format('jsonl').schema({ amount: 'double' }).load(ORDERS).where(col('amount').gt(1));
    expect(df.toSpec()).toEqual({ source: { format: 'jsonl', path: ORDERS, schema: { amount: 'double' } }, steps: [{ filter: { op: '>', args: ['amount', 1] } }] });
  });
});

describe('Invalid pipeline specs', () => {
  const session = new Session();
  const base = { source: { format: 'jsonl', path: ORDERS, schema: { amount: 'double', ts: 'timestamp' } } };

  it('names the path of an unknown field', () => {
    const e = specErrorOf(() => parsePipelineSpec({ ...base, groupBy: { window: { type: 'tumbling', column: 'ts', size: '5 minutes', colour: 'red' } }, aggregations: [{ fn: 'count' }] }));
    expect(e.issues).toEqual([{ path: ['groupBy', 'window', 'colour'], message: 'unknown field; known fields: column, size, startTime' }]);
    expect(specErrorOf(() => parsePipelineSpec({ ...base, sinkk: {} })).message).toContain('sinkk: unknown field; known fields: name, description, source, steps');
  });

  it('names the path of a value of the wrong type', () => {
    const e = specErrorOf(() => parsePipelineSpec({ ...base, groupBy: { keys: 'ts' }, aggregations: [{ fn: 'count' }], checkpoint: 5 }));
    expect(e.message).toMatch(/groupBy\.keys: Invalid input: expected array, received string/);
    expect(e.message).toMatch(/checkpoint: Invalid input: expected string, received number/);
  });

  it('names the path of a bad duration', () => {
    const e = specErrorOf(() => parsePipelineSpec({ ...base, groupBy: { window: { type: 'tumbling', column: 'ts', size: '5 minuts' } }, aggregations: [{ fn: 'count' }] }));
    expect(e.message).toContain("groupBy.window.size: The duration '5 minuts' has an unknown unit 'minuts'");
    expect(specErrorOf(() => parsePipelineSpec({ ...base, watermark: { column: 'ts', delay: '1 month' } })).message).toContain('watermark.delay:');
    expect(specErrorOf(() => parsePipelineSpec({ ...base, trigger: { processingTime: 'soon' } })).message).toContain('trigger.processingTime:');
  });

  it('names the path of an unknown format', () => {
    const spec = parsePipelineSpec({ ...base, source: { ...base.source, format: 'jsonll' } });
    const e = specErrorOf(() => dataFrameFromSpec(spec, session));
    expect(e.issues[0]!.path).toEqual(['source', 'format']);
    expect(e.message).toMatch(/source\.format: Unknown format 'jsonll'\. Formats for session\.readStream: .*'jsonl'/);
  });

  it('names the step of an analysis error', () => {
    const spec = parsePipelineSpec({ ...base, steps: [{ filter: { op: '>', args: ['amount', 0] } }, { withColumn: { x: { op: '*', args: ['amout', 2] } } }] });
    expect(specErrorOf(() => dataFrameFromSpec(spec, session)).message).toMatch(/steps\[1\]\.withColumn: Column 'amout' does not exist.*Did you mean 'amount'\?/);
  });

  it('reports every problem at once, each at its path', () => {
    const e = specErrorOf(() =>
      parsePipelineSpec({
        source: { format: 'jsonl', bogus: 1 },
        steps: [{ filter: { op: '==', args: ['a', 1] } }, { frob: 1 }, { select: [{ fn: 'sum', args: ['a'] }] }],
        groupBy: { window: { type: 'hopping', column: 'ts', size: '5 minutes' } },
        aggregations: [{ fn: 'summ', column: 'x' }, { fn: 'avg' }],
        outputMode: 'appendd',
      }),
    );
    expect(e.issues.map((i) => i.path.join('.'))).toEqual([
      'source.bogus',
      'steps.0.filter.op',
      'steps.1.frob',
      'steps.2.select.0.fn',
      'groupBy.window.type',
      'aggregations.0.fn',
      'aggregations.1.column',
      'outputMode',
    ]);
    expect(e.message).toContain('steps[0].filter.op: unknown operator "==" (equality is "=")');
    expect(e.message).toContain('steps[2].select[0].fn: unknown function "sum" (sum is an aggregate: { "agg": "sum", "args": [...] })');
  });

  it('checks fields that depend on each other', () => {
    expect(specErrorOf(() => parsePipelineSpec({ ...base, groupBy: { keys: ['ts'] } })).issues).toEqual([{ path: ['aggregations'], message: expect.stringMatching(/groupBy needs aggregations/) }]);
    expect(specErrorOf(() => parsePipelineSpec({ ...base, outputSteps: [{ drop: ['ts'] }] })).issues[0]!.path).toEqual(['outputSteps']);
    const sliding = specErrorOf(() => parsePipelineSpec({ ...base, groupBy: { window: { type: 'sliding', column: 'ts', size: '1 minute', slide: '5 minutes' } }, aggregations: [{ fn: 'count' }] }));
    expect(sliding.issues[0]!.path).toEqual(['groupBy', 'window', 'slide']);
  });

  it('names the line and column of a JSON syntax error', () => {
    expect(() => parsePipelineSpecText('{\n  "source": {\n    "format": "jsonl",\n  }\n}', 'bad.json')).toThrow(/Invalid pipeline spec \(bad\.json\):\n {2}\(spec\): not valid JSON at line 4/);
  });
});
