import type { RecordBatch } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { StatefulProcessor, type StatefulProcessorClass, type StatefulProcessorHandle } from '../../../engine/api/stateful-processor.js';
import { operatorKind, type BatchInfo } from '../../../engine/physical/partitions/keyed-operator.js';
import {
  createTransformWithStatePartition,
  ProcessorNotLoadableError,
  registerLocalProcessor,
  StateVariableKindChangedError,
  TransformWithStatePartition,
  type TransformWithStateSpec,
} from '../../../engine/physical/partitions/transform-with-state-partition.js';
import { deltaSchema, OP_PUT } from '../../../engine/state/state-store.js';
import { schemaOf, type SchemaSpec } from '../../../engine/types/data-type.js';
import { batchFromRows, rowsFromBatch } from '../../../engine/types/values.js';
import {
  ALERT_SCHEMA,
  CLICK_SCHEMA,
  FailedLoginDetector,
  LOCKOUT_MS,
  LockoutAlerter,
  LOGIN_SCHEMA,
  PROBE_OUT,
  PROBE_SCHEMA,
  SCORE_SCHEMA,
  SESSION_SCHEMA,
  Sessionizer,
  TOP_SCHEMA,
  TopThree,
  TtlProbe,
} from './processors.js';

interface Case {
  name: string;
  cls: StatefulProcessorClass;
  input: SchemaSpec;
  output: SchemaSpec;
  key: string;
  timeMode: 'none' | 'processingTime' | 'eventTime';
  /** Rows of batch i (i = 0…7), with its clocks. */
  batch(i: number): { rows: Record<string, unknown>[]; ts: number; wm: number };
}

const T0 = 10_000_000;
const CASES: Case[] = [
  {
    name: 'failed logins (value state with TTL)',
    cls: FailedLoginDetector as unknown as StatefulProcessorClass,
    input: LOGIN_SCHEMA,
    output: ALERT_SCHEMA,
    key: 'user',
    timeMode: 'processingTime',
    batch: (i) => ({
      rows: ['a', 'b', 'c'].flatMap((u, j) => [{ user: u, success: (i + j) % 4 === 3, ts: new Date(T0 + i) }]),
      ts: T0 + i * 1_500_000,
      wm: 0,
    }),
  },
  {
    name: 'lockout (event-time timers)',
    cls: LockoutAlerter as unknown as StatefulProcessorClass,
    input: LOGIN_SCHEMA,
    output: ALERT_SCHEMA,
    key: 'user',
    timeMode: 'eventTime',
    batch: (i) => ({
      rows: ['a', 'b'].flatMap((u, j) => (i < 4 ? [{ user: u, success: i === 3 && j === 1, ts: new Date(T0 + i * 1000) }] : [])),
      ts: T0,
      wm: i < 5 ? 0 : T0 + (i - 5) * LOCKOUT_MS,
    }),
  },
  {
    name: 'sessions (list state, processing-time timers)',
    cls: Sessionizer as unknown as StatefulProcessorClass,
    input: CLICK_SCHEMA,
    output: SESSION_SCHEMA,
    key: 'user',
    timeMode: 'processingTime',
    batch: (i) => ({ rows: i % 3 === 2 ? [] : [{ user: `u${i % 2}`, page: `p${i}`, at: new Date(i) }], ts: T0 + i * 20_000, wm: 0 }),
  },
  {
    name: 'top 3 (map state)',
    cls: TopThree as unknown as StatefulProcessorClass,
    input: SCORE_SCHEMA,
    output: TOP_SCHEMA,
    key: 'category',
    timeMode: 'none',
    batch: (i) => ({ rows: [0, 1].map((j) => ({ category: `c${j}`, item: `i${(i * 3 + j) % 5}`, score: (i * 7 + j) % 11 })), ts: T0 + i, wm: 0 }),
  },
  {
    name: 'TTL in value, list and map state',
    cls: TtlProbe as unknown as StatefulProcessorClass,
    input: PROBE_SCHEMA,
    output: PROBE_OUT,
    key: 'k',
    timeMode: 'processingTime',
    batch: (i) => ({ rows: i % 2 === 0 ? [{ k: `k${i % 3}`, v: i, m: `m${i % 2}${i}` }] : [], ts: T0 + i * 4_000, wm: 0 }),
  },
];

