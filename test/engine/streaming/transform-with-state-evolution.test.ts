// A restart of transformWithState on a checkpoint whose state variables the processor changed: a new variable starts
// empty; one whose kind, type or TTL changed is refused before any state loads, naming it (not "the checkpoint belongs
// to a different query" from deep in the state store).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  col,
  IncompatibleStateTableError,
  Session,
  StatefulProcessor,
  type StatefulProcessorClass,
  type StatefulProcessorHandle,
  type ValueState,
} from '../../../engine/index.js';

type Row = { user: string };

/** Counts rows per user in `seen` (no TTL); emits the running count. */
class Counter extends StatefulProcessor<string, Row> {
  protected seen!: ValueState<number>;
  init(h: StatefulProcessorHandle): void {
    this.seen = h.getValueState<number>('seen', 'int');
  }
  *handleInputRows(user: string, rows: Iterable<Row>) {
    let n = this.seen.get() ?? 0;
    for (const _ of rows) n++;
    this.seen.update(n);
    yield { user, n };
  }
}
/** The same variable with a TTL. */
class CounterWithTtl extends Counter {
  override init(h: StatefulProcessorHandle): void {
    this.seen = h.getValueState<number>('seen', 'int', { ttl: '1 hour' });
  }
}
/** `seen` as a long. */
class CounterAsLong extends Counter {
  override init(h: StatefulProcessorHandle): void {
    this.seen = h.getValueState<number>('seen', 'long');
  }
}
/** `seen` as a list. */
class CounterAsList extends StatefulProcessor<string, Row> {
  init(h: StatefulProcessorHandle): void {
    h.getListState<number>('seen', 'int');
  }
  handleInputRows(): void {}
}
/** The counter plus a new variable. */
class CounterWithMore extends Counter {
  private last!: ValueState<string>;
  override init(h: StatefulProcessorHandle): void {
    super.init(h);
    this.last = h.getValueState<string>('last', 'string');
  }
  override *handleInputRows(user: string, rows: Iterable<Row>) {
    yield* super.handleInputRows(user, rows);
    this.last.update(user);
  }
}

async function run(dir: string, ckpt: string, processor: StatefulProcessorClass): Promise<Record<string, unknown>[]> {
  const session = new Session({ conf: { parallelism: 1 } });
  const q = session.readStream.format('jsonl').schema({ user: 'string' }).load(dir)
    .groupByKey(col('user'))
    .transformWithState(processor, { outputSchema: { user: 'string', n: 'int' }, timeMode: 'processingTime' })
    .writeStream.format('memory').queryName(`evolve_${Math.random().toString(36).slice(2)}`)
    .option('checkpointLocation', ckpt)
    .trigger({ availableNow: true })
    .start();
  await q.awaitTermination();
  return session.table(q.name!).collect();
}

describe('transformWithState restarted with changed state variables', () => {
  const setup = () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-tws-evolve-in-'));
    const ckpt = mkdtempSync(join(tmpdir(), 'sluice-tws-evolve-ckpt-'));
    writeFileSync(join(dir, '1.jsonl'), '{"user":"a"}\n{"user":"a"}\n');
    return { dir, ckpt, more: () => writeFileSync(join(dir, '2.jsonl'), '{"user":"a"}\n') };
  };

  it('keeps its state when a variable is added (the new one starts empty)', async () => {
    const { dir, ckpt, more } = setup();
    expect(await run(dir, ckpt, Counter)).toEqual([{ user: 'a', n: 2 }]);
    more();
    expect(await run(dir, ckpt, CounterWithMore)).toEqual([{ user: 'a', n: 3 }]);
    // The new table's first version was a full snapshot: the next restart loads both tables.
    writeFileSync(join(dir, '3.jsonl'), '{"user":"a"}\n');
    expect(await run(dir, ckpt, CounterWithMore)).toEqual([{ user: 'a', n: 4 }]);
  });

  for (const [what, changed, message] of [
    ['a TTL added', CounterWithTtl, /State variable 'seen' has other columns than in the checkpoint \(a TTL was added\)/],
    ['another type', CounterAsLong, /State variable 'seen' has other columns.*value int.*value long/],
    ['another kind', CounterAsList, /STATE_STORE_INVALID_VARIABLE_TYPE_CHANGE.*'seen' was value state in the checkpoint.*list state now/],
  ] as const) {
    it(`refuses a variable with ${what}, naming it`, async () => {
      const { dir, ckpt, more } = setup();
      await run(dir, ckpt, Counter);
      more();
      const err = await run(dir, ckpt, changed).then(() => null, (e: unknown) => e);
      expect(err).not.toBeNull();
      const cause = (err as Error).cause ?? err;
      expect(cause).toBeInstanceOf(IncompatibleStateTableError);
      expect((cause as Error).message).toMatch(message);
    });
  }
});
