/**
 * Exact JSON numbers. `JSON.parse` turns every number into a double, so an integer of 16 or more digits can come back
 * rounded (`9007199254740993` → `9007199254740992`) before any column sees it. `parseJsonExact` first rewrites every
 * number token of 16 or more digits (integer part and fraction together, an exponent included) into a string holding
 * its exact text; the column builders parse that text for their own type: a `long` exactly through `BigInt`, a
 * `double` to the nearest double as `JSON.parse` would have, a `string` column gets the number as written. Lines
 * without 16 consecutive digits — nearly all — are parsed as they are.
 *
 * @module
 */

const BIG_DIGITS = /\d{16}/;

/**
 * JSON text with every number token of 16 or more digits turned into a string of its text (`marker` prepended inside
 * the quotes, as JSON escapes, e.g. `\\u0000` to tell such strings apart during schema inference).
 *
 * @example
 * quoteBigNumbers('{"id":9007199254740993,"x":1.5}'); // '{"id":"9007199254740993","x":1.5}'
 */
export function quoteBigNumbers(text: string, marker = ''): string {
  let out = '';
  let from = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // Skip a string, escapes included.
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
      continue;
    }
    if (c !== 45 && (c < 48 || c > 57)) continue;
    let j = i + 1;
    let digits = c === 45 ? 0 : 1;
    let exponent = false;
    for (; j < n; j++) {
      const d = text.charCodeAt(j);
      if (d >= 48 && d <= 57) {
        if (!exponent) digits++;
      } else if (d === 101 || d === 69) exponent = true;
      else if (d !== 46 && d !== 43 && d !== 45) break;
    }
    if (digits >= 16) {
      out += `${text.slice(from, i)}"${marker}${text.slice(i, j)}"`;
      from = j;
    }
    i = j - 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * `JSON.parse` that keeps number tokens of 16+ digits exact, as strings of their text (see the module doc).
 *
 * @example
 * parseJsonExact('{"id":9223372036854775807}'); // { id: '9223372036854775807' }
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(BIG_DIGITS.test(text) ? quoteBigNumbers(text) : text);
}
