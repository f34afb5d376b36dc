/**
 * Joins in pipeline specs: the `join` and `alias` steps, `source.static`, the `interval` expression; spec → plan →
 * spec round trips over every shape of join, and validation that reports every problem at its path.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  col,
  count,
  dataFrameFromSpec,
  fromJson,
  interval,
  parsePipelineSpec,
  Session,
  SpecError,
  window,
  type DataFrame,
  type PipelineSpec,
} from '../../engine/index.js';
import type { LogicalPlan } from '../../engine/logical/plan.js';
import { ORDERS_DIR, ROOT, specErrorOf } from './helpers.js';

const session = new Session({ conf: { parallelism: 2 } });

/** A plan as data: leaves by their format, options and schema (their functions and scan objects left out). */
function shape(p: LogicalPlan): unknown {
  if (p.kind === 'streamingRelation') return { kind: p.kind, format: p.format, options: p.options, schema: p.schema };
  if (p.kind === 'relation') return { kind: p.kind, description: p.description, schema: p.schema };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'child' || k === 'left' || k === 'right') out[k] = shape(v as LogicalPlan);
    else if (k === 'children') out[k] = (v as LogicalPlan[]).map(shape);
    else if (k === 'initialState') out[k] = v === null ? null : { keys: (v as { keys: unknown }).keys, plan: shape((v as { plan: LogicalPlan }).plan) };
    else out[k] = v;
  }
  return out;
}

/** toSpec → JSON text → parse → plan: the same plan, and the same spec again. */
function roundTrip(df: DataFrame): PipelineSpec {
  const spec = df.toSpec();
  const rebuilt = dataFrameFromSpec(parsePipelineSpec(JSON.parse(JSON.stringify(spec))), session);
  expect(shape(rebuilt.plan)).toEqual(shape(df.plan));
  expect(rebuilt.toSpec()).toEqual(spec);
  return spec;
}

const ORDERS_SCHEMA = { id: 'long', cust: 'string', amount: 'double', ts: 'timestamp' } as const;
const orders = () => session.readStream.format('jsonl').schema(ORDERS_SCHEMA).load(ORDERS_DIR);
const payments = () => session.readStream.format('jsonl').schema({ id: 'long', orderId: 'long', paid: 'double', paidAt: 'timestamp' }).load(ORDERS_DIR);
const customers = () => session.read.format('jsonl').schema({ cust: 'string', name: 'string', id: 'long' }).load(ORDERS_DIR);

