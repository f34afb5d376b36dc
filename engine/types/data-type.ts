/**
 * sluice's logical types and their Arrow physical layout.
 *
 * | sluice      | Arrow                         | JS value in `collect()`                 |
 * |-------------|-------------------------------|-----------------------------------------|
 * | `string`    | Utf8                          | `string`                                |
 * | `binary`    | Binary                        | `Uint8Array`                            |
 * | `int`       | Int32                         | `number`                                |
 * | `long`      | Int64                         | `number` (`bigint` beyond ±2^53)        |
 * | `double`    | Float64                       | `number`                                |
 * | `boolean`   | Bool                          | `boolean`                               |
 * | `timestamp` | Timestamp(MILLISECOND, "UTC") | `Date`                                  |
 * | `date`      | Date(DAY)                     | `string` (`YYYY-MM-DD`)                 |
 * | struct      | Struct                        | plain object                            |
 * | array       | List                          | JS array                                |
 *
 * @module
 */
import {
  Binary,
  Bool,
  DateDay,
  Field as ArrowField,
  Float64,
  Int32,
  Int64,
  List,
  Schema as ArrowSchema,
  Struct,
  TimestampMillisecond,
  Utf8,
  type DataType as ArrowDataType,
} from 'apache-arrow';

/** A primitive sluice type name. */
export type PrimitiveType = 'string' | 'binary' | 'int' | 'long' | 'double' | 'boolean' | 'timestamp' | 'date';

/** A struct type: named, ordered fields. */
export interface StructType {
  readonly kind: 'struct';
  readonly fields: readonly Field[];
}

/** A list type. */
export interface ArrayType {
  readonly kind: 'array';
  readonly element: DataType;
}

/** Any sluice type. */
export type DataType = PrimitiveType | StructType | ArrayType;

/** A named column of a schema. */
export interface Field {
  readonly name: string;
  readonly type: DataType;
  readonly nullable: boolean;
  /**
   * The name of the DataFrame the column came from (`df.alias('l')`), so that `col('l.id')` reaches it after a join.
   * Plan metadata only: never written to files, state or Arrow schemas.
   */
  readonly qualifier?: string;
}

/** An ordered list of fields; the shape of every batch a plan node produces. */
export interface Schema {
  readonly fields: readonly Field[];
}

/** The shorthand users write: `{ user: 'string', amount: 'double', ts: 'timestamp' }`. */
export type SchemaSpec = Record<string, DataType | TypeName>;

/** Type names accepted in schemas, with Spark's aliases. */
export type TypeName = PrimitiveType | 'integer' | 'bigint' | 'float' | 'bool' | 'str' | 'utf8';

/** The primitive types, in a stable order. */
export const PRIMITIVE_TYPES: readonly PrimitiveType[] = [
  'string',
  'binary',
  'int',
  'long',
  'double',
  'boolean',
  'timestamp',
  'date',
];

const ALIASES: Record<string, PrimitiveType> = {
  integer: 'int',
  int32: 'int',
  bigint: 'long',
  int64: 'long',
  float: 'double',
  float64: 'double',
  bool: 'boolean',
  str: 'string',
  utf8: 'string',
};

/** Raised when a type name or schema cannot be understood. */
export class SchemaError extends Error {
  override readonly name: string = 'SchemaError';
}

/**
 * Parses a type name (`'int'`, `'bigint'`, `'timestamp'` …) into a sluice type.
 *
 * @example
 * parseType('bigint'); // 'long'
 * parseType('timestamp'); // 'timestamp'
 */
export function parseType(name: DataType | string): DataType {
  if (typeof name !== 'string') return name;
  const lower = name.trim().toLowerCase();
  if ((PRIMITIVE_TYPES as readonly string[]).includes(lower)) return lower as PrimitiveType;
  const alias = ALIASES[lower];
  if (alias) return alias;
  throw new SchemaError(
    `Unknown type '${name}'. Use one of: ${PRIMITIVE_TYPES.join(', ')} (aliases: ${Object.keys(ALIASES).join(', ')}).`,
  );
}

/**
 * Builds a struct type from fields.
 *
 * @example
 * const w = structType([field('start', 'timestamp'), field('end', 'timestamp')]);
 */
export function structType(fields: readonly Field[]): StructType {
  return Object.freeze({ kind: 'struct' as const, fields: Object.freeze([...fields]) });
}

/**
 * Builds a field.
 *
 * @example
 * field('amount', 'double'); // { name: 'amount', type: 'double', nullable: true }
 */
export function field(name: string, type: DataType, nullable = true): Field {
  return Object.freeze({ name, type, nullable });
}

