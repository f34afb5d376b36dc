/**
 * Checking a sink's options: every sink names the options it understands, and anything else — an unknown key, a typo,
 * a value it cannot use — fails at `start()` instead of being ignored. Keys are case-insensitive, like Spark's
 * `CaseInsensitiveMap`.
 *
 * @module
 */
import { closestName } from '../logical/resolve-expr.js';

/** Options the writer itself reads, accepted by every sink: `path`, `checkpointLocation`, `deadLetterPath`. */
export const WRITER_OPTIONS: readonly string[] = ['path', 'checkpointLocation', 'deadLetterPath'];

/** What is wrong with one option, for an error factory. */
export interface OptionProblem {
  /** Who reads the options, as messages name it: `'parquet sink'`, `'Delta sink'`. */
  readonly owner: string;
  /** The option as the user spelled it. */
  readonly option: string;
  /** Every option the owner accepts (for a bad value: every value the option accepts). */
  readonly valid: readonly string[];
  /** The valid name (or value) nearest to a typo, if one is near. */
  readonly suggestion: string | null;
}

/**
 * An option a sink does not know, or a value it cannot use. `option` names it, `validOptions` lists what is accepted
 * (option names, or for a bad value the values), `suggestion` is the nearest valid one to a typo.
 *
 * @example
 * try { q = df.writeStream.format('jsonl').option('deliveryGuarantee', 'x').start('out/'); }
 * catch (e) { if (e instanceof SinkOptionError) console.log(e.option, e.suggestion); }
 */
export class SinkOptionError extends Error {
  override readonly name = 'SinkOptionError';
  readonly option: string;
  readonly validOptions: readonly string[];
  readonly suggestion: string | null;
  constructor(message: string, problem: OptionProblem) {
    super(message);
    this.option = problem.option;
    this.validOptions = problem.valid;
    this.suggestion = problem.suggestion;
  }
}

/** How option names are checked. */
export interface OptionNameRules {
  /** The names the owner reads (the writer's own `WRITER_OPTIONS` are always accepted too, unless `writerOptions` is false). */
  readonly known: readonly string[];
  /** Whether `path`, `checkpointLocation` and `deadLetterPath` are accepted (default true). */
  readonly writerOptions?: boolean;
  /** A better message for a key that is known elsewhere (e.g. a source option given to a sink); null when not. */
  readonly elsewhere?: (key: string) => string | null;
  /** Builds the error (default `SinkOptionError`), so a connector can keep its own error class. */
  readonly error?: (message: string, problem: OptionProblem) => Error;
}

const defaultError = (message: string, problem: OptionProblem): Error => new SinkOptionError(message, problem);

/**
 * Throws for the first option whose key the owner does not read; the message lists the valid ones and suggests the
 * nearest for a typo.
 *
 * @example
 * checkOptionNames('jsonl sink', { path: 'out/', deliveryGuarantee: 'x' }, { known: [] });
 * // SinkOptionError: Unknown jsonl sink option 'deliveryGuarantee'. Known options: path, checkpointLocation, deadLetterPath.
 */
export function checkOptionNames(owner: string, options: Readonly<Record<string, unknown>>, rules: OptionNameRules): void {
  const valid = rules.writerOptions === false ? [...rules.known] : [...rules.known, ...WRITER_OPTIONS.filter((w) => !rules.known.includes(w))];
  const lower = new Set(valid.map((k) => k.toLowerCase()));
  for (const key of Object.keys(options)) {
    if (lower.has(key.toLowerCase())) continue;
    const suggestion = closestName(key, valid);
    const problem: OptionProblem = { owner, option: key, valid, suggestion };
    const hint = rules.elsewhere?.(key) ?? null;
    const message =
      hint ??
      `Unknown ${owner} option '${key}'. Known options: ${valid.join(', ')}.` + (suggestion !== null ? ` Did you mean '${suggestion}'?` : '');
    throw (rules.error ?? defaultError)(message, problem);
  }
}

/**
 * A sink's options after their names were checked, with typed getters that refuse bad values (naming the option and
 * the values it takes).
 *
 * @example
 * const o = new SinkOptions('console sink', req.options, ['numRows', 'truncate']);
 * const rows = o.positiveInt('numRows', 20);
 */
export class SinkOptions {
  private readonly byLower = new Map<string, string>();

  constructor(
    readonly owner: string,
    options: Readonly<Record<string, string>>,
    known: readonly string[],
  ) {
    checkOptionNames(owner, options, { known });
    for (const [k, v] of Object.entries(options)) this.byLower.set(k.toLowerCase(), v);
  }

  /** The raw value, or undefined when not given. */
  get(name: string): string | undefined {
    return this.byLower.get(name.toLowerCase());
  }

  /** One of `values` (case-insensitive), or `dflt`. */
  oneOf<T extends string>(name: string, values: readonly T[], dflt: T): T {
    const v = this.get(name);
    if (v === undefined) return dflt;
    const found = values.find((x) => x.toLowerCase() === v.trim().toLowerCase());
    if (found !== undefined) return found;
    throw this.bad(name, v, `one of ${values.map((x) => `'${x}'`).join(', ')}`, values);
  }

  /** `true` or `false`, or `dflt`. */
  bool(name: string, dflt: boolean): boolean {
    return this.oneOf(name, ['true', 'false'], dflt ? 'true' : 'false') === 'true';
  }

  /** A whole number ≥ 1, or `dflt`. */
  positiveInt(name: string, dflt: number): number {
    const v = this.get(name);
    if (v === undefined) return dflt;
    const n = /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < 1) throw this.bad(name, v, 'a whole number ≥ 1', []);
    return n;
  }

  /** A single character (a CSV separator or quote), or `dflt`. */
  char(name: string, dflt: string): string {
    const v = this.get(name);
    if (v === undefined) return dflt;
    const s = v === '\\t' ? '\t' : v;
    if ([...s].length !== 1) throw this.bad(name, v, 'a single character', []);
    return s;
  }

  private bad(name: string, value: string, what: string, values: readonly string[]): SinkOptionError {
    const suggestion = values.length > 0 ? closestName(value, values) : null;
    return new SinkOptionError(
      `${this.owner[0]!.toUpperCase()}${this.owner.slice(1)} option '${name}' must be ${what}, got '${value}'.` +
        (suggestion !== null ? ` Did you mean '${suggestion}'?` : ''),
      { owner: this.owner, option: name, valid: values, suggestion },
    );
  }
}
