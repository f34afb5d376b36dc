/**
 * `sluice batch <pipeline> --input <path|offset-range>`: the same query over bounded input, run as a batch (the
 * watermark is ignored: every window is emitted), written to the spec's sink with `df.write`.
 *
 * @module
 */
import { dataFrameFromSpec, Session, SpecError, type SaveMode } from '../../index.js';
import { formatTable } from '../../api/show.js';
import { rowsFromBatch } from '../../types/values.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { inputOverride } from '../input-range.js';
import { loadPipeline } from '../load-pipeline.js';
import type { Output } from '../output.js';

export interface BatchOptions {
  readonly input?: string;
  readonly mode?: string;
  readonly json?: boolean;
}

const MODES: Record<string, SaveMode> = { append: 'append', overwrite: 'overwrite', errorifexists: 'errorIfExists', error: 'errorIfExists', ignore: 'ignore' };

/**
 * Runs the command; resolves with the exit code.
 *
 * @example
 * await batchCommand('pipelines/sales.json', { input: 'data/orders/' }, new Output());
 */
export async function batchCommand(file: string, o: BatchOptions, out: Output): Promise<ExitCodeValue> {
  const { spec } = await loadPipeline(file);
  const mode = MODES[(o.mode ?? 'append').toLowerCase()];
  if (mode === undefined) throw new CliError(`--mode ${o.mode}: use append, overwrite, errorIfExists or ignore.`);
  const sink = spec.sink;
  if (!sink) throw new SpecError([{ path: ['sink'], message: 'required: where the batch result goes, e.g. { "format": "delta", "path": "lake/sales" }' }], file);
  const session = new Session();
  const df = dataFrameFromSpec(spec, session, { mode: 'batch', ...inputOverride(spec, o.input) }, file);
  const toConsole = sink.format === 'console' || sink.format === 'memory';
  if (!toConsole) {
    try {
      session.formats.get(sink.format, 'batchWrite');
    } catch (e) {
      throw new SpecError([{ path: ['sink', 'format'], message: (e as Error).message }], file);
    }
  }
  const t0 = Date.now();
  const batches = await df.toBatches();
  const rows = batches.reduce((s, b) => s + b.numRows, 0);
  if (toConsole) {
    const schema = df.schema;
    const all = batches.flatMap((b) => rowsFromBatch(b, schema));
    if (o.json) out.printJson(all);
    else out.line(formatTable(schema.fields.map((f) => f.name), all));
    return ExitCode.ok;
  }
  const w = session.createDataFrameFromBatches(batches, df.schema).write.format(sink.format).mode(mode);
  if (sink.options) w.options(sink.options);
  if (sink.partitionBy && sink.partitionBy.length > 0) w.partitionBy(...sink.partitionBy);
  await w.save(sink.path);
  const ms = Date.now() - t0;
  if (o.json) out.printJson({ rows, sink: sink.format, path: sink.path ?? null, mode, durationMs: ms });
  else out.line(`wrote ${rows} rows to ${sink.format}${sink.path ? ` ${sink.path}` : ''} (mode ${mode}) in ${ms} ms`);
  return ExitCode.ok;
}
