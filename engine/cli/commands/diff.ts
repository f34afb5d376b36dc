/**
 * `sluice diff <pipeline> --input <path>`: runs the query as a batch and as a stream over the same input — the stream
 * fed from a MemoryStream in micro-batches of random sizes — and reports whether the results are identical: the
 * "a batch is a bounded stream" promise, checkable by a user.
 *
 * In append mode a stream never emits the windows its final watermark has not passed; those are listed as still open
 * and left out of the comparison. Rows the stream dropped as late are real differences (a batch has no late data) and
 * are explained by the count of late rows.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { dataFrameFromSpec, MemoryStream, Session, type PipelineSpec, type Row } from '../../index.js';
import { exprName, unalias } from '../../logical/expr.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { inputOverride } from '../input-range.js';
import { loadPipeline } from '../load-pipeline.js';
import type { Output } from '../output.js';

export interface DiffOptions {
  readonly input?: string;
  readonly seed?: string;
  readonly batches?: string;
  readonly json?: boolean;
}

/** A small deterministic generator (LCG), so a seed reproduces the split. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

/**
 * Random micro-batch sizes summing to `total`, about `count` of them.
 *
 * @example
 * randomSizes(100, 4, 7); // e.g. [31, 12, 40, 17]
 */
export function randomSizes(total: number, count: number, seed: number): number[] {
  const r = rng(seed);
  const out: number[] = [];
  let left = total;
  const max = Math.max(1, Math.floor((2 * total) / Math.max(1, count)));
  while (left > 0) {
    const n = Math.min(left, 1 + Math.floor(r() * max));
    out.push(n);
    left -= n;
  }
  return out;
}

/** Slices batches into pieces of the given sizes. */
function split(batches: readonly RecordBatch[], sizes: readonly number[]): RecordBatch[][] {
  const out: RecordBatch[][] = [];
  let bi = 0;
  let off = 0;
  for (const size of sizes) {
    const piece: RecordBatch[] = [];
    let need = size;
    while (need > 0 && bi < batches.length) {
      const b = batches[bi]!;
      const take = Math.min(need, b.numRows - off);
      if (take > 0) piece.push(b.slice(off, off + take));
      off += take;
      need -= take;
      if (off >= b.numRows) {
        bi++;
        off = 0;
      }
    }
    out.push(piece);
  }
  return out;
}

function normalize(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Number.isInteger(v) ? v : Number(v.toPrecision(12));
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, normalize(x)]));
  }
  return v;
}

function key(r: Row): string {
  return JSON.stringify(normalize(r));
}

function multisetDiff(a: readonly Row[], b: readonly Row[]): { onlyA: Row[]; onlyB: Row[] } {
  const counts = new Map<string, { n: number; row: Row }>();
  for (const r of b) {
    const k = key(r);
    const c = counts.get(k);
    if (c) c.n++;
    else counts.set(k, { n: 1, row: r });
  }
  const onlyA: Row[] = [];
  for (const r of a) {
    const c = counts.get(key(r));
    if (c && c.n > 0) c.n--;
    else onlyA.push(r);
  }
  const onlyB: Row[] = [];
  for (const { n, row } of counts.values()) for (let i = 0; i < n; i++) onlyB.push(row);
  return { onlyA, onlyB };
}

/** The output names of the grouping keys (update mode keeps the last row per key). */
function groupKeyNames(df: { plan: unknown }): string[] {
  let p = df.plan as { kind: string; child?: unknown; groupBy?: readonly Parameters<typeof exprName>[0][] };
  while (p && p.kind !== 'aggregate' && p.child) p = p.child as typeof p;
  return p?.kind === 'aggregate' ? (p.groupBy ?? []).map((e) => exprName(e)) : [];
}

function windowColumn(df: { plan: unknown }): string | null {
  let p = df.plan as { kind: string; child?: unknown; groupBy?: readonly Parameters<typeof unalias>[0][] };
  while (p && p.kind !== 'aggregate' && p.child) p = p.child as typeof p;
  if (p?.kind !== 'aggregate') return null;
  const w = (p.groupBy ?? []).find((e) => unalias(e).kind === 'window' || unalias(e).kind === 'sessionWindow');
  return w ? exprName(w) : null;
}

/**
 * Runs the command; resolves with 0 (identical), 3 (different) or an error code.
 *
 * @example
 * await diffCommand('sales.json', { input: 'data/orders/', seed: '7' }, new Output());
 */
