/**
 * The nesting-depth bound on JSON text. `JSON.parse` itself does not recurse, but turning a parsed value into columns,
 * inferring its type or printing it does: without a bound, how deep a document may be would depend on the stack size,
 * and a deep enough line would end the query with a RangeError. Spark's JSON reader (3.5+, through Jackson's
 * `StreamReadConstraints`) refuses documents nested more than 1000 deep; sluice does the same.
 *
 * @module
 */

/** The default bound: objects and arrays open at once (Spark's, and Jackson's `maxNestingDepth`). */
export const DEFAULT_MAX_JSON_NESTING_DEPTH = 1000;

/** True when `text` holds more than `max` of the character `c` (found with `indexOf`, which runs natively). */
function holdsMore(text: string, c: string, max: number): boolean {
  let count = 0;
  for (let p = text.indexOf(c); p >= 0; p = text.indexOf(c, p + 1)) if (++count > max) return true;
  return false;
}

/**
 * True when `text` opens more than `max` objects and arrays at once (brackets inside strings do not count). Text that
 * holds no more than `max` opening brackets cannot, so it is not scanned character by character: a long line with few
 * brackets costs two native searches, not a loop over its characters (which took ~3× JSON.parse's time).
 *
 * @example
 * jsonNestingExceeds('{"a":[[1]]}', 2); // true: depth 3
 * jsonNestingExceeds('{"a":"[[[["}', 2); // false
 */
export function jsonNestingExceeds(text: string, max: number): boolean {
  const n = text.length;
  if (n <= max) return false;
  // More than max openings in all means more than max/2 of one of the two kinds.
  const half = Math.floor(max / 2);
  if (!holdsMore(text, '[', half) && !holdsMore(text, '{', half)) return false;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) i = jsonStringEnd(text, i);
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/**
 * The index of the quote that closes the JSON string opened at `open` (escapes skipped), or the text's length.
 *
 * @example
 * jsonStringEnd('{"a\\"b":1}', 1); // 6
 */
export function jsonStringEnd(text: string, open: number): number {
  const n = text.length;
  let i = open + 1;
  for (; i < n; i++) {
    const d = text.charCodeAt(i);
    if (d === 92) i++;
    else if (d === 34) return i;
  }
  return n;
}
