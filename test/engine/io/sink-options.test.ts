import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStream, Session, SinkOptionError } from '../../../engine/index.js';
import { checkOptionNames, SinkOptions } from '../../../engine/io/sink-options.js';
import { DeltaOptionsError } from '../../../connectors/lakehouse/index.js';
import { KafkaOptionError, parseSinkOptions } from '../../../connectors/kafka/index.js';
import type { DataStreamWriter } from '../../../engine/api/writers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-sinkopt-'));

/** The error `start()` throws for a writer, or a failure when it starts. */
function startError(configure: (w: DataStreamWriter) => DataStreamWriter, format: string): Error {
  const session = new Session();
  const df = new MemoryStream(session, { id: 'int', value: 'string' }).toDF();
  const w = configure(format === 'foreachBatch' ? df.writeStream.foreachBatch(() => undefined) : df.writeStream.format(format));
  try {
    const q = w.start();
    void q.stop();
  } catch (e) {
    return e as Error;
  }
  throw new Error(`expected the ${format} sink to refuse its options at start()`);
}

describe('checkOptionNames', () => {
  it('accepts known names in any case and the writer\'s own options', () => {
    expect(() => checkOptionNames('console sink', { NUMROWS: '3', checkpointlocation: '/c', path: 'p', deadLetterPath: 'd' }, { known: ['numRows'] })).not.toThrow();
  });

  it('names the unknown option, lists the valid ones and suggests the nearest', () => {
    let e: SinkOptionError | undefined;
    try {
      checkOptionNames('console sink', { numRow: '3' }, { known: ['numRows', 'truncate'] });
    } catch (x) {
      e = x as SinkOptionError;
    }
    expect(e).toBeInstanceOf(SinkOptionError);
    expect(e!.name).toBe('SinkOptionError');
    expect(e).toMatchObject({ option: 'numRow', suggestion: 'numRows', validOptions: ['numRows', 'truncate', 'path', 'checkpointLocation', 'deadLetterPath'] });
    expect(e!.message).toBe(
      "Unknown console sink option 'numRow'. Known options: numRows, truncate, path, checkpointLocation, deadLetterPath. Did you mean 'numRows'?",
    );
  });

  it('gives no suggestion when nothing is near, and lets a connector keep its error class and hint', () => {
    expect(() => checkOptionNames('memory sink', { deliveryGuarantee: 'bogus-once' }, { known: [] })).toThrow(
      /^Unknown memory sink option 'deliveryGuarantee'. Known options: path, checkpointLocation, deadLetterPath.$/,
    );
    expect(() =>
      checkOptionNames('x', { a: '1' }, { known: [], error: (m) => new DeltaOptionsError(m), elsewhere: () => 'a is a source option' }),
    ).toThrow(new DeltaOptionsError('a is a source option'));
  });
});

describe('SinkOptions getters', () => {
  const o = new SinkOptions('test sink', { n: '12', b: 'TRUE', m: 'Zstd', c: '\\t' }, ['n', 'b', 'm', 'c', 'z']);
  it('parse good values and fall back to defaults', () => {
    expect(o.positiveInt('n', 1)).toBe(12);
    expect(o.bool('b', false)).toBe(true);
    expect(o.oneOf('m', ['snappy', 'zstd'], 'snappy')).toBe('zstd');
    expect(o.char('c', ',')).toBe('\t');
    expect(o.positiveInt('z', 7)).toBe(7);
  });
  it('refuse bad values naming the option and the accepted values', () => {
    const bad = new SinkOptions('test sink', { n: '1.5', b: 'yes', m: 'snapy', c: ';;' }, ['n', 'b', 'm', 'c']);
    expect(() => bad.positiveInt('n', 1)).toThrow("Test sink option 'n' must be a whole number ≥ 1, got '1.5'.");
    expect(() => bad.bool('b', false)).toThrow("Test sink option 'b' must be one of 'true', 'false', got 'yes'.");
    expect(() => bad.oneOf('m', ['snappy', 'zstd'], 'snappy')).toThrow("Test sink option 'm' must be one of 'snappy', 'zstd', got 'snapy'. Did you mean 'snappy'?");
    expect(() => bad.char('c', ',')).toThrow(SinkOptionError);
  });
});

