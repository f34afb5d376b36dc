// Compressed record batches written by the Java client (Kafka's own console producer, from the broker's jars):
// snappy (xerial framing), lz4 (frame format) and zstd (needs Node ≥ 22.15; otherwise a clear error).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lz4Frame, snappy } from '../../../connectors/kafka/kafka-codecs.js';
import '../../../connectors/kafka/index.js';
import { col, Session } from '../../../engine/index.js';
import { checkJava, LIBS_DIR } from '../../../engine/cli/kafka/broker.js';
import { describeKafka, kafkaBrokerList } from '../../setup/kafka.js';
import { KafkaTestKit } from '../../helpers/kafka-test-kit.js';

function javaProduce(brokers: string, topic: string, codec: string, lines: readonly string[]): Promise<void> {
  const java = checkJava();
  if (!java.ok) throw new Error(java.reason);
  return new Promise((resolve, reject) => {
    const child = spawn(
      java.bin,
      [
        '-cp',
        join(LIBS_DIR, '*'),
        'kafka.tools.ConsoleProducer',
        '--bootstrap-server',
        brokers,
        '--topic',
        topic,
        '--compression-codec',
        codec,
        '--property',
        'parse.key=true',
        '--property',
        'key.separator=|',
        '--producer-property',
        'linger.ms=100',
        '--producer-property',
        'batch.size=262144',
      ],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`console producer exited ${code}: ${err}`))));
    child.stdin.end(lines.join('\n') + '\n');
  });
}

describeKafka('Kafka source codecs (records written by the Java client)', () => {
  let kit: KafkaTestKit;
  const session = new Session();
  beforeAll(() => {
    kit = new KafkaTestKit(kafkaBrokerList());
  });
  afterAll(async () => {
    await kit.close();
  });
  const lines = Array.from({ length: 3000 }, (_, i) => `k${i % 10}|{"user":"u${i % 10}","n":${i},"text":"lorem ipsum dolor sit amet, lorem ipsum dolor sit amet"}`);
  const read = (topic: string) =>
    session.read
      .format('kafka')
      .option('kafka.bootstrap.servers', kit.bootstrap)
      .option('subscribe', topic)
      .load()
      .select(col('key').cast('string').as('key'), col('value').cast('string').as('value'), 'partition', 'offset');

  for (const codec of ['snappy', 'lz4', 'gzip']) {
    it(`reads ${codec} batches`, async () => {
      const topic = await kit.topic(`codec-${codec}`, 1);
      await javaProduce(kit.bootstrap, topic, codec, lines);
      const rows = await read(topic).collect();
      expect(rows.map((r) => `${r['key']}|${r['value']}`)).toEqual(lines);
      expect(rows.map((r) => r['offset'])).toEqual(lines.map((_, i) => i));
    });
  }

  it('reads zstd batches on Node ≥ 22.15, else names the codec and the fix', async () => {
    const topic = await kit.topic('codec-zstd', 1);
    await javaProduce(kit.bootstrap, topic, 'zstd', lines.slice(0, 100));
    const hasZstd = 'zstdDecompressSync' in (await import('node:zlib'));
    if (hasZstd) expect(await read(topic).count()).toBe(100);
    else await expect(read(topic).collect()).rejects.toThrow(/zstd record batch at offset 0 cannot be decoded: zstd needs Node ≥ 22.15/);
  });
});

describe('Kafka codecs (by hand)', () => {
  const text = (b: Uint8Array) => Buffer.from(b).toString();
  it('snappy: a literal then an overlapping copy, raw and in xerial framing', () => {
    const raw = new Uint8Array([12, 0x08, 97, 98, 99, 0x15, 3]);
    expect(text(snappy(raw))).toBe('abcabcabcabc');
    const framed = new Uint8Array([0x82, 83, 78, 65, 80, 80, 89, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, raw.length, ...raw, 0, 0, 0, raw.length, ...raw]);
    expect(text(snappy(framed))).toBe('abcabcabcabc'.repeat(2));
  });
  it('lz4: a frame with a compressed block and a stored block', () => {
    const frame = new Uint8Array([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82, 6, 0, 0, 0, 0x35, 97, 98, 99, 3, 0, 2, 0, 0, 0x80, 120, 121, 0, 0, 0, 0]);
    expect(text(lz4Frame(frame))).toBe('abcabcabcabcxy');
  });
});
