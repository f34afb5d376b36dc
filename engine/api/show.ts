import { extent } from '../types/arrays.js';

/** Text of one value as `show()` prints it. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof Date) return v.toISOString().replace('T', ' ').replace('Z', '');
  if (typeof v === 'object' && !(v instanceof Uint8Array)) {
    if (Array.isArray(v)) return `[${v.map(cell).join(', ')}]`;
    return `{${Object.values(v as Record<string, unknown>).map(cell).join(', ')}}`;
  }
  if (v instanceof Uint8Array) return `[${Buffer.from(v).toString('hex')}]`;
  return String(v);
}

/**
 * Formats rows as Spark's `show()` does: a boxed table, values truncated to 40 characters.
 *
 * @example
 * formatTable(['a'], [{ a: 1 }]); // '+---+\n|  a|\n+---+\n|  1|\n+---+'
 */
export function formatTable(columns: readonly string[], rows: readonly Record<string, unknown>[], truncate = 40): string {
  const cells = rows.map((r) =>
    columns.map((c) => {
      const s = cell(r[c]);
      return s.length > truncate ? `${s.slice(0, truncate - 3)}...` : s;
    }),
  );
  const widths = columns.map((c, i) => Math.max(c.length, extent(cells, (r) => r[i]!.length)[1], 1));
  const line = `+${widths.map((w) => '-'.repeat(w)).join('+')}+`;
  const fmt = (vals: readonly string[]) => `|${vals.map((v, i) => v.padStart(widths[i]!)).join('|')}|`;
  return [line, fmt(columns), line, ...cells.map(fmt), line].join('\n');
}
