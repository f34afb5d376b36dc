/**
 * CSV: RFC 4180 records (quoted fields may hold delimiters, quotes doubled or escaped, and newlines).
 *
 * Options: `header` (default **true**, unlike Spark's false: most files have one), `delimiter`/`sep` (`,`), `quote`
 * (`"`), `escape` (`"`: a doubled quote; or e.g. `\\`), `nullValue` (empty string), `comment` (none), `mode`,
 * `inferSchema` (default true: int → long → double → boolean → timestamp → string per column on the first
 * `samplingRows` records; false reads every column as a string). With a given schema, columns map by position.
 * A quote left open at the end of the file makes only its own line malformed; reading resumes at the next line.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { RecordBatch } from 'apache-arrow';
import { field, schemaOf, typeToString, type DataType, type Schema } from '../../engine/types/data-type.js';
import { ColumnBuilder, batchFromColumns, parseTimestamp, parseWholeNumber } from '../../engine/types/values.js';
import { CORRUPT_RECORD, MalformedRecordError, ReaderOptionError, outputSchema, type ParseMode, type ReadStats } from './text-options.js';
import { appendCorruptRow } from './text-options.js';

/** Parsed CSV options. */
export interface CsvOptions {
  readonly header: boolean;
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  readonly nullValue: string;
  readonly comment: string | null;
  readonly mode: ParseMode;
  readonly batchSize: number;
}

/** Reads CSV options from strings. @example csvOptions({ header: 'true', delimiter: ';' }) */
export function csvOptions(o: Readonly<Record<string, string>>, mode: ParseMode, batchSize: number): CsvOptions {
  const delimiter = o['delimiter'] ?? o['sep'] ?? ',';
  if (delimiter.length === 0) throw new ReaderOptionError("The CSV delimiter cannot be empty; use e.g. ',' or '\\t'.");
  const h = (o['header'] ?? 'true').toLowerCase();
  if (h !== 'true' && h !== 'false') throw new ReaderOptionError(`Option 'header' must be 'true' or 'false', got '${o['header']}'.`);
  return {
    header: h === 'true',
    delimiter: delimiter === '\\t' ? '\t' : delimiter,
    quote: o['quote'] ?? '"',
    escape: o['escape'] ?? o['quote'] ?? '"',
    nullValue: o['nullValue'] ?? '',
    comment: o['comment'] ?? null,
    mode,
    batchSize,
  };
}

/** One CSV record with the line it starts on and its raw text. */
interface CsvRecord {
  fields: string[];
  /** Which fields were quoted (a quoted empty string is not null). */
  quoted: boolean[];
  line: number;
  raw: string;
  /** An unterminated quote. */
  broken: boolean;
}

/**
 * Splits CSV text into records.
 *
 * @example
 * [...csvRecords('a,b\n1,"x,y"\n', opts)].map((r) => r.fields); // [['a','b'], ['1','x,y']]
 */