describe('Every sink refuses unknown options at start()', () => {
  it('jsonl: deliveryGuarantee=bogus-once is not a jsonl option', () => {
    const out = tmp();
    const e = startError((w) => w.option('deliveryGuarantee', 'bogus-once').option('checkpointLocation', tmp()).option('path', out), 'jsonl');
    expect(e).toBeInstanceOf(SinkOptionError);
    expect(e.message).toMatch(/^Unknown jsonl sink option 'deliveryGuarantee'\. Known options: path, checkpointLocation, deadLetterPath\.$/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('console: unknown names with a suggestion, and bad numRows / truncate values', () => {
    expect(startError((w) => w.option('deliveryGuarantee', 'bogus-once'), 'console')).toBeInstanceOf(SinkOptionError);
    expect(startError((w) => w.option('numrow', '5'), 'console').message).toMatch(/Did you mean 'numRows'\?/);
    expect(startError((w) => w.option('numRows', 'five'), 'console').message).toMatch(/Console sink option 'numRows' must be a whole number ≥ 1, got 'five'/);
    expect(startError((w) => w.option('truncate', 'maybe'), 'console')).toMatchObject({ option: 'truncate', validOptions: ['true', 'false'] });
  });

  it('console: known options are used (truncate=false prints whole values)', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { value: 'string' });
    const lines: string[] = [];
    const log = console.log;
    console.log = (t: string) => void lines.push(t);
    try {
      const q = input.toDF().writeStream.format('console').option('truncate', 'false').option('numRows', '1').start();
      input.addData([{ value: 'x'.repeat(60) }, { value: 'y' }]);
      await q.processAllAvailable();
      await q.stop();
    } finally {
      console.log = log;
    }
    const text = lines.join('\n');
    expect(text).toContain('x'.repeat(60));
    expect(text).not.toContain('|y');
    expect(text).toContain('only showing top 1 rows');
  });

  it('memory and foreachBatch take no options of their own', () => {
    const m = startError((w) => w.queryName('m').option('truncate', 'false'), 'memory');
    expect(m).toBeInstanceOf(SinkOptionError);
    expect(m.message).toMatch(/^Unknown memory sink option 'truncate'/);
    const f = startError((w) => w.option('deliveryGuarantee', 'exactly-once'), 'foreachBatch');
    expect(f).toBeInstanceOf(SinkOptionError);
    expect(f.message).toMatch(/^Unknown foreachBatch sink option 'deliveryGuarantee'/);
  });

  it('delta: unknown names suggest the nearest, keeping DeltaOptionsError', () => {
    const e = startError((w) => w.option('partitonBy', 'id').option('checkpointLocation', tmp()).option('path', tmp()), 'delta');
    expect(e).toBeInstanceOf(DeltaOptionsError);
    expect(e.message).toMatch(/Unknown Delta sink option 'partitonBy'\. Known options: path, partitionBy, .*\. Did you mean 'partitionBy'\?/);
  });

  it('kafka: unknown names and unimplemented producer settings are refused; source options say so; bad values list the valid ones', () => {
    const base = { 'kafka.bootstrap.servers': '127.0.0.1:9', topic: 't' };
    expect(() => parseSinkOptions({ ...base, deliveryGuarante: 'exactly-once' })).toThrow(/Unknown Kafka sink option 'deliveryGuarante'.*Did you mean 'deliveryGuarantee'\?/);
    expect(() => parseSinkOptions({ ...base, 'kafka.linger.ms': '5' })).toThrow(/Kafka option 'kafka.linger.ms' is not used by the Kafka sink, so it would have no effect/);
    expect(() => parseSinkOptions({ ...base, subscribe: 'x' })).toThrow(/'subscribe' is a Kafka source option; the Kafka sink does not read it/);
    expect(() => parseSinkOptions({ ...base, deliveryGuarantee: 'bogus-once' })).toThrow(
      new KafkaOptionError("deliveryGuarantee must be 'at-least-once', 'exactly-once' or 'at-most-once', got 'bogus-once'."),
    );
    // The options the writer adds itself pass, and so does the one security protocol the client speaks.
    expect(parseSinkOptions({ ...base, checkpointLocation: '/c', path: 'ignored', 'kafka.security.protocol': 'PLAINTEXT' }).topic).toBe('t');
    const e = startError((w) => w.option('kafka.bootstrap.servers', '127.0.0.1:9').option('topic', 't').option('kafka.linger.ms', '5').option('checkpointLocation', tmp()), 'kafka');
    expect(e).toBeInstanceOf(KafkaOptionError);
    expect(e.message).toContain("'kafka.linger.ms' is not used by the Kafka sink");
  });
});