describe('join steps: spec → plan → spec', () => {
  it('using one column and several, stream–static (the table read as static)', () => {
    const spec = roundTrip(orders().join(customers(), 'cust', 'left'));
    expect(spec.steps).toEqual([
      { join: { with: { source: { format: 'jsonl', path: ORDERS_DIR, schema: { cust: 'string', name: 'string', id: 'long' }, static: true } }, on: 'cust', how: 'leftOuter' } },
    ]);
    expect(roundTrip(orders().join(customers(), ['cust', 'id'])).steps![0]).toMatchObject({ join: { on: ['cust', 'id'] } });
  });

  it('a condition over aliases, for every join type', () => {
    for (const how of ['inner', 'leftOuter', 'rightOuter', 'fullOuter', 'leftSemi', 'leftAnti', 'cross']) {
      const df = orders().alias('o').join(payments().alias('p'), col('o.id').eq(col('p.orderId')).and(col('p.paid').geq(col('o.amount'))), how);
      const spec = roundTrip(df);
      expect(spec.steps).toEqual([
        { alias: 'o' },
        {
          join: {
            with: { source: { format: 'jsonl', path: ORDERS_DIR, schema: { id: 'long', orderId: 'long', paid: 'double', paidAt: 'timestamp' } }, alias: 'p' },
            on: { op: 'and', args: [{ op: '=', args: ['o.id', 'p.orderId'] }, { op: '>=', args: ['p.paid', 'o.amount'] }] },
            ...(how === 'inner' ? {} : { how }),
          },
        },
      ]);
    }
  });

  it('watermarks on both sides and a time range written with interval', () => {
    const df = orders()
      .withWatermark('ts', '2 hours')
      .join(
        payments().withWatermark('paidAt', '3 hours'),
        col('orderId').eq(col('cust')).and(col('paidAt').geq(col('ts'))).and(col('paidAt').leq(col('ts').plus(interval('1 hour')))),
        'leftOuter',
      );
    const spec = roundTrip(df);
    expect(spec.steps).toEqual([
      { watermark: { column: 'ts', delay: '2 hours' } },
      {
        join: {
          with: { source: expect.objectContaining({ format: 'jsonl' }), watermark: { column: 'paidAt', delay: '3 hours' } },
          on: {
            op: 'and',
            args: [
              { op: 'and', args: [{ op: '=', args: ['orderId', 'cust'] }, { op: '>=', args: ['paidAt', 'ts'] }] },
              { op: '<=', args: ['paidAt', { op: '+', args: ['ts', { interval: '1 hour' }] }] },
            ],
          },
          how: 'leftOuter',
        },
      },
    ]);
  });

  it('a nested input with its own steps, Kafka value decoding and a join of its own; a watermark before its alias', () => {
    const clicks = session.readStream
      .format('kafka')
      .option('kafka.bootstrap.servers', '127.0.0.1:9092')
      .option('subscribe', 'clicks')
      .load()
      .select(fromJson(col('value').cast('string'), { adId: 'long', clickTime: 'timestamp' }).as('e'))
      .select('e.*')
      .where(col('adId').gt(0))
      .withColumn('clickMinute', window(col('clickTime'), '1 minute'))
      .join(customers(), col('adId').eq(col('id')), 'inner')
      .alias('c')
      .withWatermark('clickTime', '10 minutes');
    const spec = roundTrip(orders().alias('o').join(clicks, col('o.id').eq(col('c.adId')), 'leftSemi'));
    const step = spec.steps![1] as unknown as { join: { with: Record<string, unknown> } };
    expect(step.join.with['source']).toEqual({
      format: 'kafka',
      options: { 'kafka.bootstrap.servers': '127.0.0.1:9092', subscribe: 'clicks' },
      value: { format: 'json', schema: { adId: 'long', clickTime: 'timestamp' } },
    });
    expect(step.join.with['steps']).toEqual([
      { filter: { op: '>', args: ['adId', 0] } },
      { withColumn: { clickMinute: { window: { column: 'clickTime', size: '1 minute' } } } },
      { join: { with: { source: expect.objectContaining({ static: true }) }, on: { op: '=', args: ['adId', 'id'] } } },
      { alias: 'c' },
    ]);
    expect(step.join.with['watermark']).toEqual({ column: 'clickTime', delay: '10 minutes' });
    expect(step.join.with['alias']).toBeUndefined();
  });

  it('a cross join, an inner join without a condition, a column condition, a static left input, a join after the aggregation', () => {
    expect(roundTrip(orders().crossJoin(customers())).steps).toEqual([{ join: { with: expect.anything(), how: 'cross' } }]);
    expect(roundTrip(orders().join(customers())).steps).toEqual([{ join: { with: expect.anything() } }]);
    const flagged = session.read.format('jsonl').schema({ ok: 'boolean' }).load(ORDERS_DIR);
    expect(roundTrip(orders().join(flagged, col('ok'))).steps).toEqual([{ join: { with: expect.anything(), on: { col: 'ok' } } }]);
    const staticLeft = roundTrip(customers().alias('c').join(orders(), 'id', 'rightOuter'));
    expect(staticLeft.source.static).toBe(true);
    expect(staticLeft.steps![1]).toEqual({ join: { with: { source: expect.not.objectContaining({ static: true }) }, on: 'id', how: 'rightOuter' } });
    const agg = roundTrip(orders().withWatermark('ts', '1 minute').groupBy(window('ts', '5 minutes'), col('cust')).agg(count('*').as('n')).join(customers(), 'cust'));
    expect(agg.outputSteps).toEqual([{ join: { with: expect.anything(), on: 'cust' } }]);
  });

  it('a Delta table as the static side', async () => {
    const table = join(mkdtempSync(join(tmpdir(), 'sluice-join-spec-')), 'customers');
    await session.createDataFrame([{ cust: 'a', name: 'Ann' }], { cust: 'string', name: 'string' }).write.format('delta').save(table);
    const spec = roundTrip(orders().join(session.read.format('delta').option('versionAsOf', '0').load(table), 'cust', 'leftOuter'));
    expect(spec.steps).toEqual([{ join: { with: { source: { format: 'delta', path: table, options: { versionAsOf: '0' }, static: true } }, on: 'cust', how: 'leftOuter' } }]);
  });

  it('reads a hand-written join spec as the fluent query, and writes it back unchanged', () => {
    const json = {
      source: { format: 'jsonl', path: ORDERS_DIR, schema: ORDERS_SCHEMA },
      steps: [
        { alias: 'o' },
        {
          join: {
            with: { source: { format: 'jsonl', path: ORDERS_DIR, schema: { cust: 'string', name: 'string', id: 'long' }, static: true }, alias: 'c' },
            on: { op: '=', args: ['o.cust', 'c.cust'] },
            how: 'leftOuter',
          },
        },
        { select: ['o.id', 'c.name', 'o.amount'] },
      ],
    };
    const fromSpec = dataFrameFromSpec(parsePipelineSpec(json), session);
    const fluent = orders().alias('o').join(customers().alias('c'), col('o.cust').eq(col('c.cust')), 'leftOuter').select('o.id', 'c.name', 'o.amount');
    expect(shape(fromSpec.plan)).toEqual(shape(fluent.plan));
    expect(fluent.toSpec()).toEqual(json);
    // Spark's other spellings of the join type read the same.
    const spelled = dataFrameFromSpec(parsePipelineSpec({ ...json, steps: [json.steps[0], { join: { ...json.steps[1]!.join, how: 'left_outer' } }, json.steps[2]] }), session);
    expect(shape(spelled.plan)).toEqual(shape(fluent.plan));
  });

  it('reads { "interval": "1 hour" } and the long function form alike', () => {
    const base = { source: { format: 'jsonl', path: ORDERS_DIR, schema: ORDERS_SCHEMA } };
    const short = dataFrameFromSpec(parsePipelineSpec({ ...base, steps: [{ withColumn: { later: { op: '+', args: ['ts', { interval: '90 minutes' }] } } }] }), session);
    const long = dataFrameFromSpec(parsePipelineSpec({ ...base, steps: [{ withColumn: { later: { op: '+', args: ['ts', { fn: 'interval', args: [], options: { ms: 5_400_000 } }] } } }] }), session);
    expect(shape(short.plan)).toEqual(shape(long.plan));
    expect(long.toSpec().steps).toEqual([{ withColumn: { later: { op: '+', args: ['ts', { interval: '90 minutes' }] } } }]);
    expect(short.schema.fields.find((f) => f.name === 'later')!.type).toBe('timestamp');
  });
});