export function* csvRecords(text: string, o: Pick<CsvOptions, 'delimiter' | 'quote' | 'escape' | 'comment'>): Generator<CsvRecord> {
  const n = text.length;
  const d = o.delimiter;
  const q = o.quote;
  const esc = o.escape;
  let i = 0;
  let line = 1;
  while (i < n) {
    const recStart = i;
    const recLine = line;
    if (o.comment && text.startsWith(o.comment, i)) {
      const e = text.indexOf('\n', i);
      i = e < 0 ? n : e + 1;
      line++;
      continue;
    }
    const fields: string[] = [];
    const quoted: boolean[] = [];
    let cur = '';
    let inQ = false;
    let wasQuoted = false;
    let broken = false;
    let ended = false;
    while (i < n) {
      const c = text[i]!;
      if (inQ) {
        if (c === esc && esc !== q && text[i + 1] === q) {
          cur += q;
          i += 2;
          continue;
        }
        if (c === q) {
          if (esc === q && text[i + 1] === q) {
            cur += q;
            i += 2;
            continue;
          }
          inQ = false;
          i++;
          continue;
        }
        if (c === '\n') line++;
        cur += c;
        i++;
        continue;
      }
      if (c === q && cur === '' && !wasQuoted) {
        inQ = true;
        wasQuoted = true;
        i++;
        continue;
      }
      if (text.startsWith(d, i)) {
        fields.push(cur);
        quoted.push(wasQuoted);
        cur = '';
        wasQuoted = false;
        i += d.length;
        continue;
      }
      if (c === '\n' || c === '\r') {
        i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
        line++;
        ended = true;
        break;
      }
      cur += c;
      i++;
    }
    let raw: string;
    if (inQ) {
      // A quote still open at the end of the text: only this record's first line is malformed. Resume at the next
      // line (as Spark, which reads line by line), instead of swallowing the rest of the file into one record.
      broken = true;
      const nl = text.indexOf('\n', recStart);
      if (nl >= 0 && nl + 1 < n) {
        i = nl + 1;
        line = recLine + 1;
        raw = text.slice(recStart, nl).replace(/\r$/, '');
      } else raw = text.slice(recStart, nl >= 0 ? nl : n).replace(/\r$/, '');
    } else raw = text.slice(recStart, ended ? i - 1 : i).replace(/\r$/, '');
    fields.push(cur);
    quoted.push(wasQuoted);
    if (fields.length === 1 && fields[0] === '' && !quoted[0]) continue;
    yield { fields, quoted, line: recLine, raw, broken };
  }
}

function inferField(s: string): DataType | 'null' {
  const t = s.trim();
  if (t === '') return 'null';
  if (/^[+-]?\d+$/.test(t)) {
    const n = Number(t);
    return Math.abs(n) <= 2147483647 ? 'int' : parseWholeNumber(t, 64) !== null ? 'long' : 'double';
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) || t === 'NaN' || /^[+-]?Infinity$/.test(t)) return 'double';
  if (/^(true|false)$/i.test(t)) return 'boolean';
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}.*)?$/.test(t) && parseTimestamp(t) !== null) return t.length === 10 ? 'date' : 'timestamp';
  return 'string';
}

const RANK: Record<string, number> = { int: 0, long: 1, double: 2 };

function mergeCsv(a: DataType | 'null', b: DataType | 'null'): DataType | 'null' {
  if (a === 'null') return b;
  if (b === 'null' || a === b) return a;
  if (typeof a === 'string' && typeof b === 'string' && a in RANK && b in RANK) return RANK[a]! >= RANK[b]! ? a : b;
  if ((a === 'date' && b === 'timestamp') || (a === 'timestamp' && b === 'date')) return 'timestamp';
  return 'string';
}

/**
 * Infers a CSV schema from the header and the first records.
 *
 * @example
 * inferCsvSchema(['data/a.csv'], opts, { samplingRows: 1000, inferTypes: true });
 */
export function inferCsvSchema(files: readonly string[], o: CsvOptions, s: { samplingRows: number; inferTypes: boolean }): Schema {
  let names: string[] | null = null;
  let types: (DataType | 'null')[] = [];
  let seen = 0;
  for (const f of files) {
    let first = true;
    for (const rec of csvRecords(readFileSync(f, 'utf8'), o)) {
      if (first) {
        first = false;
        if (o.header) {
          names ??= rec.fields.map((x, i) => x.trim() || `_c${i}`);
          continue;
        }
      }
      names ??= rec.fields.map((_, i) => `_c${i}`);
      if (!s.inferTypes) break;
      if (rec.broken || rec.fields.length !== names.length) continue;
      if (types.length === 0) types = names.map(() => 'null');
      rec.fields.forEach((v, i) => {
        types[i] = mergeCsv(types[i]!, v === o.nullValue && !rec.quoted[i] ? 'null' : rec.quoted[i] ? 'string' : inferField(v));
      });
      if (++seen >= s.samplingRows) break;
    }
    if (seen >= s.samplingRows || (names && !s.inferTypes)) break;
  }
  if (!names) {
    throw new MalformedRecordError(`Cannot infer a schema: ${files.join(', ')} has no records. Give the schema with .schema({ … }).`, files[0] ?? '', 0, null);
  }
  const seenNames = new Set<string>();
  return schemaOf(
    names.map((n, i) => {
      let name = n;
      if (seenNames.has(name)) name = `${n}${i}`;
      seenNames.add(name);
      const t = types[i];
      return field(name, !s.inferTypes || t === undefined || t === 'null' ? 'string' : t);
    }),
  );
}

