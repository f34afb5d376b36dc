import { describe, expect, it } from 'vitest';
import { lagMetrics, offsetJson, offsetsBetween, offsetsFromJson, rateLimit } from '../../../connectors/kafka/kafka-offsets.js';

const m = (o: Record<string, number>) => new Map(Object.entries(o));

describe('Kafka source offsets', () => {
  it('log as Spark JSON with topics and partitions in order, and read back', () => {
    const j = offsetJson(m({ 'b:10': 1, 'b:2': 7, 'a:0': 3 }));
    expect(JSON.stringify(j)).toBe('{"a":{"0":3},"b":{"2":7,"10":1}}');
    expect(offsetsFromJson(j)).toEqual(m({ 'a:0': 3, 'b:2': 7, 'b:10': 1 }));
    expect(offsetsFromJson(null).size).toBe(0);
  });

  it('keep topic names with dots, dashes and underscores apart from the partition', () => {
    const j = offsetJson(m({ 'my.topic-v2_x:3': 9 }));
    expect(j).toEqual({ 'my.topic-v2_x': { '3': 9 } });
  });

  it('rate limit shares maxOffsetsPerTrigger in proportion to each partition’s lag (Spark’s rounding)', () => {
    expect(rateLimit(10, m({ 't:0': 0, 't:1': 0 }), m({ 't:0': 100, 't:1': 300 }))).toEqual(m({ 't:0': 2, 't:1': 7 }));
    // a share below one rounds up: small partitions are not starved
    expect(rateLimit(10, m({ 't:0': 0, 't:1': 0 }), m({ 't:0': 1, 't:1': 1000 }))).toEqual(m({ 't:0': 1, 't:1': 9 }));
    // never past the latest offset; partitions without lag stay
    expect(rateLimit(1000, m({ 't:0': 5, 't:1': 9 }), m({ 't:0': 8, 't:1': 9 }))).toEqual(m({ 't:0': 8, 't:1': 9 }));
    // nothing to read: the latest offsets as they are
    expect(rateLimit(5, m({ 't:0': 4 }), m({ 't:0': 4 }))).toEqual(m({ 't:0': 4 }));
  });

  it('count the offsets between two positions', () => {
    expect(offsetsBetween(m({ 't:0': 5 }), m({ 't:0': 8, 't:1': 4 }))).toBe(7);
    expect(offsetsBetween(m({ 't:0': 9 }), m({ 't:0': 8 }))).toBe(0);
  });

  it('report lag like Spark (min/max/avg OffsetsBehindLatest) plus total and worst partition', () => {
    expect(lagMetrics(m({ 't:0': 5, 't:1': 10 }), m({ 't:0': 9, 't:1': 10 }))).toEqual({
      minOffsetsBehindLatest: '0',
      maxOffsetsBehindLatest: '4',
      avgOffsetsBehindLatest: '2',
      totalOffsetsBehindLatest: '4',
      maxOffsetsBehindLatestPartition: 't-0',
    });
  });
});
