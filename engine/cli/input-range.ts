/**
 * `--input` of `sluice batch` and `sluice diff`: a path for file sources, an offset range for Kafka.
 *
 * @module
 */
import { parseTimestamp } from '../index.js';
import type { PipelineSpec } from '../index.js';
import { CliError } from './exit-codes.js';

/** How the bounded read of a source is changed: another path, or other start/end options. */
export interface InputOverride {
  readonly path?: string;
  readonly sourceOptions?: Record<string, string>;
}

function rangeEnd(side: string, which: 'starting' | 'ending'): Record<string, string> {
  const s = side.trim();
  if (s === '' ) return {};
  if (s === 'earliest' || s === 'latest') return { [`${which}Offsets`]: s };
  if (s.startsWith('{')) {
    try {
      JSON.parse(s);
    } catch {
      throw new CliError(`--input: ${s} is not JSON offsets like {"orders":{"0":100}}.`);
    }
    return { [`${which}Offsets`]: s };
  }
  const ms = parseTimestamp(s);
  if (ms === null) throw new CliError(`--input: '${s}' is not earliest, latest, JSON offsets or a time (ISO-8601 or epoch ms).`);
  return { [`${which}Timestamp`]: String(ms) };
}

/**
 * Reads `--input` for a spec: a path for file formats; for Kafka `<start>..<end>` where each side is `earliest`,
 * `latest`, JSON offsets (`{"orders":{"0":42}}`) or a time.
 *
 * @example
 * inputOverride(kafkaSpec, 'earliest..{"orders":{"0":100}}'); // { sourceOptions: { startingOffsets: 'earliest', endingOffsets: '{"orders":{"0":100}}' } }
 * inputOverride(fileSpec, 'data/2026-05-30/'); // { path: 'data/2026-05-30/' }
 */
export function inputOverride(spec: PipelineSpec, input: string | undefined): InputOverride {
  if (input === undefined) return {};
  if (spec.source.format.toLowerCase() !== 'kafka') return { path: input };
  const i = input.indexOf('..');
  if (i < 0) throw new CliError(`--input for a Kafka source is an offset range <start>..<end>, e.g. earliest..latest or 2026-05-30T00:00Z..2026-05-31T00:00Z; got '${input}'.`);
  const start = rangeEnd(input.slice(0, i), 'starting');
  // A partition with no record after the start time contributes nothing (rather than failing, Spark's default).
  if ('startingTimestamp' in start) start['startingOffsetsByTimestampStrategy'] = 'latest';
  return { sourceOptions: { ...start, ...rangeEnd(input.slice(i + 2), 'ending') } };
}
