/**
 * Decompression of Kafka record batches: gzip (zlib), snappy (raw, or in the xerial framing the Java client writes),
 * LZ4 (the frame format, as Kafka's `KafkaLZ4BlockOutputStream` writes it) and zstd where Node has it (≥ 22.15).
 * Decoders only: the Kafka sink writes uncompressed or gzip.
 *
 * @module
 */
import * as zlib from 'node:zlib';

/** A codec sluice cannot decode, or bytes that are not valid for their codec. */
export class KafkaCodecError extends Error {
  override readonly name = 'KafkaCodecError';
}

export const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/**
 * The uncompressed records of a record batch compressed with `codec` (the low 3 bits of its attributes).
 *
 * @example
 * decompress(1, gzipped); // the records section of the batch
 */
export function decompress(codec: number, data: Uint8Array): Uint8Array {
  switch (codec) {
    case 1:
      return zlib.gunzipSync(data);
    case 2:
      return snappy(data);
    case 3:
      return lz4Frame(data);
    case 4: {
      const z = (zlib as unknown as { zstdDecompressSync?: (b: Uint8Array) => Buffer }).zstdDecompressSync;
      if (!z) {
        throw new KafkaCodecError(`zstd needs Node ≥ 22.15 (this is ${process.version}); produce with compression.type=lz4, snappy, gzip or none.`);
      }
      return z(data);
    }
    default:
      throw new KafkaCodecError(`Unknown compression codec ${codec}.`);
  }
}

const XERIAL = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];

/** Snappy: xerial-framed (`\x82SNAPPY\0`, versions, then length-prefixed blocks) or one raw block. */
export function snappy(data: Uint8Array): Uint8Array {
  if (data.length >= 16 && XERIAL.every((b, i) => data[i] === b)) {
    const parts: Uint8Array[] = [];
    let total = 0;
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let p = 16; p + 4 <= data.length; ) {
      const n = dv.getInt32(p);
      p += 4;
      if (n < 0 || p + n > data.length) throw new KafkaCodecError('Truncated xerial snappy block');
      const block = snappyBlock(data, p, p + n);
      parts.push(block);
      total += block.length;
      p += n;
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(total);
    let o = 0;
    for (const b of parts) {
      out.set(b, o);
      o += b.length;
    }
    return out;
  }
  return snappyBlock(data, 0, data.length);
}

/** One raw snappy block (`uvarint length` then literal/copy elements). */
export function snappyBlock(src: Uint8Array, start: number, end: number): Uint8Array {
  let p = start;
  let len = 0;
  let shift = 0;
  for (;;) {
    const b = src[p++]!;
    len += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
    shift += 7;
  }
  const out = new Uint8Array(len);
  let o = 0;
  while (p < end) {
    const tag = src[p++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const bytes = n - 59;
        n = 0;
        for (let k = 0; k < bytes; k++) n |= src[p++]! << (8 * k);
      }
      n += 1;
      if (p + n > end || o + n > len) throw new KafkaCodecError('Corrupt snappy literal');
      out.set(src.subarray(p, p + n), o);
      p += n;
      o += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      n = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | src[p++]!;
    } else if (kind === 2) {
      n = (tag >>> 2) + 1;
      offset = src[p]! | (src[p + 1]! << 8);
      p += 2;
    } else {
      n = (tag >>> 2) + 1;
      offset = (src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24)) >>> 0;
      p += 4;
    }
    if (offset === 0 || offset > o || o + n > len) throw new KafkaCodecError('Corrupt snappy copy');
    for (let k = 0; k < n; k++, o++) out[o] = out[o - offset]!;
  }
  if (o !== len) throw new KafkaCodecError(`Snappy block decoded to ${o} bytes, expected ${len}`);
  return out;
}

/** The LZ4 frame format (magic 0x184D2204): blocks, compressed or stored, linked or independent. */
export function lz4Frame(src: Uint8Array): Uint8Array {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (src.length < 7 || dv.getUint32(0, true) !== 0x184d2204) throw new KafkaCodecError('Not an LZ4 frame');
  const flg = src[4]!;
  let p = 6;
  let contentSize = -1;
  if (flg & 0x08) {
    contentSize = dv.getUint32(p, true) + dv.getUint32(p + 4, true) * 4294967296;
    p += 8;
  }
  if (flg & 0x01) p += 4; // dictionary id
  p += 1; // header checksum
  const blockChecksum = (flg & 0x10) !== 0;
  let out = new Uint8Array(contentSize >= 0 ? contentSize : Math.max(1024, src.length * 4));
  let o = 0;
  const ensure = (n: number) => {
    if (o + n <= out.length) return;
    let cap = out.length * 2;
    while (cap < o + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(out.subarray(0, o));
    out = b;
  };
  while (p + 4 <= src.length) {
    const word = dv.getUint32(p, true);
    p += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (p + size > src.length) throw new KafkaCodecError('Truncated LZ4 block');
    if (word & 0x80000000) {
      ensure(size);
      out.set(src.subarray(p, p + size), o);
      o += size;
    } else {
      // decode one block; matches may reach into earlier blocks (linked mode), all in `out`
      let q = p;
      const end = p + size;
      while (q < end) {
        const token = src[q++]!;
        let lit = token >>> 4;
        if (lit === 15) {
          let b: number;
          do {
            b = src[q++]!;
            lit += b;
          } while (b === 255);
        }
        ensure(lit);
        out.set(src.subarray(q, q + lit), o);
        q += lit;
        o += lit;
        if (q >= end) break;
        const offset = src[q]! | (src[q + 1]! << 8);
        q += 2;
        let m = token & 15;
        if (m === 15) {
          let b: number;
          do {
            b = src[q++]!;
            m += b;
          } while (b === 255);
        }
        m += 4;
        if (offset === 0 || offset > o) throw new KafkaCodecError('Corrupt LZ4 match');
        ensure(m);
        for (let k = 0; k < m; k++, o++) out[o] = out[o - offset]!;
      }
    }
    p += size + (blockChecksum ? 4 : 0);
  }
  return o === out.length ? out : out.subarray(0, o);
}