function specOf(c: Case): TransformWithStateSpec {
  const input = schemaOf(c.input);
  return {
    kind: 'transformWithState',
    inputSchemas: [input],
    keyOrdinals: [input.fields.findIndex((f) => f.name === c.key)],
    keyNames: [c.key],
    outputSchema: schemaOf(c.output),
    timeMode: c.timeMode,
    outputMode: 'update',
    eventTimeOrdinal: c.timeMode === 'eventTime' ? input.fields.findIndex((f) => f.type === 'timestamp') : null,
    processor: { localId: registerLocalProcessor(c.cls) },
    queryId: 'q',
    runId: 'r',
  };
}

function infoOf(i: number, ts: number, wm: number): BatchInfo {
  return { batchId: i, streaming: true, outputMode: 'update', lateWatermarkMs: wm, evictionWatermarkMs: wm, batchTimestampMs: ts };
}

function run(p: TransformWithStatePartition, c: Case, i: number, deltas?: Map<string, RecordBatch[]>): unknown[] {
  const b = c.batch(i);
  const info = infoOf(i, b.ts, b.wm);
  if (b.rows.length > 0) p.absorb(batchFromRows(b.rows, schemaOf(c.input)), 0, info, 0);
  const { output } = p.finish(info);
  for (const t of p.tables) {
    const d = p.takeDelta(t.name);
    if (deltas && d) deltas.set(t.name, [...(deltas.get(t.name) ?? []), d]);
  }
  return output ? rowsFromBatch(output, p.outputSchema) : [];
}

function snapshots(p: TransformWithStatePartition): Map<string, RecordBatch | null> {
  return new Map(p.tables.map((t) => [t.name, p.snapshot(t.name)]));
}

/** The rows of each table, sorted, for comparing states. */
function stateRows(p: TransformWithStatePartition): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of p.tables) {
    const s = p.snapshot(t.name);
    out[t.name] = s ? rowsFromBatch(s, t.schema).map((r) => JSON.stringify(r)).sort() : [];
  }
  return out;
}

/** Replays deltas into rows by key (the state layer's rule), as a table batch. */
function replay(p: TransformWithStatePartition, deltas: Map<string, RecordBatch[]>): Map<string, RecordBatch | null> {
  const out = new Map<string, RecordBatch | null>();
  for (const t of p.tables) {
    const live = new Map<string, Record<string, unknown>>();
    const ds = deltaSchema(t.schema);
    for (const d of deltas.get(t.name) ?? []) {
      for (const r of rowsFromBatch(d, ds)) {
        const key = JSON.stringify(t.schema.fields.slice(0, t.keyCount).map((f) => r[f.name]));
        const { __op, ...row } = r;
        if (__op === OP_PUT) live.set(key, row);
        else live.delete(key);
      }
    }
    out.set(t.name, live.size === 0 ? null : batchFromRows([...live.values()], t.schema));
  }
  return out;
}

