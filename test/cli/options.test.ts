import { describe, expect, it } from 'vitest';
import { parseTimeOption } from '../../engine/cli/commands/backfill.js';
import { parseTriggerOption } from '../../engine/cli/commands/run.js';
import { randomSizes } from '../../engine/cli/commands/diff.js';
import { inputOverride } from '../../engine/cli/input-range.js';
import { CliError } from '../../engine/cli/exit-codes.js';
import type { PipelineSpec } from '../../engine/index.js';

const kafka: PipelineSpec = { source: { format: 'kafka', options: { subscribe: 'orders' } } };
const files: PipelineSpec = { source: { format: 'jsonl', path: 'data/' } };

describe('command-line options', () => {
  it('reads --trigger', () => {
    expect(parseTriggerOption('once')).toEqual({ once: true });
    expect(parseTriggerOption('available-now')).toEqual({ availableNow: true });
    expect(parseTriggerOption('10 seconds')).toEqual({ processingTime: 10_000 });
    expect(parseTriggerOption('500ms')).toEqual({ processingTime: 500 });
    expect(parseTriggerOption('0')).toEqual({ processingTime: 0 });
    expect(() => parseTriggerOption('sometimes')).toThrow(CliError);
  });

  it('reads --from/--to times', () => {
    const now = Date.parse('2026-05-31T12:00:00Z');
    expect(parseTimeOption('--from', '2026-05-30', now)).toBe(Date.parse('2026-05-30T00:00:00Z'));
    expect(parseTimeOption('--from', '2026-05-30T10:00', now)).toBe(Date.parse('2026-05-30T10:00:00Z'));
    expect(parseTimeOption('--from', '2026-05-30T10:00:00+02:00', now)).toBe(Date.parse('2026-05-30T08:00:00Z'));
    expect(parseTimeOption('--to', 'now', now)).toBe(now);
    expect(parseTimeOption('--from', 'now-2 days', now)).toBe(Date.parse('2026-05-29T12:00:00Z'));
    expect(() => parseTimeOption('--from', 'yesterday', now)).toThrow(/--from "yesterday": expected a time/);
  });

  it('reads --input as a path for files and an offset range for Kafka', () => {
    expect(inputOverride(files, 'other/')).toEqual({ path: 'other/' });
    expect(inputOverride(files, undefined)).toEqual({});
    expect(inputOverride(kafka, 'earliest..latest')).toEqual({ sourceOptions: { startingOffsets: 'earliest', endingOffsets: 'latest' } });
    expect(inputOverride(kafka, '{"orders":{"0":5}}..{"orders":{"0":9}}')).toEqual({
      sourceOptions: { startingOffsets: '{"orders":{"0":5}}', endingOffsets: '{"orders":{"0":9}}' },
    });
    expect(inputOverride(kafka, '2026-05-30T00:00Z..2026-05-31T00:00Z')).toEqual({
      sourceOptions: { startingTimestamp: String(Date.parse('2026-05-30T00:00Z')), startingOffsetsByTimestampStrategy: 'latest', endingTimestamp: String(Date.parse('2026-05-31T00:00Z')) },
    });
    expect(inputOverride(kafka, '..latest')).toEqual({ sourceOptions: { endingOffsets: 'latest' } });
    expect(() => inputOverride(kafka, 'data/')).toThrow(/offset range <start>\.\.<end>/);
    expect(() => inputOverride(kafka, '{oops..latest')).toThrow(/not JSON offsets/);
  });

  it('splits a diff input into random micro-batch sizes that add up, reproducibly', () => {
    const a = randomSizes(1000, 10, 7);
    expect(a.reduce((s, n) => s + n, 0)).toBe(1000);
    expect(a.every((n) => n >= 1)).toBe(true);
    expect(randomSizes(1000, 10, 7)).toEqual(a);
    expect(randomSizes(1000, 10, 8)).not.toEqual(a);
    expect(randomSizes(0, 10, 7)).toEqual([]);
  });
});
