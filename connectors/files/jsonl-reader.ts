/**
 * JSON Lines: one JSON object per line, parsed into typed column builders.
 *
 * Schema inference reads up to `samplingRows` lines (default 1000) from the first files: whole numbers within int64 → long, other
 * numbers → double, true/false → boolean, strings that are ISO-8601 date-times → timestamp (Spark leaves them strings
 * unless `inferTimestamp`; sluice infers them, set `inferTimestamp=false` for strings), objects → struct, arrays →
 * array, anything mixed → string.
 *
 * Lines: a byte-order mark at the start of a file is skipped; a line of only JSON whitespace (space, tab, CR) is blank
 * and skipped; any other line that is not one JSON object is malformed (handled by `mode`), including lines of other
 * characters JavaScript's `trim()` would remove (no-break space U+00A0, U+FEFF, U+2028, form feed): JSON does not
 * count them as whitespace. So is a line nesting objects and arrays more than `maxNestingDepth` (default 1000, as
 * Spark) deep.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { RecordBatch } from 'apache-arrow';
import { field, schemaOf, structType, typeToString, type DataType, type Field, type Schema } from '../../engine/types/data-type.js';
import { ColumnBuilder, batchFromColumns, parseTimestamp, parseWholeNumber } from '../../engine/types/values.js';
import { DEFAULT_MAX_JSON_NESTING_DEPTH, jsonNestingExceeds } from '../../engine/types/json-depth.js';
import { parseJsonExact, quoteBigNumbers } from '../../engine/types/json-numbers.js';
import { CORRUPT_RECORD, MalformedRecordError, outputSchema, type ParseMode, type ReadStats } from './text-options.js';
import { appendCorruptRow } from './text-options.js';

type Inferred = DataType | 'null' | 'conflict';

/** Marks number tokens of 16+ digits during inference: a long when they are whole and fit int64, else a double. */
const NUMBER_MARK = '\u0000#';

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

function inferValue(v: unknown, inferTimestamp: boolean): Inferred {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'long' : 'double';
  if (typeof v === 'string' && v.startsWith(NUMBER_MARK)) return parseWholeNumber(v.slice(NUMBER_MARK.length), 64) !== null ? 'long' : 'double';
  if (typeof v === 'string') return inferTimestamp && ISO_DATETIME.test(v) && parseTimestamp(v) !== null ? 'timestamp' : 'string';
  if (Array.isArray(v)) {
    let el: Inferred = 'null';
    for (const x of v) el = merge(el, inferValue(x, inferTimestamp));
    return { kind: 'array', element: finalType(el) };
  }
  if (typeof v === 'object') {
    return structType(Object.entries(v as Record<string, unknown>).map(([k, x]) => field(k, finalType(inferValue(x, inferTimestamp)))));
  }
  return 'string';
}

function finalType(t: Inferred): DataType {
  return t === 'null' || t === 'conflict' ? 'string' : t;
}

function merge(a: Inferred, b: Inferred): Inferred {
  if (a === 'null') return b;
  if (b === 'null') return a;
  if (a === 'conflict' || b === 'conflict') return 'conflict';
  if (typeof a === 'string' && typeof b === 'string') {
    if (a === b) return a;
    if ((a === 'long' && b === 'double') || (a === 'double' && b === 'long')) return 'double';
    if ((a === 'timestamp' && b === 'string') || (a === 'string' && b === 'timestamp')) return 'string';
    return 'string';
  }
  if (typeof a === 'object' && typeof b === 'object' && a.kind === 'struct' && b.kind === 'struct') {
    const fields: Field[] = [...a.fields];
    for (const f of b.fields) {
      const i = fields.findIndex((x) => x.name === f.name);
      if (i < 0) fields.push(f);
      else fields[i] = field(f.name, finalType(merge(fields[i]!.type, f.type)));
    }
    return structType(fields);
  }
  if (typeof a === 'object' && typeof b === 'object' && a.kind === 'array' && b.kind === 'array') {
    return { kind: 'array', element: finalType(merge(a.element, b.element)) };
  }
  return 'string';
}

/** Where a file's first line starts: after a byte-order mark, if there is one. */
function textStart(text: string): number {
  return text.charCodeAt(0) === 0xfeff ? 1 : 0;
}

/** True for a line of only JSON whitespace (space, tab, CR): a blank line. */
function isBlankLine(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/**
 * A value for a message: its JSON text, cut to 60 characters. Printing recurses: a value too deep for the stack (only
 * with a `maxNestingDepth` above the default) is named as such instead of ending the query.
 */
function preview(v: unknown): string {
  try {
    return String(JSON.stringify(v)).slice(0, 60);
  } catch (e) {
    if (e instanceof RangeError) return 'a value nested too deep to print (lower maxNestingDepth)';
    throw e;
  }
}

/**
 * Infers a schema from the first lines of JSON Lines files (columns in order of first appearance).
 *
 * @example
 * inferJsonSchema(['data/a.jsonl'], { samplingRows: 1000, inferTimestamp: true }).fields;
 */
export function inferJsonSchema(
  files: readonly string[],
  opts: { samplingRows: number; inferTimestamp: boolean; maxNestingDepth?: number },
): Schema {
  const maxDepth = opts.maxNestingDepth ?? DEFAULT_MAX_JSON_NESTING_DEPTH;
  const cols = new Map<string, Inferred>();
  let seen = 0;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    let start = textStart(text);
    while (start < text.length && seen < opts.samplingRows) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end);
      start = end + 1;
      // Lines the reader will find malformed (blank ones too) say nothing about the schema.
      if (isBlankLine(line) || jsonNestingExceeds(line, maxDepth)) continue;
      let obj: unknown;
      try {
        obj = JSON.parse(/\d{16}/.test(line) ? quoteBigNumbers(line, '\\u0000#') : line);
      } catch {
        continue;
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) continue;
      let types: [string, Inferred][];
      try {
        types = Object.entries(obj as Record<string, unknown>).map(([k, v]) => [k, inferValue(v, opts.inferTimestamp)]);
      } catch (e) {
        // Deeper than the stack allows (only with a maxNestingDepth above the default): malformed when read.
        if (e instanceof RangeError) continue;
        throw e;
      }
      seen++;
      for (const [k, t] of types) cols.set(k, merge(cols.get(k) ?? 'null', t));
    }
    if (seen >= opts.samplingRows) break;
  }
  if (cols.size === 0) {
    throw new MalformedRecordError(
      `Cannot infer a schema from ${files.join(', ')}: no JSON object found in the first ${opts.samplingRows} lines. ` +
        `Give the schema with .schema({ … }).`,
      files[0] ?? '',
      0,
      null,
    );
  }
  return schemaOf([...cols.entries()].map(([k, t]) => field(k, finalType(t))));
}