describe('snapshot, restore and deltas', () => {
  for (const c of CASES) {
    it(`${c.name}: a fresh partition restored from a snapshot, or from the replayed deltas, behaves identically`, async () => {
      const spec = specOf(c);
      const a = await createTransformWithStatePartition(spec);
      const deltas = new Map<string, RecordBatch[]>();
      for (let i = 0; i < 4; i++) run(a, c, i, deltas);
      const fromSnap = new TransformWithStatePartition(spec, c.cls);
      fromSnap.restore(snapshots(a));
      const fromDeltas = new TransformWithStatePartition(spec, c.cls);
      fromDeltas.restore(replay(a, deltas));
      expect(stateRows(fromSnap)).toEqual(stateRows(a));
      expect(stateRows(fromDeltas)).toEqual(stateRows(a));
      const after: unknown[] = [];
      for (let i = 4; i < 8; i++) {
        const want = run(a, c, i, deltas);
        after.push(...want);
        expect(run(fromSnap, c, i)).toEqual(want);
        expect(run(fromDeltas, c, i)).toEqual(want);
        expect(stateRows(fromSnap)).toEqual(stateRows(a));
        expect(stateRows(fromDeltas)).toEqual(stateRows(a));
      }
      // The replayed deltas of all 8 batches equal the final snapshot.
      const replayed = replay(a, deltas);
      for (const t of a.tables) {
        const r = replayed.get(t.name);
        expect((r ? rowsFromBatch(r, t.schema).map((x) => JSON.stringify(x)) : []).sort()).toEqual(stateRows(a)[t.name]);
      }
      // The batches after the restore produce output, so the comparison means something.
      expect(after.length).toBeGreaterThan(0);
    });
  }

  it('tables: one per state variable (named after it) plus $timers, keys first', async () => {
    const p = await createTransformWithStatePartition(specOf(CASES[4]!));
    expect(p.tables.map((t) => [t.name, t.role, t.keyCount, t.ttlMs, t.schema.fields.map((f) => f.name)])).toEqual([
      ['value', 'value', 1, 10_000, ['k', 'value', 'expiresAt']],
      ['list', 'list', 1, 10_000, ['k', 'values', 'expiresAt']],
      ['map', 'map', 2, 10_000, ['k', 'mapKey', 'value', 'expiresAt']],
      ['$timers', 'timers', 2, null, ['k', 'expiryMs']],
    ]);
    expect(p.tables.every((t) => t.partitionKeyColumns.join() === '0')).toBe(true);
  });

  it('a variable that changes kind across a restart is refused by name', async () => {
    const base = specOf(CASES[0]!);
    const a = await createTransformWithStatePartition(base);
    run(a, CASES[0]!, 0);
    class FailsAsList extends StatefulProcessor<string> {
      init(h: StatefulProcessorHandle): void {
        h.getListState('fails', 'int');
      }
      handleInputRows(): void {}
    }
    const b = new TransformWithStatePartition({ ...base, processor: { localId: registerLocalProcessor(FailsAsList) } }, FailsAsList);
    expect(() => b.restore(snapshots(a))).toThrow(StateVariableKindChangedError);
    expect(() => b.restore(snapshots(a))).toThrow(/'fails' is created as list state, but the checkpoint holds value state/);
  });

  it('a checkpoint with state variables the processor no longer creates still restores the others', async () => {
    const a = await createTransformWithStatePartition(specOf(CASES[4]!));
    run(a, CASES[4]!, 0);
    class OnlyValue extends StatefulProcessor<string> {
      init(h: StatefulProcessorHandle): void {
        h.getValueState('value', 'int', { ttl: 10_000 });
      }
      handleInputRows(): void {}
    }
    const b = new TransformWithStatePartition({ ...specOf(CASES[4]!), processor: { localId: registerLocalProcessor(OnlyValue) } }, OnlyValue);
    b.restore(snapshots(a));
    expect(stateRows(b).value).toEqual(stateRows(a).value);
  });
});

