import { describe, expect, it } from 'vitest';
import { KeyIdSet } from '../../../engine/physical/partitions/tws-state.js';

describe('KeyIdSet', () => {
  it('keeps key ids once each, in the order they were added, and empties when taken', () => {
    const s = new KeyIdSet();
    for (const g of [7, 2, 7, 100_000, 2, 0]) s.add(g);
    expect(s.size).toBe(4);
    expect(s.has(7) && s.has(0) && s.has(100_000)).toBe(true);
    expect(s.has(3) || s.has(1_000_000)).toBe(false);
    expect([...s.take()]).toEqual([7, 2, 100_000, 0]);
    expect(s.size).toBe(0);
    expect(s.has(7)).toBe(false);
    s.add(2);
    expect([...s.take()]).toEqual([2]);
  });

  it('grows past its first list and renumbers, dropping gone ids', () => {
    const s = new KeyIdSet();
    for (let g = 0; g < 5_000; g++) s.add(4_999 - g);
    expect(s.size).toBe(5_000);
    // Even ids move to g / 2, odd ids are gone.
    const remap = Int32Array.from({ length: 5_000 }, (_, g) => (g % 2 === 0 ? g / 2 : -1));
    s.remap(remap);
    expect(s.size).toBe(2_500);
    expect(s.has(2_499) && !s.has(2_500)).toBe(true);
    const ids = [...s.take()];
    expect(ids.slice(0, 3)).toEqual([2_499, 2_498, 2_497]);
    expect(ids.length).toBe(2_500);
  });
});