export async function diffCommand(file: string, o: DiffOptions, out: Output): Promise<ExitCodeValue> {
  const { spec } = await loadPipeline(file);
  const seed = o.seed !== undefined ? Number(o.seed) : Math.floor(Math.random() * 1e9);
  const count = o.batches !== undefined ? Math.max(1, Number(o.batches)) : 10;
  const session = new Session();
  const override = inputOverride(spec, o.input);
  const batchDf = dataFrameFromSpec(spec, session, { mode: 'batch', ...override }, file);
  const batchRows = await batchDf.collect();

  const rawSpec: PipelineSpec = { source: { ...spec.source, value: undefined } };
  const raw = dataFrameFromSpec(rawSpec, session, { mode: 'batch', ...override }, file);
  const rawBatches = await raw.toBatches();
  const total = rawBatches.reduce((s, b) => s + b.numRows, 0);
  const sizes = randomSizes(total, count, seed);
  const input = new MemoryStream(session, raw.schema);
  const streamDf = dataFrameFromSpec(spec, session, { mode: 'stream', input: input.toDF() }, file);
  const mode = spec.outputMode ?? 'append';
  const name = `sluice_diff_${process.pid}`;
  const q = streamDf.writeStream.format('memory').queryName(name).outputMode(mode).start();
  let late = 0;
  session.streams.addListener({
    onQueryProgress: ({ progress }) => {
      late += progress.stateOperators.reduce((s, op) => s + op.numRowsDroppedByWatermark, 0);
    },
  });
  try {
    for (const piece of split(rawBatches, sizes)) {
      input.addBatches(piece);
      await q.processAllAvailable();
    }
  } finally {
    await q.stop();
  }
  if (q.exception) throw q.exception;
  let streamRows = await session.table(name).collect();
  if (mode === 'update') {
    const keys = groupKeyNames(streamDf);
    const last = new Map<string, Row>();
    for (const r of streamRows) last.set(JSON.stringify(normalize(keys.map((k) => r[k]))), r);
    streamRows = [...last.values()];
  }
  const watermark = q.watermarkMs;
  const wcol = windowColumn(streamDf);
  let open: Row[] = [];
  let compared = batchRows;
  if (mode === 'append' && wcol !== null && watermark !== null && batchRows.length > 0 && wcol in batchRows[0]!) {
    const isOpen = (r: Row) => ((r[wcol] as { end?: Date } | null)?.end?.getTime() ?? -Infinity) > watermark;
    open = batchRows.filter(isOpen);
    compared = batchRows.filter((r) => !isOpen(r));
  }
  const { onlyA, onlyB } = multisetDiff(compared, streamRows);
  const identical = onlyA.length === 0 && onlyB.length === 0;
  if (o.json) {
    out.printJson({
      identical,
      seed,
      microBatches: sizes.length,
      sizes,
      inputRows: total,
      batchRows: batchRows.length,
      streamRows: streamRows.length,
      openWindows: open.length,
      lateRowsDropped: late,
      onlyInBatch: onlyA.map(normalize),
      onlyInStream: onlyB.map(normalize),
    });
  } else {
    out.line(`diff ${spec.name ?? file}: ${total} input rows`);
    out.line(`  batch   ${batchRows.length} rows`);
    out.line(`  stream  ${streamRows.length} rows from ${sizes.length} micro-batches of random sizes (seed ${seed}: ${sizes.slice(0, 12).join(', ')}${sizes.length > 12 ? ', …' : ''}), ${mode} mode`);
    if (open.length > 0) {
      out.line(`  open    ${open.length} window(s) end after the stream's final watermark ${new Date(watermark!).toISOString()}: not emitted yet in append mode, not compared`);
    }
    if (identical) out.line('  result  identical');
    else {
      out.line(`  result  DIFFERENT: ${onlyA.length} row(s) only in the batch result, ${onlyB.length} only in the stream result`);
      if (late > 0) out.line(`  why     the stream dropped late data (numRowsDroppedByWatermark ${late}): rows behind the watermark; a batch has no late data`);
      for (const r of onlyA.slice(0, 10)) out.line(`    batch only:  ${key(r)}`);
      for (const r of onlyB.slice(0, 10)) out.line(`    stream only: ${key(r)}`);
    }
  }
  return identical ? ExitCode.ok : ExitCode.differ;
}