describe('keys', () => {
  it('a multi-column key reaches the processor as { col: value } and keys the tables by both columns', async () => {
    class Count extends StatefulProcessor<{ a: string; b: number }> {
      private n!: import('../../../engine/api/stateful-processor.js').ValueState<number>;
      init(h: StatefulProcessorHandle): void {
        this.n = h.getValueState('n', 'int');
      }
      handleInputRows(key: { a: string; b: number }, rows: Iterable<unknown>): Record<string, unknown>[] {
        const n = (this.n.get() ?? 0) + [...rows].length;
        this.n.update(n);
        return [{ a: key.a, b: key.b, n }];
      }
    }
    const input = schemaOf({ a: 'string', b: 'int', x: 'double' });
    const spec: TransformWithStateSpec = {
      kind: 'transformWithState',
      inputSchemas: [input],
      keyOrdinals: [0, 1],
      keyNames: ['a', 'b'],
      outputSchema: schemaOf({ a: 'string', b: 'int', n: 'int' }),
      timeMode: 'none',
      outputMode: 'update',
      eventTimeOrdinal: null,
      processor: { localId: registerLocalProcessor(Count) },
      queryId: 'q',
      runId: 'r',
    };
    const p = await createTransformWithStatePartition(spec);
    const info = infoOf(0, 0, 0);
    p.absorb(batchFromRows([{ a: 'x', b: 1, x: 0 }, { a: 'x', b: 2, x: 0 }, { a: 'x', b: 1, x: 0 }], input), 0, info, 0);
    expect(rowsFromBatch(p.finish(info).output!, spec.outputSchema)).toEqual([
      { a: 'x', b: 1, n: 2 },
      { a: 'x', b: 2, n: 1 },
    ]);
    expect(p.tables[0]!.keyCount).toBe(2);
  });

  it('keys whose state is all gone are forgotten, so a stream of never-revisited keys with a TTL stays bounded', async () => {
    const c = CASES[0]!;
    const p = await createTransformWithStatePartition(specOf(c));
    const input = schemaOf(c.input);
    let peakKeys = 0;
    const deltas = new Map<string, RecordBatch[]>();
    for (let i = 0; i < 40; i++) {
      const rows = Array.from({ length: 2_000 }, (_, j) => ({ user: `u${i}-${j}`, success: false, ts: new Date(i) }));
      const info = infoOf(i, i * 600_000, 0);
      p.absorb(batchFromRows(rows, input), 0, info, 0);
      const { metrics } = p.finish(info);
      for (const t of p.tables) {
        const d = p.takeDelta(t.name);
        if (d) deltas.set(t.name, [...(deltas.get(t.name) ?? []), d]);
      }
      // 1-hour TTL, a batch every 10 minutes: at most 6 batches of keys are alive.
      expect(metrics.numRowsTotal).toBeLessThanOrEqual(6 * 2_000);
      peakKeys = Math.max(peakKeys, p.keyCount);
    }
    expect(peakKeys).toBeLessThanOrEqual(4 * 6 * 2_000);
    // The deltas, written across the index rebuilds, still replay to the state.
    const replayed = replay(p, deltas).get('fails');
    const rows = replayed ? rowsFromBatch(replayed, p.tables[0]!.schema).map((r) => JSON.stringify(r)).sort() : [];
    expect(rows).toEqual(stateRows(p).fails);
    expect(rows.length).toBeGreaterThan(0);
  });
});

describe('loading the processor', () => {
  const moduleUrl = new URL('./processors.ts', import.meta.url).href;

  it('from a module and export (movable to workers)', async () => {
    const spec: TransformWithStateSpec = { ...specOf(CASES[0]!), processor: { module: moduleUrl, export: 'FailedLoginDetector' } };
    const kind = operatorKind(spec);
    expect(kind.movable?.(spec)).toBe(true);
    const p = await kind.create(spec);
    expect(p.tables.map((t) => t.name)).toEqual(['fails', '$timers']);
    expect(kind.describeKeys(spec)).toEqual(['user']);
  });

  it('a module without the export, or an export that is not a processor, is refused by name', async () => {
    const bad = (exp: string) => createTransformWithStatePartition({ ...specOf(CASES[0]!), processor: { module: moduleUrl, export: exp } });
    await expect(bad('Nope')).rejects.toThrow(ProcessorNotLoadableError);
    await expect(bad('Nope')).rejects.toThrow(/has no export 'Nope'/);
    await expect(bad('LOCKOUT_MS')).rejects.toThrow(/exports 'LOCKOUT_MS', but it is not a StatefulProcessor class/);
  });

  it('a class registered on another thread is not loadable here, and says to pass a module', async () => {
    const spec = specOf(CASES[0]!);
    expect(operatorKind(spec).movable?.(spec)).toBe(false);
    const elsewhere: TransformWithStateSpec = { ...spec, processor: { localId: 'local:1:99:1:FailedLoginDetector' } };
    expect(() => operatorKind(elsewhere).create(elsewhere)).toThrow(ProcessorNotLoadableError);
    expect(() => operatorKind(elsewhere).create(elsewhere)).toThrow(/export: 'FailedLoginDetector'/);
  });
});

