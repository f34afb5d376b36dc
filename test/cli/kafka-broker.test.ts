/**
 * `sluice kafka start|status|stop`: a broker of its own on a free port (never the shared test broker), started from the
 * built dist/ and inspected and stopped from the sources, with a record in a temporary state file; a message produced
 * to it is read back by sluice's Kafka reader.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { col, Session } from '../../engine/index.js';
import { checkJava, freePort, stopBackgroundBroker, type BrokerRecord } from '../../engine/cli/kafka/broker.js';
import { ROOT, runCli, tempDir } from './helpers.js';

const DIST_CLI = join(ROOT, 'dist', 'engine', 'cli', 'index.js');
const java = checkJava();
if (!java.ok && process.env['CI'] !== 'true') console.warn(`[kafka-broker] skipping sluice kafka: ${java.reason}`);
const describeJava = java.ok || process.env['CI'] === 'true' ? describe : describe.skip;

/** Whether `pid` is a running Kafka broker (a zombie's cmdline is empty). */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka');
  } catch {
    return false;
  }
}

describeJava('sluice kafka start | status | stop', () => {
  const state = join(tempDir('sluice-kafka-cli-'), 'broker.json');
  afterAll(async () => {
    await stopBackgroundBroker(state); // a failed test must not leave its broker running
  });

  it('starts a broker on the given port, which a client produces to and sluice reads back, and stops it', async () => {
    expect(existsSync(DIST_CLI), `${DIST_CLI} is missing: run \`npm run build\` (npm test does)`).toBe(true);
    const port = await freePort();
    const start = await runCli(['kafka', 'start', '--port', String(port), '--state', state], { script: DIST_CLI, timeoutMs: 180_000 });
    expect(start.stderr).toContain(`started Kafka`);
    expect(start.code).toBe(0);
    const address = `127.0.0.1:${port}`;
    expect(start.stdout.trim()).toBe(`KAFKA_BROKERS=${address}`);
    const record = JSON.parse(readFileSync(state, 'utf8')) as BrokerRecord;
    expect(record.brokers).toBe(address);
    expect(alive(record.pid)).toBe(true);

    const fromSource = { env: { SLUICE_FROM_SOURCE: '1' } };
    const status = await runCli(['kafka', 'status', '--state', state], fromSource);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`KAFKA_BROKERS=${address}`);
    const again = await runCli(['kafka', 'start', '--port', String(port), '--state', state], fromSource);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already running');
    expect(again.stdout.trim()).toBe(`KAFKA_BROKERS=${address}`);

    const kafka = new Kafka({ clientId: 'sluice-kafka-cli-test', brokers: [address], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: 'hello', acks: -1, messages: [{ key: 'k', value: 'hello from sluice kafka start' }] });
    await producer.disconnect();
    // consumed back by sluice's own Kafka reader (a batch read, earliest to latest)
    const got = await new Session().read.format('kafka').option('kafka.bootstrap.servers', address).option('subscribe', 'hello').load()
      .select(col('key').cast('string').as('key'), col('value').cast('string').as('value')).collect();
    expect(got).toEqual([{ key: 'k', value: 'hello from sluice kafka start' }]);

    const stop = await runCli(['kafka', 'stop', '--state', state], { ...fromSource, timeoutMs: 60_000 });
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain(`stopped the Kafka`);
    expect(alive(record.pid)).toBe(false);
    expect(existsSync(record.dir)).toBe(false);
    expect(existsSync(state)).toBe(false);
    const after = await runCli(['kafka', 'status', '--state', state], fromSource);
    expect(after.code).toBe(1);
    expect(after.stdout).toContain('no broker running');
  });

  it('refuses a port that is not a TCP port, before starting anything', async () => {
    const r = await runCli(['kafka', 'start', '--port', '70000', '--state', state], { env: { SLUICE_FROM_SOURCE: '1' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port 70000: a TCP port');
    expect(existsSync(state)).toBe(false);
  });
});
