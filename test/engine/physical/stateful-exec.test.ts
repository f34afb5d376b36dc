import type { RecordBatch } from 'apache-arrow';
import { describe, expect, it, vi } from 'vitest';
import { ExecNode, type ExecContext } from '../../../engine/physical/exec-node.js';
import { StatefulExec } from '../../../engine/physical/stateful-exec.js';
import { field, schemaOf, type Schema } from '../../../engine/types/data-type.js';
import { batchFromRows } from '../../../engine/types/values.js';
import type { WorkerContext } from '../../../engine/workers/partition-runner.js';
import type { PairCountSpec } from '../workers/pair-count-kind.js';

const LEFT = schemaOf([field('k', 'string', false)]);

/** Yields the rows it is given, once per execution. */
class Rows extends ExecNode {
  readonly schema = LEFT;
  readonly children = [];
  constructor(private readonly batches: RecordBatch[]) {
    super();
  }
  async *execute(): AsyncIterable<RecordBatch> {
    yield* this.batches;
  }
  describe(): string {
    return 'Rows';
  }
}

/** A stateful node over the test kind `test-pair-count` (its left input only). */
class PairCountExec extends StatefulExec {
  readonly operatorName = 'pairCount';
  constructor(child: ExecNode, movable: boolean) {
    super(child, { kind: 'test-pair-count', inputSchemas: [LEFT, LEFT], keyColumns: [0, 0], movable } satisfies PairCountSpec as PairCountSpec);
  }
  get schema(): Schema {
    return this.runner.inline!.outputSchema;
  }
  protected stateSchemaForSignature(): Schema {
    return LEFT;
  }
  describe(): string {
    return 'PairCountExec';
  }
  needsNoDataBatch(): boolean {
    return this.nextDueMs !== null;
  }
  due(): number | null {
    return this.nextDueMs;
  }
}

const workers = (parallelism: number): WorkerContext => ({
  parallelism,
  thresholdRows: 1,
  minRowNs: 0,
  pool: () => {
    throw new Error('no pool in this test');
  },
});

const ctx = (batchId: number, parallelism = 1): ExecContext => ({
  batchId,
  streaming: true,
  outputMode: 'update',
  lateWatermarkMs: 0,
  evictionWatermarkMs: 0,
  env: { batchTimestampMs: 5_000 },
  inputs: new Map(),
  workers: workers(parallelism),
});

async function drain(node: ExecNode, c: ExecContext): Promise<void> {
  for await (const _ of node.execute(c));
}

describe('StatefulExec over any operator kind', () => {
  it("shows the partitions' custom metrics in its progress, keeps their next due time, and adds nothing for a kind without them", async () => {
    await import('../workers/pair-count-kind.js');
    const node = new PairCountExec(new Rows([batchFromRows([{ k: 'a' }, { k: 'b' }, { k: 'a' }], LEFT)]), true);
    await drain(node, ctx(0));
    expect(node.metrics()).toMatchObject({ operatorName: 'pairCount', numRowsTotal: 2, customMetrics: { leftRows: 3, rightRows: 0 } });
    expect(node.due()).toBe(6_000);
    expect(node.needsNoDataBatch()).toBe(true);
    // The built-in operators report no custom metrics: their progress JSON has no such key.
    const { DedupExec } = await import('../../../engine/physical/dedup-exec.js');
    const dedup = new DedupExec(new Rows([batchFromRows([{ k: 'a' }], LEFT)]), [0], null, false);
    await drain(dedup, ctx(0));
    expect(Object.keys(dedup.metrics())).not.toContain('customMetrics');
    expect(JSON.stringify(dedup.metrics())).not.toContain('custom');
  });

  it('logs once why an operator that cannot move to the workers stays on the calling thread', async () => {
    await import('../workers/pair-count-kind.js');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const node = new PairCountExec(new Rows([batchFromRows([{ k: 'a' }], LEFT)]), false);
      await drain(node, ctx(0, 2));
      await drain(node, ctx(1, 2));
      expect(node.statePartitions).toBe(1);
      expect(warn.mock.calls).toEqual([["sluice: pairCount (state operator 0) stays on the calling thread: operator kind 'test-pair-count' cannot be built on a worker thread"]]);
    } finally {
      warn.mockRestore();
    }
  });
});