describe('initial state (input 1)', () => {
  it('handleInitialState runs once per initial row, before input rows, and may register timers', async () => {
    class Seeded extends StatefulProcessor<string> {
      private h!: StatefulProcessorHandle;
      private n!: import('../../../engine/api/stateful-processor.js').ValueState<number>;
      init(h: StatefulProcessorHandle): void {
        this.h = h;
        this.n = h.getValueState('n', 'int');
      }
      override handleInitialState(k: string, row: Record<string, unknown>): Record<string, unknown>[] {
        this.n.update((this.n.get() ?? 0) + (row.n as number));
        this.h.registerTimer(5);
        return [{ k, what: `init ${row.n as number}` }];
      }
      handleInputRows(k: string): Record<string, unknown>[] {
        return [{ k, what: `input ${this.n.get() ?? 0}` }];
      }
      override handleExpiredTimer(k: string): Record<string, unknown>[] {
        return [{ k, what: 'timer' }];
      }
    }
    const input = schemaOf({ k: 'string' });
    const init = schemaOf({ n: 'int', key: 'string' });
    const spec: TransformWithStateSpec = {
      kind: 'transformWithState',
      inputSchemas: [input, init],
      keyOrdinals: [0],
      keyNames: ['k'],
      outputSchema: schemaOf({ k: 'string', what: 'string' }),
      timeMode: 'processingTime',
      outputMode: 'append',
      eventTimeOrdinal: null,
      processor: { localId: registerLocalProcessor(Seeded) },
      queryId: 'q',
      runId: 'r',
      initialStateKeyOrdinals: [1],
    };
    const kind = operatorKind(spec);
    const p = await kind.create(spec);
    const info = infoOf(0, 10, 0);
    const initBatch = batchFromRows([{ n: 2, key: 'a' }, { n: 3, key: 'a' }, { n: 1, key: 'b' }], init);
    expect(kind.inputKeys(spec, initBatch, 1, info).map((v) => v.length)).toEqual([3]);
    p.absorb(batchFromRows([{ k: 'a' }], input), 0, info, 0);
    p.absorb(initBatch, 0, info, 1);
    expect(rowsFromBatch(p.finish(info).output!, p.outputSchema)).toEqual([
      { k: 'a', what: 'init 2' },
      { k: 'a', what: 'init 3' },
      { k: 'b', what: 'init 1' },
      { k: 'a', what: 'input 5' },
      { k: 'a', what: 'timer' },
      { k: 'b', what: 'timer' },
    ]);
  });
});

describe('metrics', () => {
  it("rows total, updated, removed and the custom metrics of Spark's names", async () => {
    const c = CASES[1]!;
    const p = await createTransformWithStatePartition(specOf(c));
    const input = schemaOf(c.input);
    const go = (rows: Record<string, unknown>[], wm: number, i: number) => {
      const info = infoOf(i, T0, wm);
      if (rows.length > 0) p.absorb(batchFromRows(rows, input), 0, info, 0);
      return p.finish(info).metrics;
    };
    const f = (u: string, t: number) => ({ user: u, success: false, ts: new Date(T0 + t) });
    let m = go([f('a', 1), f('a', 2), f('a', 3), f('b', 4)], 0, 0);
    // a: fails 1, 2, 3 and lockedAt; b: fails 1.
    expect([m.numRowsTotal, m.numRowsUpdated, m.numRowsRemoved]).toEqual([3, 5, 0]);
    expect(m.custom).toMatchObject({ numValueStateVars: 2, numListStateVars: 0, numMapStateVars: 0, numRegisteredTimers: 1, numExpiredTimers: 0 });
    expect(m.nextWatermarkDueMs).toBe(T0 + 3 + LOCKOUT_MS);
    expect(m.nextDueMs).toBeNull();
    m = go([], T0 + 3 + LOCKOUT_MS, 1);
    // The timer clears a's two values.
    expect([m.numRowsTotal, m.numRowsUpdated, m.numRowsRemoved]).toEqual([1, 0, 2]);
    expect(m.custom).toMatchObject({ numExpiredTimers: 1, numRegisteredTimers: 0 });
    expect(m.nextWatermarkDueMs).toBeNull();
  });
});

