import { describe, expect, it } from 'vitest';
import { col, fromJson, Session } from '../../../engine/index.js';
import { DEFAULT_MAX_JSON_NESTING_DEPTH, jsonNestingExceeds, jsonStringEnd } from '../../../engine/types/json-depth.js';

/** JSON text `{"b":[[…]]}` nesting objects and arrays `depth` deep. */
const nested = (depth: number) => `{"b":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

describe('JSON nesting depth', () => {
  it('counts open objects and arrays, not brackets inside strings', () => {
    expect(jsonNestingExceeds('{"a":[[1]]}', 2)).toBe(true);
    expect(jsonNestingExceeds('{"a":[[1]]}', 3)).toBe(false);
    expect(jsonNestingExceeds('{"a":"[[[[[[","b":"\\"[[[["}', 2)).toBe(false);
    expect(jsonNestingExceeds('[{}][{}][{}]', 2)).toBe(false);
    expect([jsonStringEnd('{"a\\"b":1}', 1), jsonStringEnd('"ab\\', 0), jsonStringEnd('"ab', 0)]).toEqual([6, 4, 3]);
    expect(jsonNestingExceeds(nested(DEFAULT_MAX_JSON_NESTING_DEPTH), DEFAULT_MAX_JSON_NESTING_DEPTH)).toBe(false);
    expect(jsonNestingExceeds(nested(DEFAULT_MAX_JSON_NESTING_DEPTH + 1), DEFAULT_MAX_JSON_NESTING_DEPTH)).toBe(true);
    // Objects and arrays mixed, 1001 deep: neither kind alone is more than half the bound.
    const mixed = `${'{"a":['.repeat(500)}{}${']}'.repeat(500)}`;
    expect([jsonNestingExceeds(mixed, 1000), jsonNestingExceeds(mixed, 1001)]).toEqual([true, false]);
    expect(jsonNestingExceeds(`{"s":"${'['.repeat(3000)}","t":"${'{'.repeat(3000)}"}`, 1000)).toBe(false);
  });

  it('fromJson makes text nested deeper than 1000 a malformed row, as the readers do; a leading BOM is still read', async () => {
    const session = new Session();
    const texts = [nested(1000), nested(1001), nested(3000), '\uFEFF{"b":"x"}'];
    const df = session.createDataFrame(
      texts.map((v) => ({ v })),
      { v: 'string' },
    );
    const rows = await df.select(fromJson(col('v'), { b: 'string' }).as('o')).collect();
    expect(rows.map((r) => (r['o'] === null ? null : String((r['o'] as { b: string }).b).length))).toEqual([2 * 999, null, null, 1]);
  });
});
