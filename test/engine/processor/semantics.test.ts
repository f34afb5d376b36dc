import { describe, expect, it } from 'vitest';
import { StatefulProcessor, type StatefulProcessorHandle, type ValueState } from '../../../engine/api/stateful-processor.js';
import { TwsTester } from '../../../engine/testing/tws-tester.js';
import {
  InvalidHandleStateError,
  InvalidTimeModeError,
  StateVariableKindChangedError,
  StateVariableOptionError,
  TransformWithStateOutputError,
  TransformWithStateUserError,
} from '../../../engine/physical/partitions/transform-with-state-partition.js';
import { Echo, ECHO_SCHEMA, ORDER_OUT, ORDER_SCHEMA, PROBE_OUT, PROBE_SCHEMA, PROBE_TTL_MS, TimerOrder, TtlProbe } from './processors.js';

describe('TTL (processing time: the batch timestamp)', () => {
  const probe = (timeMode: 'processingTime' | 'eventTime' | 'none' = 'processingTime') =>
    new TwsTester(TtlProbe, { inputSchema: PROBE_SCHEMA, keyColumns: ['k'], outputSchema: PROBE_OUT, timeMode });

  it('a value expires at the batch where timestamp ≥ write + ttl: hidden in that batch, removed and counted at its end', () => {
    const t = probe();
    t.setProcessingTime(1_000);
    t.test('a', [{ v: 1, m: 'x' }]);
    expect(t.lastMetrics?.numRowsTotal).toBe(3);
    t.setProcessingTime(1_000 + PROBE_TTL_MS - 1);
    expect(t.test('a', [{ v: null, m: null }])).toEqual([{ k: 'a', value: 1, list: [1], mapKeys: ['x'] }]);
    expect(t.lastMetrics?.numRowsRemoved).toBe(0);
    t.setProcessingTime(1_000 + PROBE_TTL_MS);
    // Read in the expiring batch: already hidden.
    expect(t.test('a', [{ v: null, m: null }])).toEqual([{ k: 'a', value: null, list: [], mapKeys: [] }]);
    const m = t.lastMetrics!;
    expect(m.numRowsTotal).toBe(0);
    expect(m.numRowsRemoved).toBe(3);
    expect(m.custom?.numValuesRemovedDueToTTLExpiry).toBe(3);
    expect(t.partition.snapshot('value')).toBeNull();
    expect(t.partition.snapshot('list')).toBeNull();
    expect(t.partition.snapshot('map')).toBeNull();
  });

  it('expired state is removed by a no-data batch too, and nextDueMs names the expiry', () => {
    const t = probe();
    t.setProcessingTime(5_000);
    t.test('a', [{ v: 1, m: 'x' }]);
    expect(t.lastMetrics?.nextDueMs).toBe(5_000 + PROBE_TTL_MS);
    t.setProcessingTime(5_000 + PROBE_TTL_MS);
    t.fireTimers();
    expect(t.lastMetrics?.numRowsTotal).toBe(0);
    expect(t.lastMetrics?.custom?.numValuesRemovedDueToTTLExpiry).toBe(3);
    expect(t.lastMetrics?.nextDueMs).toBeNull();
  });

  it('a rewrite renews the expiry', () => {
    const t = probe();
    t.setProcessingTime(0);
    t.test('a', [{ v: 1, m: 'x' }]);
    t.setProcessingTime(PROBE_TTL_MS - 1);
    t.test('a', [{ v: 2, m: 'x' }]);
    t.setProcessingTime(PROBE_TTL_MS);
    t.fireTimers();
    // The value and the map entry were rewritten; the list's first element expires on its own.
    expect(t.peekValueState('value', 'a')).toBe(2);
    expect(t.peekMapState('map', 'a')).toEqual(new Map([['x', 2]]));
    expect(t.peekListState('list', 'a')).toEqual([2]);
    expect(t.lastMetrics?.custom?.numValuesRemovedDueToTTLExpiry).toBe(1);
    expect(t.lastMetrics?.numRowsTotal).toBe(3);
  });

  it('list elements expire one by one, map entries per map key', () => {
    const t = probe();
    t.setProcessingTime(0);
    t.test('a', [{ v: 1, m: 'x' }]);
    t.setProcessingTime(3_000);
    t.test('a', [{ v: 2, m: 'y' }]);
    t.setProcessingTime(PROBE_TTL_MS);
    expect(t.test('a', [{ v: null, m: null }])).toEqual([{ k: 'a', value: 2, list: [2], mapKeys: ['y'] }]);
    expect(t.lastMetrics?.custom?.numValuesRemovedDueToTTLExpiry).toBe(2);
    expect(t.lastMetrics?.numRowsTotal).toBe(3);
    // The delta rewrote the list without its expired element and deleted the map entry.
    t.setProcessingTime(3_000 + PROBE_TTL_MS);
    t.fireTimers();
    expect(t.lastMetrics?.numRowsTotal).toBe(0);
  });

  it('is allowed in eventTime mode too, still counted in processing time; none refuses it (Spark)', () => {
    expect(() => probe('none')).toThrow(/STATEFUL_PROCESSOR_INCORRECT_TIME_MODE_TO_ASSIGN_TTL.*timeMode 'none'/);
    for (const mode of ['eventTime'] as const) {
      const t = probe(mode);
      t.setProcessingTime(0);
      t.test('a', [{ v: 1, m: 'x' }]);
      t.setWatermark(10 * PROBE_TTL_MS);
      t.setProcessingTime(PROBE_TTL_MS - 1);
      expect(t.test('a', [{ v: null, m: null }])[0]).toMatchObject({ value: 1 });
      t.setProcessingTime(PROBE_TTL_MS);
      expect(t.test('a', [{ v: null, m: null }])[0]).toMatchObject({ value: null, list: [], mapKeys: [] });
    }
  });

  it('refuses a negative TTL', () => {
    class Bad extends StatefulProcessor {
      init(h: StatefulProcessorHandle): void {
        h.getValueState('v', 'int', { ttl: -5 });
      }
      handleInputRows(): void {}
    }
    expect(() => new TwsTester(Bad, { inputSchema: { k: 'string' }, outputSchema: { k: 'string' } })).toThrow(StateVariableOptionError);
  });
});