describe('getQueryInfo', () => {
  it("names the query and run of the batch (else the spec's) and the batch id", async () => {
    class Info extends StatefulProcessor<string> {
      private h!: StatefulProcessorHandle;
      init(h: StatefulProcessorHandle): void {
        this.h = h;
      }
      handleInputRows(k: string): Record<string, unknown>[] {
        const q = this.h.getQueryInfo();
        return [{ k, info: `${q.getQueryId()}/${q.getRunId()}/${q.getBatchId()}` }];
      }
    }
    const input = schemaOf({ k: 'string' });
    const spec: TransformWithStateSpec = {
      kind: 'transformWithState',
      inputSchemas: [input],
      keyOrdinals: [0],
      keyNames: ['k'],
      outputSchema: schemaOf({ k: 'string', info: 'string' }),
      timeMode: 'none',
      outputMode: 'append',
      eventTimeOrdinal: null,
      processor: { localId: registerLocalProcessor(Info) },
      queryId: 'spec-q',
      runId: 'spec-r',
    };
    const p = await createTransformWithStatePartition(spec);
    const go = (info: BatchInfo) => {
      p.absorb(batchFromRows([{ k: 'a' }], input), 0, info, 0);
      return rowsFromBatch(p.finish(info).output!, spec.outputSchema)[0]!.info;
    };
    expect(go(infoOf(3, 0, 0))).toBe('spec-q/spec-r/3');
    expect(go({ ...infoOf(4, 0, 0), queryId: 'q1', runId: 'r2' })).toBe('q1/r2/4');
  });
});

describe('a single string key', () => {
  it('a null key is a key of its own (apart from the empty string), through the index rebuild and a restore', async () => {
    const { TwsTester } = await import('../../../engine/testing/tws-tester.js');
    class Count extends StatefulProcessor<string | null, { k: string | null }> {
      private n!: import('../../../engine/api/stateful-processor.js').ValueState<number>;
      init(h: StatefulProcessorHandle): void {
        this.n = h.getValueState('n', 'int');
      }
      handleInputRows(k: string | null, rows: Iterable<{ k: string | null }>): Record<string, unknown>[] {
        if (k !== null && k.startsWith('x')) return [];
        let n = this.n.get() ?? 0;
        for (const _ of rows) n++;
        this.n.update(n);
        return [{ k, n }];
      }
    }
    const t = new TwsTester(Count, { inputSchema: { k: 'string' }, outputSchema: { k: 'string', n: 'int' }, timeMode: 'none' });
    expect(t.testRows([{ k: null }, { k: '' }, { k: null }, { k: 'a' }])).toEqual([
      { k: null, n: 2 },
      { k: '', n: 1 },
      { k: 'a', n: 1 },
    ]);
    // Keys without state push the index past its rebuild threshold: the three keys move to new ids.
    t.testRows(Array.from({ length: 10_000 }, (_, i) => ({ k: `x${i}` })));
    expect(t.partition.keyCount).toBe(3);
    expect(t.testRows([{ k: '' }, { k: null }])).toEqual([
      { k: '', n: 2 },
      { k: null, n: 3 },
    ]);
    const p = t.partition;
    const snap = new Map(p.tables.map((tb) => [tb.name, p.snapshot(tb.name)] as const));
    expect(rowsFromBatch(snap.get('n')!, p.tables[0]!.schema).map((r) => JSON.stringify(r)).sort()).toEqual(['{"k":"","value":2}', '{"k":"a","value":1}', '{"k":null,"value":3}']);
    p.restore(snap);
    expect(t.peekValueState('n', null)).toBe(3);
    expect(t.peekValueState('n', '')).toBe(2);
  });
});

describe('many keys in a batch', () => {
  it('each of thousands of keys is handled once with its own rows, keys in arrival order (one row per key, and several)', async () => {
    const { TwsTester } = await import('../../../engine/testing/tws-tester.js');
    class Echo extends StatefulProcessor<string, { k: string; i: number }> {
      init(): void {}
      handleInputRows(k: string, rows: Iterable<{ k: string; i: number }>): Record<string, unknown>[] {
        return [{ k, rows: [...rows].map((r) => `${r.k}:${r.i}`).join(',') }];
      }
    }
    const t = new TwsTester(Echo, { inputSchema: { k: 'string', i: 'int' }, outputSchema: { k: 'string', rows: 'string' }, timeMode: 'none' });
    const keys = Array.from({ length: 3_000 }, (_, j) => `key${(j * 7919) % 3_000}`);
    const single = t.testRows(keys.map((k, i) => ({ k, i })));
    expect(single).toEqual(keys.map((k, i) => ({ k, rows: `${k}:${i}` })));
    const twice = t.testRows([...keys, ...keys].map((k, i) => ({ k, i })));
    expect(twice).toEqual(keys.map((k, i) => ({ k, rows: `${k}:${i},${k}:${i + 3_000}` })));
  });
});