/** Options of the JSON Lines reader. */
export interface JsonReadOptions {
  readonly mode: ParseMode;
  readonly batchSize: number;
  readonly corruptColumn?: string;
  /** Lines nesting objects and arrays deeper are malformed (default 1000, as Spark). */
  readonly maxNestingDepth?: number;
}

function positionOf(message: string): number | null {
  const m = /position (\d+)/.exec(message);
  return m ? Number(m[1]) : null;
}

/**
 * Parses JSON Lines text into batches of `schema` (plus `_corrupt_record` in permissive mode). A byte-order mark at the
 * start and lines of only JSON whitespace are skipped; a line that is not a JSON object, nests deeper than
 * `maxNestingDepth` or has a value of the wrong type is malformed and handled by `mode`.
 *
 * @example
 * const batches = parseJsonLines(text, 'a.jsonl', schema, { mode: 'failFast', batchSize: 65536 }, stats);
 */
export function parseJsonLines(text: string, file: string, schema: Schema, opts: JsonReadOptions, stats: ReadStats): RecordBatch[] {
  const corrupt = opts.corruptColumn ?? CORRUPT_RECORD;
  const out = outputSchema(schema, opts.mode, corrupt);
  const corruptIdx = opts.mode === 'permissive' ? out.fields.findIndex((f) => f.name === corrupt) : -1;
  const fields = out.fields;
  const builders = fields.map((f) => new ColumnBuilder(f.type, Math.min(opts.batchSize, 4096)));
  const batches: RecordBatch[] = [];
  let rows = 0;
  const flush = () => {
    if (rows === 0) return;
    batches.push(batchFromColumns(out, builders.map((b) => b.finish()), rows));
    rows = 0;
  };
  const maxDepth = opts.maxNestingDepth ?? DEFAULT_MAX_JSON_NESTING_DEPTH;
  let lineNo = 0;
  let start = textStart(text);
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (isBlankLine(line)) continue;
    let problem: string | null = null;
    let badColumn: string | null = null;
    let obj: Record<string, unknown> | null = null;
    if (jsonNestingExceeds(line, maxDepth)) {
      problem = `objects and arrays are nested more than ${maxDepth} deep (the limit; raise it with .option('maxNestingDepth', …))`;
    } else {
      try {
        const parsed: unknown = parseJsonExact(line);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) problem = 'the line is not a JSON object';
        else obj = parsed as Record<string, unknown>;
      } catch (e) {
        const pos = positionOf((e as Error).message);
        problem = `invalid JSON${pos !== null ? ` at character ${pos + 1}` : ''} (${(e as Error).message})`;
      }
    }
    if (obj !== null) {
      for (let c = 0; c < fields.length; c++) {
        if (c === corruptIdx) continue;
        const f = fields[c]!;
        if (!builders[c]!.append(obj[f.name])) {
          for (let k = 0; k < c; k++) if (k !== corruptIdx) builders[k]!.truncate(rows);
          problem = `field '${f.name}' has ${preview(obj[f.name])}, which is not a ${typeToString(f.type)}`;
          badColumn = f.name;
          break;
        }
      }
    }
    if (problem !== null) {
      stats.malformed++;
      if (opts.mode === 'failFast') {
        throw new MalformedRecordError(
          `Malformed JSON in ${file} line ${lineNo}${badColumn ? `, column '${badColumn}'` : ''}: ${problem}. ` +
            `Fix the line, or read with .option('mode', 'permissive') (keeps it in _corrupt_record) or 'dropMalformed'.`,
          file,
          lineNo,
          badColumn,
        );
      }
      if (opts.mode === 'dropMalformed') {
        stats.dropped++;
        continue;
      }
      appendCorruptRow(builders, corruptIdx, line);
    } else if (corruptIdx >= 0) builders[corruptIdx]!.appendNull();
    rows++;
    stats.rows++;
    if (rows >= opts.batchSize) flush();
  }
  flush();
  return batches;
}

/** Reads one JSON Lines file. @example for await (const b of readJsonLinesFile(path, schema, opts, stats)) … */
export async function* readJsonLinesFile(path: string, schema: Schema, opts: JsonReadOptions, stats: ReadStats): AsyncIterable<RecordBatch> {
  const text = await readFile(path, 'utf8');
  yield* parseJsonLines(text, path, schema, opts, stats);
}
