/**
 * sluice schemas ↔ Delta's `schemaString` (Spark's StructType JSON).
 *
 * | sluice      | Delta / Spark                                              |
 * |-------------|------------------------------------------------------------|
 * | `string`    | `"string"`                                                 |
 * | `binary`    | `"binary"`                                                 |
 * | `int`       | `"integer"` (`"short"`, `"byte"` are read as `int`)         |
 * | `long`      | `"long"`                                                   |
 * | `double`    | `"double"` (`"float"`, `"decimal(p,s)"` are read as double) |
 * | `boolean`   | `"boolean"`                                                |
 * | `timestamp` | `"timestamp"`                                              |
 * | `date`      | `"date"`                                                   |
 * | struct      | `{"type":"struct","fields":[…]}`                           |
 * | array       | `{"type":"array","elementType":…,"containsNull":true}`     |
 *
 * @module
 */
import {
  field,
  schemaOf,
  structType,
  typeEquals,
  typeToString,
  type DataType,
  type Field,
  type Schema,
} from '../../engine/types/data-type.js';
import { DeltaProtocolError } from './delta-errors.js';

/** A field of Spark's StructType JSON. */
export interface SparkStructField {
  readonly name: string;
  readonly type: SparkType;
  readonly nullable: boolean;
  readonly metadata: Record<string, unknown>;
}

/** Spark's JSON for a data type. */
export type SparkType =
  | string
  | { readonly type: 'struct'; readonly fields: readonly SparkStructField[] }
  | { readonly type: 'array'; readonly elementType: SparkType; readonly containsNull: boolean }
  | { readonly type: 'map'; readonly keyType: SparkType; readonly valueType: SparkType; readonly valueContainsNull: boolean };

const TO_SPARK: Record<string, string> = {
  string: 'string',
  binary: 'binary',
  int: 'integer',
  long: 'long',
  double: 'double',
  boolean: 'boolean',
  timestamp: 'timestamp',
  date: 'date',
};

const FROM_SPARK: Record<string, DataType> = {
  string: 'string',
  binary: 'binary',
  integer: 'int',
  short: 'int',
  byte: 'int',
  long: 'long',
  double: 'double',
  float: 'double',
  boolean: 'boolean',
  timestamp: 'timestamp',
  timestamp_ntz: 'timestamp',
  date: 'date',
};

/** Spark's JSON for a sluice type. */
export function sparkTypeOf(t: DataType): SparkType {
  if (typeof t === 'string') return TO_SPARK[t]!;
  if (t.kind === 'array') return { type: 'array', elementType: sparkTypeOf(t.element), containsNull: true };
  return { type: 'struct', fields: t.fields.map(sparkFieldOf) };
}

function sparkFieldOf(f: Field): SparkStructField {
  return { name: f.name, type: sparkTypeOf(f.type), nullable: f.nullable, metadata: {} };
}

/**
 * The `schemaString` of a table with this schema (compact JSON, fields in order).
 *
 * @example
 * deltaSchemaString(schemaOf({ id: 'long' }));
 * // '{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]}'
 */
export function deltaSchemaString(schema: Schema): string {
  return JSON.stringify({ type: 'struct', fields: schema.fields.map(sparkFieldOf) });
}

/**
 * The sluice schema of a `schemaString`. Spark types without a sluice equivalent of their own are widened (`short`,
 * `byte` → `int`; `float`, `decimal` → `double`; `timestamp_ntz` → `timestamp`); `map`, `variant` and others throw a
 * `DeltaProtocolError` naming the column.
 *
 * @example
 * schemaFromDeltaString('{"type":"struct","fields":[{"name":"n","type":"integer","nullable":true,"metadata":{}}]}');
 * // { fields: [{ name: 'n', type: 'int', nullable: true }] }
 */
export function schemaFromDeltaString(schemaString: string, table: string): Schema {
  let parsed: unknown;
  try {
    parsed = JSON.parse(schemaString);
  } catch (e) {
    throw new DeltaProtocolError(`The schemaString of Delta table '${table}' is not valid JSON: ${(e as Error).message}.`);
  }
  const root = parsed as { type?: unknown; fields?: unknown };
  if (root?.type !== 'struct' || !Array.isArray(root.fields)) {
    throw new DeltaProtocolError(`The schemaString of Delta table '${table}' is not a struct type: ${schemaString.slice(0, 200)}.`);
  }
  return schemaOf((root.fields as SparkStructField[]).map((f) => fieldFromSpark(f, f.name, table)));
}

function fieldFromSpark(f: SparkStructField, path: string, table: string): Field {
  return field(f.name, typeFromSpark(f.type, path, table), f.nullable !== false);
}

function typeFromSpark(t: SparkType, path: string, table: string): DataType {
  if (typeof t === 'string') {
    const p = FROM_SPARK[t];
    if (p !== undefined) return p;
    if (/^decimal\(\s*\d+\s*,\s*\d+\s*\)$/.test(t) || t === 'decimal') return 'double';
    throw unsupported(path, t, table);
  }
  if (t.type === 'struct') return structType(t.fields.map((f) => fieldFromSpark(f, `${path}.${f.name}`, table)));
  if (t.type === 'array') return { kind: 'array', element: typeFromSpark(t.elementType, `${path}[]`, table) };
  throw unsupported(path, JSON.stringify(t), table);
}

function unsupported(path: string, type: string, table: string): DeltaProtocolError {
  return new DeltaProtocolError(
    `Column '${path}' of Delta table '${table}' has type ${type}, which sluice cannot read. ` +
      'Supported: string, binary, integer, long, double, boolean, timestamp, date, struct and array of them.',
  );
}

/**
 * The differences between the table's columns and the data's, one line each, by name (column order does not
 * matter: data columns are matched by name); empty when they match. Nullability is checked separately, on the data.
 *
 * @example
 * schemaDifferences(schemaOf({ id: 'long' }), schemaOf({ id: 'int', x: 'string' }));
 * // ["column 'id' is long in the table but int in the data", "column 'x' is not in the table"]
 */
export function schemaDifferences(table: Schema, data: Schema): string[] {
  const out: string[] = [];
  const byName = new Map(data.fields.map((f) => [f.name, f]));
  const tableNames = new Set(table.fields.map((f) => f.name));
  for (const f of table.fields) {
    const d = byName.get(f.name);
    if (d === undefined) {
      const other = data.fields.find((x) => x.name.toLowerCase() === f.name.toLowerCase());
      out.push(
        other
          ? `column '${f.name}' is spelled '${other.name}' in the data`
          : `column '${f.name}' (${typeToString(f.type)}) is missing from the data`,
      );
    } else if (!typeEquals(f.type, d.type)) {
      out.push(`column '${f.name}' is ${typeToString(f.type)} in the table but ${typeToString(d.type)} in the data`);
    }
  }
  for (const d of data.fields) {
    if (!tableNames.has(d.name) && !table.fields.some((f) => f.name.toLowerCase() === d.name.toLowerCase())) {
      out.push(`column '${d.name}' (${typeToString(d.type)}) is not in the table`);
    }
  }
  return out;
}

/** The schema with every field (nested ones too) nullable: the layout batches come back in. */
export function nullableSchema(schema: Schema): Schema {
  return schemaOf(schema.fields.map((f) => field(f.name, nullableType(f.type), true)));
}

function nullableType(t: DataType): DataType {
  if (typeof t === 'string') return t;
  if (t.kind === 'array') return { kind: 'array', element: nullableType(t.element) };
  return structType(t.fields.map((f) => field(f.name, nullableType(f.type), true)));
}
