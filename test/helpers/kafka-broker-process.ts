/**
 * Starts a stopped test broker again on its own folder (same port, same data), for the broker-restart test.
 * `startBroker({ dataDir })` cannot do this yet: it formats the storage with a fresh cluster id, which Kafka 3.9 refuses
 * for a folder formatted before ("Invalid cluster.id in …/meta.properties"). So this runs `kafka.Kafka` on the
 * `server.properties` the first start wrote, with the same JVM settings.
 *
 * @example
 * await broker.stop();
 * const again = await restartBroker(broker);
 * await again.stop();
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { checkJava, LIBS_DIR, type RunningBroker } from '../../engine/cli/kafka/broker.js';

export interface RestartedBroker {
  readonly brokers: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function restartBroker(b: RunningBroker, timeoutMs = 90_000): Promise<RestartedBroker> {
  const java = checkJava();
  if (!java.ok) throw new Error(java.reason);
  const out = openSync(join(b.dir, 'logs', 'launch.log'), 'a');
  const child = spawn(
    java.bin,
    [
      '-Xms128m',
      `-Xmx${process.env['KAFKA_BROKER_HEAP'] ?? '512m'}`,
      '-XX:+UseSerialGC',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      '-Djava.net.preferIPv4Stack=true',
      `-Dlog4j.configuration=file:${join(b.dir, 'log4j.properties')}`,
      `-Dkafka.logs.dir=${join(b.dir, 'logs')}`,
      '-cp',
      join(LIBS_DIR, '*'),
      'kafka.Kafka',
      join(b.dir, 'server.properties'),
    ],
    { cwd: b.dir, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  let exited = false;
  const exitedP = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));
  const onExit = () => child.kill('SIGKILL');
  process.on('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    if (exited) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exitedP;
    clearTimeout(t);
  };
  const kafka = new Kafka({ brokers: [b.brokers], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`the restarted broker exited; see ${b.logFile}`);
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.listTopics();
      await admin.disconnect();
      break;
    } catch {
      await admin.disconnect().catch(() => {});
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the restarted broker did not answer within ${timeoutMs} ms; see ${b.logFile}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { brokers: b.brokers, pid: child.pid!, stop };
}