describe('order within a batch', () => {
  const tester = () => new TwsTester(TimerOrder, { inputSchema: ORDER_SCHEMA, keyColumns: ['k'], outputSchema: ORDER_OUT, timeMode: 'processingTime' });

  it('input rows first, then due timers across keys ascending; a due timer registered during input fires in the same batch', () => {
    const t = tester();
    t.setProcessingTime(100);
    t.testRows([
      { k: 'b', at: 500 },
      { k: 'a', at: 300 },
      { k: 'c', at: 400 },
    ]);
    t.setProcessingTime(1_000);
    const out = t.testRows([
      { k: 'z', at: 50 },
      { k: 'a', at: 2_000 },
    ]);
    expect(out).toEqual([
      { k: 'z', what: 'input', t: 50 },
      { k: 'a', what: 'input', t: 2_000 },
      { k: 'z', what: 'timer', t: 50 },
      { k: 'a', what: 'timer', t: 300 },
      { k: 'c', what: 'timer', t: 400 },
      { k: 'b', what: 'timer', t: 500 },
    ]);
    expect(t.listTimers('a')).toEqual([2_000]);
    expect(t.lastMetrics?.custom?.numExpiredTimers).toBe(4);
    expect(t.lastMetrics?.nextDueMs).toBe(2_000);
  });

  it('timers are a set per key', () => {
    const t = tester();
    t.testRows([
      { k: 'a', at: 300 },
      { k: 'a', at: 300 },
    ]);
    expect(t.listTimers('a')).toEqual([300]);
    expect(t.lastMetrics?.custom?.numRegisteredTimers).toBe(1);
    t.setProcessingTime(300);
    expect(t.fireTimers()).toEqual([{ k: 'a', what: 'timer', t: 300 }]);
  });

  it('rows of a key keep their arrival order and keys are handled once per batch', () => {
    const t = new TwsTester(Echo, { inputSchema: ECHO_SCHEMA, outputSchema: ECHO_SCHEMA });
    const rows = [
      { k: 'a', ts: new Date(3) },
      { k: 'b', ts: new Date(1) },
      { k: 'a', ts: new Date(1) },
      { k: 'a', ts: new Date(2) },
    ];
    expect(t.testRows(rows)).toEqual([rows[0], rows[2], rows[3], rows[1]]);
  });
});

