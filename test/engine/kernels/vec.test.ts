import { describe, expect, it } from 'vitest';
import { strAt, strVecFromStrings, utf8Decoder } from '../../../engine/kernels/vec.js';

describe('string vecs', () => {
  it('keep a value that starts with U+FEFF whole (a TextDecoder drops it by default)', () => {
    const v = strVecFromStrings(['\uFEFFa', 'b\uFEFF', '\uFEFF']);
    expect([0, 1, 2].map((i) => strAt(v, i))).toEqual(['\uFEFFa', 'b\uFEFF', '\uFEFF']);
    expect(utf8Decoder.decode(new TextEncoder().encode('\uFEFF{}'))).toBe('\uFEFF{}');
  });
});
