/**
 * CSV: RFC 4180 records (quoted fields may hold delimiters and doubled or escaped quotes; with `multiLine`, line breaks).
 *
 * Options: `header` (default **true**, unlike Spark's false: most files have one), `delimiter`/`sep` (`,`), `quote`
 * (`"`), `escape` (`"`: a doubled quote; or e.g. `\\`), `nullValue` (empty string), `comment` (none), `multiLine`
 * (default false, as Spark), `mode`, `inferSchema` (default true: int → long → double → boolean → timestamp → string
 * per column on the first `samplingRows` records; false reads every column as a string). With a given schema, columns
 * map by position.
 *
 * Malformed records (handled by `mode`: kept in `_corrupt_record`, dropped and counted, or a `MalformedRecordError`
 * naming the file, line and column): a quote still open at the end of its line (without `multiLine`: a record is one
 * line, as in Spark, and the next line is read on its own) or at the end of the file (with `multiLine`: the record is
 * its first line, and reading resumes on the next), text after a closing quote, too few or too many fields, a value
 * that is not of its column's type. Spark's parser (univocity) instead reads an open quote to the end of the line or
 * file as the field's value and keeps text after a closing quote; sluice reports both, so no row is merged into
 * another without a word. A byte-order mark at the start of a file is skipped. Lines of only spaces and tabs are
 * skipped as blank (Spark skips every line whose characters are all ≤ U+0020; sluice reads a line of, say, form feeds
 * or no-break spaces as a record, which then has too few fields).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { RecordBatch } from 'apache-arrow';
import { field, schemaOf, typeToString, type DataType, type Schema } from '../../engine/types/data-type.js';
import { ColumnBuilder, batchFromColumns, parseTimestamp, parseWholeNumber } from '../../engine/types/values.js';
import { CORRUPT_RECORD, MalformedRecordError, ReaderOptionError, boolOption, outputSchema, type ParseMode, type ReadStats } from './text-options.js';
import { appendCorruptRow } from './text-options.js';

/** Parsed CSV options. */
export interface CsvOptions {
  readonly header: boolean;
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  readonly nullValue: string;
  readonly comment: string | null;
  /** Quoted fields may hold line breaks (Spark's `multiLine`, default false: a record is one line). */
  readonly multiLine: boolean;
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
    multiLine: boolOption(o['multiLine'], false, 'multiLine'),
    mode,
    batchSize,
  };
}

/** Why a CSV record is not valid RFC 4180 (naming the character), and the field (0-based) it concerns. */
export interface CsvRecordProblem {
  readonly reason: string;
  readonly field: number;
}

/** One CSV record with the line it starts on and its raw text. */
export interface CsvRecord {
  fields: string[];
  /** Which fields were quoted (a quoted empty string is not null). */
  quoted: boolean[];
  line: number;
  raw: string;
  /** Set when the record is not valid CSV (a quote left open, text after a closing quote). */
  broken: CsvRecordProblem | null;
}

/** True for a record that is one unquoted field of only spaces and tabs: a blank line, skipped as Spark does. */
function isBlank(fields: readonly string[], quoted: readonly boolean[]): boolean {
  return fields.length === 1 && !quoted[0] && /^[ \t]*$/.test(fields[0]!);
}

/** The index of the first line terminator (`\n` or `\r`) at or after `from`, or the text's length. */
function lineEndAt(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return text.length;
}

/** The index after the line terminator at `at` (`\r\n` counts as one). */
function afterTerminator(text: string, at: number): number {
  return at >= text.length ? at : text[at] === '\r' && text[at + 1] === '\n' ? at + 2 : at + 1;
}

/**
 * Splits CSV text into records (RFC 4180: a quote opens a field only at its start, `""` inside quotes is one quote,
 * a closing quote is followed by a delimiter or the end of the record). A byte-order mark at the start is skipped;
 * lines of only spaces and tabs are skipped as blank.
 *
 * Without `multiLine` (the default, as in Spark) a record is one physical line: a quote still open at the end of the
 * line makes that line a broken record, and the next line is read on its own. With `multiLine`, quoted fields may hold
 * line breaks; a quote still open at the end of the text makes the record that opened it broken, and reading resumes
 * on the line after the one it started on. Line numbers count physical lines (`\n`, `\r\n` or `\r`), so they stay
 * right after multi-line records.
 *
 * @example
 * [...csvRecords('a,b\n1,"x,y"\n', opts)].map((r) => r.fields); // [['a','b'], ['1','x,y']]
 */
export function* csvRecords(
  text: string,
  o: Pick<CsvOptions, 'delimiter' | 'quote' | 'escape' | 'comment'> & { readonly multiLine?: boolean },
): Generator<CsvRecord> {
  const n = text.length;
  const d = o.delimiter;
  const q = o.quote;
  const esc = o.escape;
  const multiLine = o.multiLine === true;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let lineStart = i;
  while (i < n) {
    const recStart = i;
    const recLine = line;
    if (o.comment && text.startsWith(o.comment, i)) {
      i = afterTerminator(text, lineEndAt(text, i));
      line++;
      lineStart = i;
      continue;
    }
    const fields: string[] = [];
    const quoted: boolean[] = [];
    let cur = '';
    let inQ = false;
    let wasQuoted = false;
    let broken: CsvRecordProblem | null = null;
    let quoteLine = 0;
    let quoteChar = 0;
    let end = -1;
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
        if (c === '\n' || c === '\r') {
          if (!multiLine) break;
          if (c === '\n' || text[i + 1] !== '\n') {
            line++;
            lineStart = i + 1;
          }
        }
        cur += c;
        i++;
        continue;
      }
      if (c === q && cur === '' && !wasQuoted) {
        inQ = true;
        wasQuoted = true;
        quoteLine = line;
        quoteChar = i - lineStart + 1;
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
        end = i;
        i = afterTerminator(text, i);
        line++;
        lineStart = i;
        break;
      }
      if (wasQuoted && broken === null) {
        const at = `character ${i - lineStart + 1}${line !== recLine ? ` of line ${line}` : ''}`;
        broken = { reason: `text follows the closing quote of a field (${JSON.stringify(c)} at ${at})`, field: fields.length };
      }
      cur += c;
      i++;
    }
    if (inQ) {
      const at = `character ${quoteChar}${quoteLine !== recLine ? ` of line ${quoteLine}` : ''}`;
      if (multiLine) {
        // Open at the end of the text: the record is its first line, and reading resumes on the next one.
        broken = { reason: `the quote opened at ${at} is not closed before the end of the file`, field: fields.length };
        end = lineEndAt(text, recStart);
      } else {
        broken = {
          reason: `the quote opened at ${at} is not closed at the end of the line (for records that span lines, set .option('multiLine', 'true'))`,
          field: fields.length,
        };
        end = i;
      }
      i = afterTerminator(text, end);
      line = recLine + 1;
      lineStart = i;
    }
    fields.push(cur);
    quoted.push(wasQuoted);
    if (broken === null && isBlank(fields, quoted)) continue;
    yield { fields, quoted, line: recLine, raw: text.slice(recStart, end < 0 ? i : end), broken };
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
    const broken = rec.broken;
    if (broken) {
      badColumn = dataFields[broken.field]?.name ?? null;
      problem = broken.reason;
    } else if (rec.fields.length !== dataFields.length) {
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