/**
 * Builds a schema from fields or from the `{ name: 'type' }` shorthand.
 *
 * @example
 * const s = schemaOf({ user: 'string', amount: 'double', ts: 'timestamp' });
 * s.fields.map((f) => f.name); // ['user', 'amount', 'ts']
 */
export function schemaOf(spec: SchemaSpec | readonly Field[] | Schema): Schema {
  if (Array.isArray(spec)) return Object.freeze({ fields: Object.freeze([...(spec as Field[])]) });
  if (isSchema(spec)) return spec;
  const fields = Object.entries(spec as SchemaSpec).map(([name, t]) => field(name, parseType(t)));
  if (fields.length === 0) throw new SchemaError('A schema needs at least one column, e.g. { ts: "timestamp" }.');
  return Object.freeze({ fields: Object.freeze(fields) });
}

function isSchema(x: unknown): x is Schema {
  return typeof x === 'object' && x !== null && Array.isArray((x as Schema).fields) && !('kind' in x);
}

/**
 * The same schema with every column qualified by `alias` (what `df.alias('l')` gives its columns).
 *
 * @example
 * qualifySchema(schemaOf({ id: 'long' }), 'l').fields[0]!.qualifier; // 'l'
 */
export function qualifySchema(schema: Schema, alias: string): Schema {
  return Object.freeze({ fields: Object.freeze(schema.fields.map((f) => Object.freeze({ name: f.name, type: f.type, nullable: f.nullable, qualifier: alias }))) });
}

/**
 * A result whose column names repeat (both inputs' `id` after a join: allowed in a plan, as in Spark) where it becomes
 * rows, a table or files, which hold one column per name: refused instead of losing one. `repeated` lists each name
 * with its columns as they can be selected (`o.id`, `c.id`; a column without a qualifier by its name).
 *
 * @example
 * try { await joined.collect(); } catch (e) { if (e instanceof RepeatedColumnNamesError) e.repeated; } // [{ name: 'id', columns: ['o.id', 'c.id'] }]
 */
export class RepeatedColumnNamesError extends SchemaError {
  override readonly name = 'RepeatedColumnNamesError';
  constructor(
    readonly where: string,
    readonly repeated: readonly { readonly name: string; readonly columns: readonly string[] }[],
  ) {
    super(repeatedNamesMessage(where, repeated));
  }
}

function repeatedNamesMessage(where: string, repeated: readonly { readonly name: string; readonly columns: readonly string[] }[]): string {
  const list = repeated.map((r) => `'${r.name}' ${r.columns.length} times (${r.columns.join(', ')})`).join(', ');
  const first = repeated[0]!;
  const qualified = first.columns.every((c) => c.includes('.'));
  const cols = qualified ? first.columns : first.columns.map((_, i) => `${i === 0 ? 'l' : i === 1 ? 'r' : `t${i}`}.${first.name}`);
  const select = `select(${cols.map((c) => `col('${c}').as('${c.replace('.', '_')}')`).join(', ')}, …)`;
  return (
    `${where} needs one column per name, but the result has ${list}: one would be lost. ` +
    (qualified ? `Rename them first: ${select}` : `Name the join's inputs with df.alias('l') and other.alias('r'), then rename: ${select}`) +
    `, or rename the column on one input before the join with withColumnRenamed('${first.name}', '<new name>').`
  );
}

/**
 * Throws `RepeatedColumnNamesError` when two columns of `schema` have the same name; `where` names the operation
 * (`collect()`, `write…save()`, `writeStream…start()`). Names are compared exactly, as row objects' keys are.
 *
 * @example
 * assertUniqueNames(df.schema, 'collect()');
 */
export function assertUniqueNames(schema: Schema, where: string): void {
  const fields = schema.fields;
  if (new Set(fields.map((f) => f.name)).size === fields.length) return;
  const groups = new Map<string, string[]>();
  for (const f of fields) {
    const g = groups.get(f.name) ?? [];
    g.push(f.qualifier === undefined ? f.name : `${f.qualifier}.${f.name}`);
    groups.set(f.name, g);
  }
  throw new RepeatedColumnNamesError(
    where,
    [...groups].filter(([, cs]) => cs.length > 1).map(([name, columns]) => ({ name, columns })),
  );
}

/** The `window` struct type: `{ start: timestamp, end: timestamp }`. */
export const WINDOW_TYPE: StructType = structType([field('start', 'timestamp', false), field('end', 'timestamp', false)]);

/** True for `int`, `long` and `double`. */
export function isNumeric(t: DataType): boolean {
  return t === 'int' || t === 'long' || t === 'double';
}

/** True for struct types. */
export function isStruct(t: DataType): t is StructType {
  return typeof t === 'object' && t.kind === 'struct';
}

/** True for array types. */
export function isArray(t: DataType): t is ArrayType {
  return typeof t === 'object' && t.kind === 'array';
}

