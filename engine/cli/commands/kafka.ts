/**
 * `sluice kafka start|stop|status`: a local single-node Kafka broker (KRaft, the one sluice's tests use) to try the
 * Kafka source and sink with. `start` runs it in the background and records it in `.cache/kafka/broker.json` (in the
 * package folder; `--state` for another file), which `status` and `stop` read.
 *
 * @module
 */
import { KafkaBrokerError, kafkaVersion, runningBroker, startBackgroundBroker, STATE_FILE, stopBackgroundBroker, type BrokerRecord } from '../kafka/broker.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Output } from '../output.js';

/** The options of `sluice kafka start`. */
export interface KafkaStartOptions {
  readonly port?: string;
  readonly dataDir?: string;
  readonly state?: string;
  readonly json?: boolean;
}

/** The options of `sluice kafka stop` and `status`. */
export interface KafkaStateOptions {
  readonly state?: string;
  readonly json?: boolean;
}

/** The port `start` listens on unless told otherwise: the one the README's examples and Kafka's own docs use. */
export const DEFAULT_KAFKA_PORT = 9092;

function describe(b: BrokerRecord): string {
  return `Kafka ${b.kafkaVersion} broker at ${b.brokers} (pid ${b.pid}, since ${b.startedAt}; log ${b.logFile})`;
}

/**
 * Starts the broker in the background (or finds the one already recorded running); prints `KAFKA_BROKERS=<address>`.
 *
 * @example
 * await kafkaStartCommand({ port: '9092' }, new Output()); // KAFKA_BROKERS=127.0.0.1:9092
 */
export async function kafkaStartCommand(o: KafkaStartOptions, out: Output): Promise<ExitCodeValue> {
  const port = o.port === undefined ? DEFAULT_KAFKA_PORT : Number(o.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliError(`--port ${o.port}: a TCP port, 1 to 65535.`);
  let r: Awaited<ReturnType<typeof startBackgroundBroker>>;
  try {
    r = await startBackgroundBroker({ port, dataDir: o.dataDir, stateFile: o.state });
  } catch (e) {
    if (e instanceof KafkaBrokerError && e.code === 'KAFKA_PORT_IN_USE') {
      throw new CliError(`port ${port} is in use (another Kafka?): choose another with --port.`, ExitCode.failed);
    }
    throw e;
  }
  if (r.broker === null) {
    throw new CliError(`no Kafka broker: ${'reason' in r ? r.reason : 'unavailable'}. It needs Java 11+ (and Maven once, to fetch Kafka ${kafkaVersion()}).`, ExitCode.failed);
  }
  if (o.json) out.printJson({ started: r.started, ...r.broker });
  else {
    out.error(`${r.started ? 'started' : 'already running:'} ${describe(r.broker)}; \`npx sluice kafka stop\` stops it`);
    out.line(`KAFKA_BROKERS=${r.broker.brokers}`);
  }
  return ExitCode.ok;
}

/**
 * Stops the recorded broker and removes its temporary folder.
 *
 * @example
 * await kafkaStopCommand({}, new Output());
 */
export async function kafkaStopCommand(o: KafkaStateOptions, out: Output): Promise<ExitCodeValue> {
  const r = await stopBackgroundBroker(o.state ?? STATE_FILE);
  if (o.json) out.printJson(r === null ? { stopped: false } : { stopped: r.wasRunning, ...r.record });
  else if (r === null) out.line(`no broker recorded in ${o.state ?? STATE_FILE}: nothing to stop`);
  else out.line(r.wasRunning ? `stopped the ${describe(r.record)}` : `the broker at ${r.record.brokers} (pid ${r.record.pid}) was not running; record removed`);
  return ExitCode.ok;
}

/**
 * Says whether the recorded broker runs: exit 0 and `KAFKA_BROKERS=<address>` when it does, 1 when not.
 *
 * @example
 * const code = await kafkaStatusCommand({}, new Output());
 */
export async function kafkaStatusCommand(o: KafkaStateOptions, out: Output): Promise<ExitCodeValue> {
  const b = runningBroker(o.state ?? STATE_FILE);
  if (o.json) out.printJson(b === null ? { running: false } : { running: true, ...b });
  else if (b === null) out.line('no broker running (`npx sluice kafka start` starts one)');
  else {
    out.line(`running: ${describe(b)}`);
    out.line(`KAFKA_BROKERS=${b.brokers}`);
  }
  return b === null ? ExitCode.failed : ExitCode.ok;
}