describe('late rows', () => {
  const rows = [
    { k: 'a', ts: new Date(50) },
    { k: 'a', ts: new Date(100) },
    { k: 'a', ts: new Date(150) },
    { k: 'b', ts: null },
  ];

  it('eventTime drops rows at or below the watermark (null never late) and counts them', () => {
    const t = new TwsTester(Echo, { inputSchema: ECHO_SCHEMA, outputSchema: ECHO_SCHEMA, timeMode: 'eventTime', eventTimeColumn: 'ts' });
    t.setWatermark(100);
    expect(t.testRows(rows)).toEqual([rows[2], rows[3]]);
    expect(t.lastMetrics?.numRowsDroppedByWatermark).toBe(2);
  });

  it('processingTime and none never drop', () => {
    for (const timeMode of ['processingTime', 'none'] as const) {
      const t = new TwsTester(Echo, { inputSchema: ECHO_SCHEMA, outputSchema: ECHO_SCHEMA, timeMode, eventTimeColumn: 'ts' });
      t.setWatermark(100);
      expect(t.testRows(rows)).toHaveLength(4);
      expect(t.lastMetrics?.numRowsDroppedByWatermark).toBe(0);
    }
  });
});

describe('refusals', () => {
  class TimerInNone extends StatefulProcessor<string> {
    private h!: StatefulProcessorHandle;
    init(h: StatefulProcessorHandle): void {
      this.h = h;
    }
    handleInputRows(): void {
      this.h.registerTimer(1);
    }
  }

  it("timers in timeMode 'none'", () => {
    const t = new TwsTester(TimerInNone, { inputSchema: { k: 'string' }, outputSchema: { k: 'string' } });
    expect(() => t.test('a', [{}])).toThrow(InvalidTimeModeError);
    expect(() => t.test('a', [{}])).toThrow(/registerTimer\(\) is not allowed in timeMode 'none'/);
  });

  it('creating state after init', () => {
    class Late extends StatefulProcessor<string> {
      private h!: StatefulProcessorHandle;
      init(h: StatefulProcessorHandle): void {
        this.h = h;
      }
      handleInputRows(): void {
        this.h.getValueState('v', 'int');
      }
    }
    const t = new TwsTester(Late, { inputSchema: { k: 'string' }, outputSchema: { k: 'string' } });
    expect(() => t.test('a', [{}])).toThrow(InvalidHandleStateError);
  });

  it('using state or timers in init', () => {
    class ReadInInit extends StatefulProcessor<string> {
      init(h: StatefulProcessorHandle): void {
        h.getValueState<number>('v', 'int').get();
      }
      handleInputRows(): void {}
    }
    expect(() => new TwsTester(ReadInInit, { inputSchema: { k: 'string' }, outputSchema: { k: 'string' } })).toThrow(InvalidHandleStateError);
    class TimerInInit extends StatefulProcessor<string> {
      init(h: StatefulProcessorHandle): void {
        h.registerTimer(5);
      }
      handleInputRows(): void {}
    }
    expect(() => new TwsTester(TimerInInit, { inputSchema: { k: 'string' }, outputSchema: { k: 'string' }, timeMode: 'processingTime' })).toThrow(
      /INVALID_HANDLE_STATE: registerTimer\(\) was called in init\(\)/,
    );
  });

  it('a name reused with another kind', () => {
    class Twice extends StatefulProcessor<string> {
      init(h: StatefulProcessorHandle): void {
        h.getValueState('s', 'int');
        h.getListState('s', 'int');
      }
      handleInputRows(): void {}
    }
    expect(() => new TwsTester(Twice, { inputSchema: { k: 'string' }, outputSchema: { k: 'string' } })).toThrow(StateVariableKindChangedError);
  });

  it('a user exception names the handler, the key and the batch, and keeps the cause', () => {
    class Throws extends StatefulProcessor<string> {
      private n!: ValueState<number>;
      init(h: StatefulProcessorHandle): void {
        this.n = h.getValueState('n', 'int');
      }
      handleInputRows(k: string): void {
        this.n.update(1);
        if (k === 'bob') throw new RangeError('bob is not welcome');
      }
    }
    const t = new TwsTester(Throws, { inputSchema: { k: 'string' }, outputSchema: { k: 'string' } });
    t.test('alice', [{}]);
    let err: unknown;
    try {
      t.test('bob', [{}]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TransformWithStateUserError);
    const e = err as TransformWithStateUserError;
    expect(e.message).toContain('Throws.handleInputRows');
    expect(e.message).toContain('"bob"');
    expect(e.message).toContain('batch 1');
    expect(e.message).toContain('RangeError: bob is not welcome');
    expect(e.cause).toBeInstanceOf(RangeError);
  });

  it('an output row that does not match outputSchema names the column, the key and the batch', () => {
    class WrongOut extends StatefulProcessor<string> {
      init(): void {}
      handleInputRows(k: string): Record<string, unknown>[] {
        return [{ k, n: 'many' }];
      }
    }
    const t = new TwsTester(WrongOut, { inputSchema: { k: 'string' }, outputSchema: { k: 'string', n: 'int' } });
    expect(() => t.test('a', [{}])).toThrow(TransformWithStateOutputError);
    expect(() => t.test('a', [{}])).toThrow(/column 'n'.*key "a", batch 1/);
    class ExtraOut extends StatefulProcessor<string> {
      init(): void {}
      handleInputRows(k: string): Record<string, unknown>[] {
        return [{ k, extra: 1 }];
      }
    }
    const t2 = new TwsTester(ExtraOut, { inputSchema: { k: 'string' }, outputSchema: { k: 'string' } });
    expect(() => t2.test('a', [{}])).toThrow(/column 'extra' that outputSchema does not declare/);
  });
});

describe('state values are copies', () => {
  it('changing an object after update(), or one that get() returned, does not change the state', () => {
    class Mutates extends StatefulProcessor<string, { k: string }> {
      private s!: ValueState<{ n: number; at: Date }>;
      private l!: import('../../../engine/api/stateful-processor.js').ListState<{ n: number }>;
      private m!: import('../../../engine/api/stateful-processor.js').MapState<string, Date>;
      init(h: StatefulProcessorHandle): void {
        this.s = h.getValueState('s', { n: 'int', at: 'timestamp' });
        this.l = h.getListState('l', { n: 'int' });
        this.m = h.getMapState('m', 'string', 'timestamp');
      }
      handleInputRows(k: string): Record<string, unknown>[] {
        const cur = this.s.get();
        if (cur === undefined) {
          const v = { n: 1, at: new Date(5) };
          this.s.update(v);
          this.l.appendValue(v);
          this.m.updateValue('x', v.at);
          v.n = 99;
          v.at.setTime(99);
          return [];
        }
        const seen = `${cur.n} ${cur.at.getTime()} ${[...this.l.get()][0]!.n} ${this.m.getValue('x')!.getTime()}`;
        cur.n = 42;
        cur.at.setTime(42);
        [...this.l.get()][0]!.n = 42;
        this.m.getValue('x')!.setTime(42);
        return [{ k, seen }];
      }
    }
    const t = new TwsTester(Mutates, { inputSchema: { k: 'string' }, outputSchema: { k: 'string', seen: 'string' } });
    t.test('a', [{}]);
    expect(t.test('a', [{}])).toEqual([{ k: 'a', seen: '1 5 1 5' }]);
    expect(t.test('a', [{}])).toEqual([{ k: 'a', seen: '1 5 1 5' }]);
  });
});