describe('engine/spec/README.md', () => {
  it('has a join example that is a valid spec', () => {
    const text = readFileSync(join(ROOT, 'engine', 'spec', 'README.md'), 'utf8');
    const block = /### Joins[\s\S]*?```json\n([\s\S]*?)```/.exec(text)![1]!;
    const spec = parsePipelineSpec(JSON.parse(block));
    expect(spec.steps!.map((s) => Object.keys(s)[0])).toEqual(['alias', 'join', 'select']);
  });
});

describe('invalid join specs', () => {
  const base = { source: { format: 'jsonl', path: ORDERS_DIR, schema: ORDERS_SCHEMA } };

  it('reports every problem of a join step at its path, inside the nested input too', () => {
    const e = specErrorOf(() =>
      parsePipelineSpec({
        ...base,
        steps: [
          { alias: 'a.b' },
          {
            join: {
              with: { source: { format: 'jsonl', pth: 'x', static: 'yes' }, steps: [{ filter: { op: '==', args: ['a', 1] } }], watermark: { column: 'ts', delay: '5 minuts' }, alias: '', extra: 1 },
              on: [],
              how: 'sideways',
              colour: 'red',
            },
          },
          { join: { on: 'id' } },
          { join: { with: { source: { format: 'jsonl' } }, on: { op: '=', args: ['id'] } } },
        ],
      }),
    );
    const head = (m: string) => m.slice(0, 40);
    expect(e.issues.map((i) => [i.path.join('.'), head(i.message)])).toEqual(
      [
      ['steps.0.alias', 'expected a name without dots, e.g. "o" (then "o.id" names its id'],
      ['steps.1.join.colour', 'unknown field; known fields: with, on, how'],
      ['steps.1.join.with.extra', 'unknown field; known fields: source, steps, watermark, alias'],
      ['steps.1.join.with.source.static', 'Invalid input: expected boolean, received string'],
      ['steps.1.join.with.source.pth', 'unknown field; known fields: format, path, options, schema, st'],
      ['steps.1.join.with.steps.0.filter.op', 'unknown operator "==" (equality is "="); use + - * / % = != < <'],
      ['steps.1.join.with.watermark.delay', "The duration '5 minuts' has an unknown unit 'minuts'. Use mill"],
      ['steps.1.join.with.alias', 'expected a name without dots, e.g. "o" (then "o.id" names its id'],
      ['steps.1.join.how', "[UNSUPPORTED_JOIN_TYPE] Unsupported join type 'sideways'. Suppor"],
      ['steps.1.join.on', 'expected a using column ("id"), a non-empty list of them (["a", '],
      ['steps.2.join.with', 'required: the other input, { "source": { "format": …, "path": … '],
      ['steps.3.join.on.args', 'expected 2 argument(s), got 1'],
      ].map(([p, m]) => [p, head(m!)]),
    );
    expect(e.message).toContain('steps[1].join.with.source.pth: unknown field; known fields: format, path, options, schema, static, value');
  });

  it('names the nested field of what only the engine can check', () => {
    const unknownFormat = parsePipelineSpec({ ...base, steps: [{ join: { with: { source: { format: 'jsonll', path: ORDERS_DIR } }, on: 'id' } }] });
    const e1 = specErrorOf(() => dataFrameFromSpec(unknownFormat, session));
    expect(e1.issues[0]!.path).toEqual(['steps', 0, 'join', 'with', 'source', 'format']);
    const nestedStep = parsePipelineSpec({ ...base, steps: [{ join: { with: { source: { format: 'jsonl', path: ORDERS_DIR, schema: { id: 'long' } }, steps: [{ filter: { op: '>', args: ['amout', 0] } }] }, on: 'id' } }] });
    const e2 = specErrorOf(() => dataFrameFromSpec(nestedStep, session));
    expect(e2.issues[0]!.path).toEqual(['steps', 0, 'join', 'with', 'steps', 0, 'filter']);
    expect(e2.message).toMatch(/Column 'amout' does not exist/);
    const badUsing = parsePipelineSpec({ ...base, steps: [{ join: { with: { source: { format: 'jsonl', path: ORDERS_DIR, schema: { id: 'long' } } }, on: 'cust' } }] });
    const e3 = specErrorOf(() => dataFrameFromSpec(badUsing, session));
    expect(e3.issues[0]!.path).toEqual(['steps', 0, 'join']);
    expect(e3.message).toMatch(/cust/);
  });
});
