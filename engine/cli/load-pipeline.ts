/**
 * Reads the pipeline a command runs: a JSON spec, or a TypeScript/JavaScript module exporting a query.
 *
 * A module's default export (or its export `query`) is a spec object, a DataFrame, or a function of a `Session`
 * returning either (possibly async). A DataFrame is turned into a spec with `df.toSpec(pipeline)`, where `pipeline` is
 * the module's optional export of what a DataFrame does not know (`name`, `sink`, `checkpoint`, `trigger`,
 * `outputMode`):
 *
 * ```ts
 * export default (session: Session) => session.readStream.format('jsonl')…agg(count('*').as('n'));
 * export const pipeline = { name: 'counts', sink: { format: 'delta', path: 'lake/counts' }, checkpoint: 'ckpt/counts' };
 * ```
 *
 * @module
 */
import { readFileSync, existsSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parsePipelineSpec, parsePipelineSpecText, Session, SpecError, type PipelineSpec, type SpecExtras } from '../index.js';
import { CliError, ExitCode } from './exit-codes.js';

/** A pipeline and where it came from. */
export interface LoadedPipeline {
  readonly spec: PipelineSpec;
  /** The file, for messages. */
  readonly file: string;
}

const MODULE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

interface DataFrameLike {
  readonly plan: unknown;
  toSpec(extras?: SpecExtras): PipelineSpec;
}

function isDataFrameLike(v: unknown): v is DataFrameLike {
  return typeof v === 'object' && v !== null && 'plan' in v && typeof (v as { toSpec?: unknown }).toSpec === 'function';
}

let tsxRegistered = false;

/** TypeScript modules need tsx when the CLI runs from `dist/` (from sources, the launcher registered it already). */
async function ensureTypeScriptLoader(file: string): Promise<void> {
  if (!/\.[mc]?ts$/.test(file) || tsxRegistered || import.meta.url.endsWith('.ts')) return;
  try {
    const api = (await import('tsx/esm/api')) as { register: () => unknown };
    api.register();
    tsxRegistered = true;
  } catch {
    throw new CliError(`${file} is TypeScript: install tsx (npm i -D tsx) so sluice can load it, or compile it to .js.`);
  }
}

/**
 * Loads `file` (a `.json` spec or a module) and validates it.
 *
 * @example
 * const { spec } = await loadPipeline('pipelines/sales.json');
 */
export async function loadPipeline(file: string): Promise<LoadedPipeline> {
  if (!existsSync(file)) throw new CliError(`Pipeline file not found: ${file}`, ExitCode.usage);
  const ext = extname(file).toLowerCase();
  if (!MODULE_EXTENSIONS.has(ext)) {
    const text = readFileSync(file, 'utf8');
    return { spec: parsePipelineSpecText(text, file), file };
  }
  await ensureTypeScriptLoader(file);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof SpecError) throw e;
    const err = e as Error;
    throw new CliError(`Cannot load ${file}: ${err.message}`, isBuildError(err) ? ExitCode.usage : ExitCode.failed);
  }
  let value = mod['default'] ?? mod['query'];
  if (value === undefined) {
    throw new CliError(`${file} exports no query: export default a DataFrame, a pipeline spec, or a function (session) => DataFrame.`);
  }
  if (typeof value === 'function') value = await (value as (s: Session) => unknown)(new Session());
  const extras = (mod['pipeline'] ?? {}) as SpecExtras;
  if (isDataFrameLike(value)) {
    const spec = value.toSpec({ name: basename(file, ext), ...extras });
    return { spec: parsePipelineSpec(spec, file), file };
  }
  if (typeof value === 'object' && value !== null) return { spec: parsePipelineSpec({ ...value, ...extras }, file), file };
  throw new CliError(`${file}: the default export is ${typeof value}; expected a DataFrame, a pipeline spec, or a function (session) => DataFrame.`);
}

function isBuildError(e: Error): boolean {
  return ['AnalysisError', 'DurationError', 'SchemaError', 'UnknownFormatError', 'ReaderOptionError', 'KafkaOptionError', 'DeltaOptionsError', 'FileNotFoundError'].includes(e.name);
}