describe('forgetting keys emptied in a batch', () => {
  it('keys whose state a batch cleared leave the key index once their delta is taken, at the next batch', async () => {
    const { TwsTester } = await import('../../../engine/testing/tws-tester.js');
    class SetOrClear extends StatefulProcessor<string, { k: string; on: boolean }> {
      private v!: import('../../../engine/api/stateful-processor.js').ValueState<number>;
      init(h: StatefulProcessorHandle): void {
        this.v = h.getValueState('v', 'int');
      }
      handleInputRows(_k: string, rows: Iterable<{ k: string; on: boolean }>): void {
        for (const r of rows) {
          if (r.on) this.v.update(1);
          else this.v.clear();
        }
      }
    }
    const t = new TwsTester(SetOrClear, { inputSchema: { k: 'string', on: 'boolean' }, outputSchema: { k: 'string' }, timeMode: 'none' });
    t.testRows(Array.from({ length: 10_000 }, (_, i) => ({ k: `k${i}`, on: true })));
    expect(t.partition.keyCount).toBe(10_000);
    // All but 10 keys are cleared: their removals are this batch's delta, so the index keeps them for now.
    t.testRows(Array.from({ length: 9_990 }, (_, i) => ({ k: `k${i + 10}`, on: false })));
    expect(t.lastMetrics?.numRowsTotal).toBe(10);
    expect(t.partition.keyCount).toBe(10_000);
    // The deltas were taken: the next batch forgets the emptied keys (the index has not grown since its last scan).
    t.testRows([{ k: 'k0', on: true }]);
    expect(t.partition.keyCount).toBe(10);
    expect(t.peekValueState('v', 'k9')).toBe(1);
    expect(t.peekValueState('v', 'k10')).toBeUndefined();
  });
});

describe('forgetting keys keeps the others whole', () => {
  it('timers and TTL values of the surviving keys stay with their keys after the key index is rebuilt', async () => {
    const { TwsTester } = await import('../../../engine/testing/tws-tester.js');
    class Mixed extends StatefulProcessor<string, { k: string }> {
      private h!: StatefulProcessorHandle;
      private v!: import('../../../engine/api/stateful-processor.js').ValueState<string>;
      init(h: StatefulProcessorHandle): void {
        this.h = h;
        this.v = h.getValueState('v', 'string', { ttl: 1_000 });
      }
      handleInputRows(k: string): void {
        if (k.startsWith('t')) this.h.registerTimer(500 + Number(k.slice(1)));
        if (k.startsWith('v')) this.v.update(`value of ${k}`);
      }
      override handleExpiredTimer(k: string, _tv: unknown, info: import('../../../engine/api/stateful-processor.js').ExpiredTimerInfo): Record<string, unknown>[] {
        return [{ k, t: info.getExpiryTimeInMs() }];
      }
    }
    const t = new TwsTester(Mixed, { inputSchema: { k: 'string' }, outputSchema: { k: 'string', t: 'long' }, timeMode: 'processingTime' });
    // Keys without state first, so the kept keys move to new ids when the index is rebuilt.
    t.testRows([...Array.from({ length: 10_000 }, (_, i) => ({ k: `x${i}` })), { k: 't2' }, { k: 't1' }, { k: 'v1' }, { k: 'v2' }]);
    // 10 004 keys were seen; 4 hold state.
    expect(t.partition.keyCount).toBe(4);
    expect(t.peekValueState('v', 'v2')).toBe('value of v2');
    expect(t.listTimers('t1')).toEqual([501]);
    t.setProcessingTime(600);
    expect(t.fireTimers()).toEqual([
      { k: 't1', t: 501 },
      { k: 't2', t: 502 },
    ]);
    t.setProcessingTime(1_000);
    t.fireTimers();
    expect(t.lastMetrics?.custom?.numValuesRemovedDueToTTLExpiry).toBe(2);
    expect(t.lastMetrics?.numRowsTotal).toBe(0);
  });
});
