import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStream, optimizeTable, Session, tableHistory, vacuumTable } from '../../../engine/index.js';
import { DeltaOptionsError, DeltaTable, DeltaTableNotFoundError } from '../../../connectors/lakehouse/index.js';
import { runCli } from '../../cli/helpers.js';
import { schemaOf } from '../../../engine/types/data-type.js';

const SCHEMA = { id: 'long', product: 'string' } as const;

/** A stream of `batches` one-row micro-batches into a Delta table; returns the table's ids and the last sink metrics. */
async function smallBatches(table: string, batches: number, options: Record<string, string> = {}) {
  const session = new Session();
  const input = new MemoryStream(session, SCHEMA);
  let w = input.toDF().writeStream.format('delta').option('checkpointLocation', join(table, '..', `ckpt-${Math.random()}`));
  for (const [k, v] of Object.entries(options)) w = w.option(k, v);
  const q = w.start(table);
  for (let i = 0; i < batches; i++) {
    input.addData([{ id: i, product: `p${i % 3}` }]);
    await q.processAllAvailable();
  }
  await q.stop();
  if (q.exception) throw q.exception;
  const ids = (await session.read.format('delta').load(table).collect()).map((r) => Number(r['id'])).sort((a, b) => a - b);
  return { ids, metrics: q.lastProgress!.sink.metrics };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('Delta maintenance from the public entry', () => {
  it('optimizeTable compacts a stream\'s small files without changing rows; history shows it; vacuumTable deletes what it removed', async () => {
    const table = join(mkdtempSync(join(tmpdir(), 'sluice-maint-')), 'sales');
    const { ids } = await smallBatches(table, 12);
    const t = DeltaTable.forPath(table);
    expect(await t.files()).toHaveLength(12);
    const r = await optimizeTable(table);
    expect(r).toMatchObject({ filesRemoved: 12, filesAdded: 1, partitionsOptimized: 1 });
    expect(await t.files()).toHaveLength(1);
    expect((await readIds(table)).sort((a, b) => a - b)).toEqual(ids);
    const [latest] = await tableHistory(table, 1);
    expect(latest).toMatchObject({ version: r.version, operation: 'OPTIMIZE' });
    expect(await tableHistory(table)).toHaveLength(r.version! + 1);
    const dry = await vacuumTable(table, { retentionHours: 0, force: true, dryRun: true });
    expect(dry.filesDeleted).toHaveLength(12);
    expect((await vacuumTable(table, { retentionHours: 0, force: true })).filesDeleted).toHaveLength(12);
    expect((await readIds(table)).sort((a, b) => a - b)).toEqual(ids);
    await expect(vacuumTable(table, { retentionHours: 1 })).rejects.toThrow(/minimum is 168 hours/);
  });

  it('names a path that holds no table', async () => {
    const nowhere = join(tmpdir(), `sluice-no-table-${Math.random()}`);
    for (const call of [() => optimizeTable(nowhere), () => vacuumTable(nowhere), () => tableHistory(nowhere)]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeltaTableNotFoundError);
      expect((err as Error).message).toContain(`No Delta table at '${nowhere}'`);
    }
  });
});

async function readIds(table: string): Promise<number[]> {
  return (await new Session().read.format('delta').load(table).collect()).map((r) => Number(r['id']));
}

describe('Auto-compaction of a streaming Delta sink', () => {
  it('is off by default: one file per batch', async () => {
    const table = join(mkdtempSync(join(tmpdir(), 'sluice-ac-')), 't');
    const { ids, metrics } = await smallBatches(table, 9);
    expect(ids).toEqual(range(9));
    expect(await DeltaTable.forPath(table).files()).toHaveLength(9);
    expect(metrics['compactions']).toBe('0');
  });

  it('with autoCompact, a batch that leaves autoCompactMinNumFiles small files is followed by a compaction; rows unchanged', async () => {
    const table = join(mkdtempSync(join(tmpdir(), 'sluice-ac-')), 't');
    const { ids, metrics } = await smallBatches(table, 14, { autoCompact: 'true', autoCompactMinNumFiles: '5' });
    expect(ids).toEqual(range(14));
    // Batches 0–4 leave 5 small files → compacted into 1; with batches 5–8 that is 5 again → compacted (the
    // compacted file is still small, so it is rewritten too); likewise after 9–12; batch 13 leaves 2.
    expect(await DeltaTable.forPath(table).files()).toHaveLength(2);
    expect(metrics).toMatchObject({ compactions: '3', filesCompacted: '15', batchesCommitted: '14' });
    const ops = (await tableHistory(table)).map((h) => h.operation);
    expect(ops.filter((o) => o === 'OPTIMIZE')).toHaveLength(3);
  });

  it('follows the table property delta.autoOptimize.autoCompact when the option is not given', async () => {
    const table = join(mkdtempSync(join(tmpdir(), 'sluice-ac-')), 't');
    await DeltaTable.forPath(table).create(schemaOf(SCHEMA), { configuration: { 'delta.autoOptimize.autoCompact': 'true' } });
    const { ids, metrics } = await smallBatches(table, 6, { autoCompactMinNumFiles: '3' });
    expect(ids).toEqual(range(6));
    expect(Number(metrics['compactions'])).toBeGreaterThanOrEqual(2);
  });

  it('is refused on a batch write, and a bad value names the option', async () => {
    const session = new Session();
    const df = session.createDataFrame([{ id: 1, product: 'a' }], SCHEMA);
    const dir = mkdtempSync(join(tmpdir(), 'sluice-ac-'));
    const err = await Promise.resolve()
      .then(() => df.write.format('delta').option('autoCompact', 'true').save(join(dir, 't')))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeltaOptionsError);
    expect((err as Error).message).toMatch(/applies to a streaming query's sink/);
    const input = new MemoryStream(session, SCHEMA);
    expect(() => input.toDF().writeStream.format('delta').option('autoCompact', 'yes').option('checkpointLocation', join(dir, 'c')).start(join(dir, 'u'))).toThrow(/autoCompact must be true or false/);
  });
});

describe('sluice optimize | vacuum | history', () => {
  it('compact, list and clean a table from the command line', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-maint-cli-'));
    const table = join(root, 'sales');
    await smallBatches(table, 6);
    const opt = await runCli(['optimize', table]);
    expect(opt.code, opt.stderr).toBe(0);
    expect(opt.stdout).toContain(`${table}: version 6: 6 files compacted into 1 in 1 partition(s); rows unchanged`);
    const again = await runCli(['optimize', table, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ version: null, filesRemoved: 0 });
    const hist = await runCli(['history', table, '-n', '2']);
    expect(hist.code, hist.stderr).toBe(0);
    expect(hist.stdout.trim().split('\n')).toHaveLength(2);
    expect(hist.stdout.split('\n')[0]).toMatch(/^ +6 {2}\d{4}-\d\d-\d\dT.* {2}OPTIMIZE {2}/);
    const dry = await runCli(['vacuum', table, '--retention-hours', '0', '--force', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`${table}: 6 file(s) would be deleted (dry run)`);
    const refused = await runCli(['vacuum', table, '--retention-hours', '1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/minimum is 168 hours/);
    rmSync(join(table, '_delta_log'), { recursive: true });
    const missing = await runCli(['history', table]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`No Delta table at '${table}'`);
  });
});