/**
 * Parses CSV text into batches of `schema` (plus `_corrupt_record` in permissive mode).
 *
 * @example
 * parseCsv(text, 'a.csv', schema, opts, stats);
 */
export function parseCsv(text: string, file: string, schema: Schema, o: CsvOptions, stats: ReadStats): RecordBatch[] {
  const out = outputSchema(schema, o.mode, CORRUPT_RECORD);
  const corruptIdx = o.mode === 'permissive' ? out.fields.findIndex((f) => f.name === CORRUPT_RECORD) : -1;
  const dataFields = out.fields.filter((_, i) => i !== corruptIdx);
  const builders = out.fields.map((f) => new ColumnBuilder(f.type, Math.min(o.batchSize, 4096)));
  const batches: RecordBatch[] = [];
  let rows = 0;
  const flush = () => {
    if (rows === 0) return;
    batches.push(batchFromColumns(out, builders.map((b) => b.finish()), rows));
    rows = 0;
  };
  let first = true;
  for (const rec of csvRecords(text, o)) {
    if (first) {
      first = false;
      if (o.header) continue;
    }
    let problem: string | null = null;
    let badColumn: string | null = null;
    if (rec.broken) problem = 'a quoted field is not closed';
    else if (rec.fields.length !== dataFields.length) {
      problem = `it has ${rec.fields.length} fields, the schema has ${dataFields.length} (${dataFields.map((f) => f.name).join(', ')})`;
    } else {
      let k = 0;
      for (let c = 0; c < out.fields.length; c++) {
        if (c === corruptIdx) continue;
        const raw = rec.fields[k]!;
        const v = raw === o.nullValue && !rec.quoted[k] ? null : raw;
        k++;
        const f = out.fields[c]!;
        const ok = f.type === 'string' ? builders[c]!.append(v) : builders[c]!.append(v === null || v.trim() === '' ? null : v);
        if (!ok) {
          for (let j = 0; j < c; j++) if (j !== corruptIdx) builders[j]!.truncate(rows);
          problem = `field '${f.name}' is ${JSON.stringify(raw.slice(0, 60))}, which is not a ${typeToString(f.type)}`;
          badColumn = f.name;
          break;
        }
      }
    }
    if (problem !== null) {
      stats.malformed++;
      if (o.mode === 'failFast') {
        throw new MalformedRecordError(
          `Malformed CSV in ${file} line ${rec.line}${badColumn ? `, column '${badColumn}'` : ''}: ${problem}. ` +
            `Fix the line, or read with .option('mode', 'permissive') (keeps it in _corrupt_record) or 'dropMalformed'.`,
          file,
          rec.line,
          badColumn,
        );
      }
      if (o.mode === 'dropMalformed') {
        stats.dropped++;
        continue;
      }
      appendCorruptRow(builders, corruptIdx, rec.raw);
    } else if (corruptIdx >= 0) builders[corruptIdx]!.appendNull();
    rows++;
    stats.rows++;
    if (rows >= o.batchSize) flush();
  }
  flush();
  return batches;
}

/** Reads one CSV file. @example for await (const b of readCsvFile(path, schema, opts, stats)) … */
export async function* readCsvFile(path: string, schema: Schema, o: CsvOptions, stats: ReadStats): AsyncIterable<RecordBatch> {
  yield* parseCsv(await readFile(path, 'utf8'), path, schema, o, stats);
}