/** True when `t` is the window struct (`{start, end}` of timestamps). */
export function isWindowType(t: DataType): boolean {
  return (
    isStruct(t) &&
    t.fields.length === 2 &&
    t.fields[0]!.name === 'start' &&
    t.fields[1]!.name === 'end' &&
    t.fields[0]!.type === 'timestamp' &&
    t.fields[1]!.type === 'timestamp'
  );
}

/** Type equality (structural). */
export function typeEquals(a: DataType, b: DataType): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (a.kind === 'array' && b.kind === 'array') return typeEquals(a.element, b.element);
  if (a.kind === 'struct' && b.kind === 'struct') {
    return (
      a.fields.length === b.fields.length &&
      a.fields.every((f, i) => f.name === b.fields[i]!.name && typeEquals(f.type, b.fields[i]!.type))
    );
  }
  return false;
}

/** Spark-style type text: `struct<start:timestamp,end:timestamp>`, `array<string>`. */
export function typeToString(t: DataType): string {
  if (typeof t === 'string') return t;
  if (t.kind === 'array') return `array<${typeToString(t.element)}>`;
  return `struct<${t.fields.map((f) => `${f.name}:${typeToString(f.type)}`).join(',')}>`;
}

/** `name: type, …` for error messages. */
export function schemaToString(s: Schema): string {
  return s.fields.map((f) => `${f.name}: ${typeToString(f.type)}`).join(', ');
}

/** The Arrow type that carries a sluice type. */
export function toArrowType(t: DataType): ArrowDataType {
  if (typeof t === 'string') {
    switch (t) {
      case 'string':
        return new Utf8();
      case 'binary':
        return new Binary();
      case 'int':
        return new Int32();
      case 'long':
        return new Int64();
      case 'double':
        return new Float64();
      case 'boolean':
        return new Bool();
      case 'timestamp':
        return new TimestampMillisecond('UTC');
      case 'date':
        return new DateDay();
    }
  }
  if (t.kind === 'array') return new List(new ArrowField('element', toArrowType(t.element), true));
  return new Struct(t.fields.map((f) => new ArrowField(f.name, toArrowType(f.type), f.nullable)));
}

/** The Arrow schema for a sluice schema. */
export function toArrowSchema(s: Schema): ArrowSchema {
  return new ArrowSchema(s.fields.map((f) => new ArrowField(f.name, toArrowType(f.type), f.nullable)));
}

/**
 * The sluice type for an Arrow type, or `null` when it has no sluice equivalent. Narrow integer and float types,
 * dictionaries, large strings and timestamps of any unit map to the nearest sluice type; see `normalizeBatch`.
 */
export function fromArrowType(t: ArrowDataType): DataType | null {
  const id = t.typeId as number;
  // Arrow Type enum values (apache-arrow's `Type`): stable across versions.
  switch (id) {
    case 5: // Utf8
    case 20: // LargeUtf8
      return 'string';
    case 4: // Binary
    case 19: // LargeBinary
    case 15: // FixedSizeBinary
      return 'binary';
    case 6: // Bool
      return 'boolean';
    case 2: {
      // Int
      const it = t as unknown as { bitWidth: number; isSigned: boolean };
      if (it.bitWidth < 32 || (it.bitWidth === 32 && it.isSigned)) return 'int';
      return 'long';
    }
    case 3: // Float
      return 'double';
    case 7: // Decimal
      return 'double';
    case 8: // Date
      return 'date';
    case 10: // Timestamp
      return 'timestamp';
    case 12: {
      // List
      const child = (t as unknown as { children: ArrowField[] }).children[0]!;
      const el = fromArrowType(child.type);
      return el === null ? null : { kind: 'array', element: el };
    }
    case 13: {
      // Struct
      const children = (t as unknown as { children: ArrowField[] }).children;
      const fields: Field[] = [];
      for (const c of children) {
        const ct = fromArrowType(c.type);
        if (ct === null) return null;
        fields.push(field(c.name, ct, c.nullable));
      }
      return structType(fields);
    }
    case -1: {
      // Dictionary
      return fromArrowType((t as unknown as { dictionary: ArrowDataType }).dictionary);
    }
    default:
      return null;
  }
}

/** The sluice schema of an Arrow schema; throws naming the column whose type has no sluice equivalent. */
export function fromArrowSchema(s: ArrowSchema): Schema {
  return schemaOf(
    s.fields.map((f) => {
      const t = fromArrowType(f.type);
      if (t === null) {
        throw new SchemaError(
          `Column '${f.name}' has Arrow type ${String(f.type)}, which sluice cannot read. ` +
            `Cast it to one of ${PRIMITIVE_TYPES.join(', ')} before loading.`,
        );
      }
      return field(f.name, t, f.nullable);
    }),
  );
}
