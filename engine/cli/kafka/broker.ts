/**
 * A real, single-node Apache Kafka broker (KRaft: broker and controller in one JVM) for trying sluice and for its
 * tests. No Docker: the broker's jars come from Maven Central once (`engine/cli/kafka/pom.xml` → `.cache/kafka/libs`
 * in the package folder) and run with the machine's Java (11+).
 *
 * `npx sluice kafka start|stop|status` (engine/cli/README.md) runs one in the background; the tests' vitest global
 * setup starts one per run with {@link startBroker}.
 *
 * @example
 * const b = await startBroker();
 * if (b.available) console.log(b.brokers); else console.log(b.reason);
 * await b.stop();
 *
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package folder: engine/cli/kafka/ when run from the sources, dist/engine/cli/kafka/ when built. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      if ((JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'sluice') return dir;
    } catch {
      // keep walking up
    }
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find sluice's package.json above ${fileURLToPath(import.meta.url)}`);
}

/** The sluice package folder. */
export const REPO_ROOT = packageRoot();
/** The Maven project that lists the broker's jars and pins the Kafka version. */
export const POM = path.join(REPO_ROOT, 'engine', 'cli', 'kafka', 'pom.xml');
/** `.cache/kafka` in the package folder: the jars, and the record of a broker `sluice kafka start` started. */
export const CACHE_DIR = path.join(REPO_ROOT, '.cache', 'kafka');
/** Where the jars are: `$KAFKA_LIBS_DIR` (an existing Kafka 3.9 `libs/`) or `.cache/kafka/libs`. */
export const LIBS_DIR = process.env['KAFKA_LIBS_DIR'] ? path.resolve(process.env['KAFKA_LIBS_DIR']) : path.join(CACHE_DIR, 'libs');
/** The default record of the broker `sluice kafka start` started (address, pid, folder), read by `status` and `stop`. */
export const STATE_FILE = path.join(CACHE_DIR, 'broker.json');

const HOST = '127.0.0.1';
const IS_CI = process.env['CI'] === 'true';
const DEFAULT_HEAP = process.env['KAFKA_BROKER_HEAP'] || '512m';
const DEFAULT_START_TIMEOUT_MS = Number(process.env['KAFKA_BROKER_START_TIMEOUT_MS'] || 90_000);
const STOP_GRACE_MS = 15_000;

const log = (msg: string): void => {
  if (process.env['KAFKA_BROKER_QUIET'] !== '1') process.stderr.write(`[kafka-broker] ${msg}\n`);
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * An error of the broker set-up, with a code the callers branch on.
 *
 * @example
 * try { await startBroker({ port: 9092 }); } catch (e) { if (e instanceof KafkaBrokerError && e.code === 'KAFKA_PORT_IN_USE') … }
 */
export class KafkaBrokerError extends Error {
  override readonly name = 'KafkaBrokerError';
  constructor(
    message: string,
    readonly code: 'KAFKA_NO_MAVEN' | 'KAFKA_FETCH_FAILED' | 'KAFKA_PORT_IN_USE' | 'KAFKA_START_FAILED' | 'KAFKA_NO_JARS',
  ) {
    super(message);
  }
}

/**
 * The Kafka version pinned in pom.xml (the one source of truth).
 *
 * @example
 * kafkaVersion(); // '3.9.2'
 */
export function kafkaVersion(): string {
  const m = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(POM, 'utf8'));
  if (!m) throw new Error(`no <kafka.version> in ${POM}`);
  return m[1]!.trim();
}

// ---------------------------------------------------------------- tools ----

function javaBin(): string {
  if (process.env['KAFKA_JAVA']) return process.env['KAFKA_JAVA']; // an explicit java binary
  const home = process.env['JAVA_HOME'];
  if (home && existsSync(path.join(home, 'bin', 'java'))) return path.join(home, 'bin', 'java');
  return 'java';
}

/** Whether Java 11+ is there to run the broker. */
export type JavaCheck = { ok: true; version: number; bin: string } | { ok: false; reason: string };

/**
 * Whether the machine's Java (`$KAFKA_JAVA`, `$JAVA_HOME/bin/java`, else `java`) can run Kafka (11+).
 *
 * @example
 * const java = checkJava();
 * if (!java.ok) console.log(java.reason);
 */
export function checkJava(): JavaCheck {
  const bin = javaBin();
  const r = spawnSync(bin, ['-version'], { encoding: 'utf8' });
  if (r.error) {
    return {
      ok: false,
      reason:
        (r.error as NodeJS.ErrnoException).code === 'ENOENT'
          ? `Java is not installed ('${bin}' not found; set JAVA_HOME or install a JDK 11+)`
          : `cannot run '${bin} -version': ${r.error.message}`,
    };
  }
  const out = `${r.stderr}${r.stdout}`;
  const m = /version "(\d+)(?:\.(\d+))?/.exec(out);
  if (!m) return { ok: false, reason: `cannot read the Java version from: ${out.trim().split('\n')[0]}` };
  const major = m[1] === '1' ? Number(m[2]) : Number(m[1]);
  if (major < 11) return { ok: false, reason: `Kafka ${kafkaVersion()} needs Java 11+, found Java ${major}` };
  return { ok: true, version: major, bin };
}

function hasJars(dir: string, version: string): boolean {
  try {
    return readdirSync(dir).includes(`kafka_2.13-${version}.jar`);
  } catch {
    return false;
  }
}

/**
 * Makes sure the broker's jars are in LIBS_DIR (runs Maven once; a no-op when they are there). Maven writes into a
 * temporary folder that is renamed into place, so an interrupted fetch never leaves a half-filled libs folder.
 *
 * @example
 * const { libsDir, fetched } = await ensureJars();
 */
export async function ensureJars(): Promise<{ libsDir: string; fetched: boolean; ms: number }> {
  const version = kafkaVersion();
  const t0 = Date.now();
  if (process.env['KAFKA_LIBS_DIR']) {
    if (!hasJars(LIBS_DIR, version)) throw new KafkaBrokerError(`KAFKA_LIBS_DIR=${LIBS_DIR} has no kafka_2.13-${version}.jar`, 'KAFKA_NO_JARS');
    return { libsDir: LIBS_DIR, fetched: false, ms: 0 };
  }
  if (hasJars(LIBS_DIR, version)) return { libsDir: LIBS_DIR, fetched: false, ms: Date.now() - t0 };

  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (mvn.error) {
    throw new KafkaBrokerError(
      `Maven ('mvn') is needed once to fetch the Kafka ${version} jars into ${LIBS_DIR}: ${mvn.error.message}`,
      'KAFKA_NO_MAVEN',
    );
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = path.join(CACHE_DIR, `libs.tmp-${process.pid}-${Date.now()}`);
  log(`fetching Kafka ${version} jars with Maven into ${path.relative(REPO_ROOT, LIBS_DIR)} ...`);
  const { code, output } = await run('mvn', ['-B', '-q', '-f', POM, `-Dlibs.dir=${tmp}`, 'package'], { cwd: path.dirname(POM) });
  if (code !== 0 || !hasJars(tmp, version)) {
    rmSync(tmp, { recursive: true, force: true });
    throw new KafkaBrokerError(`Maven could not fetch the Kafka ${version} jars (exit ${code}):\n${tail(output, 30)}`, 'KAFKA_FETCH_FAILED');
  }
  if (hasJars(LIBS_DIR, version)) {
    rmSync(tmp, { recursive: true, force: true }); // another process won the race
  } else {
    rmSync(LIBS_DIR, { recursive: true, force: true }); // jars of another Kafka version
    renameSync(tmp, LIBS_DIR);
  }
  const ms = Date.now() - t0;
  log(`jars ready in ${(ms / 1000).toFixed(1)}s`);
  return { libsDir: LIBS_DIR, fetched: true, ms };
}

function run(cmd: string, args: readonly string[], opts: { cwd: string }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (e) => resolve({ code: -1, output: `${output}${e.message}` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

function tail(text: string, n: number): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .join('\n');
}

function readTail(file: string, n: number): string {
  try {
    return tail(readFileSync(file, 'utf8'), n);
  } catch {
    return '';
  }
}

// --------------------------------------------------------------- config ----

/**
 * A free TCP port on 127.0.0.1 (the OS picks it; closed again right away).
 *
 * @example
 * const port = await freePort();
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The cluster id for the storage tool: the one already in `<dataDir>/meta.properties` when the folder was formatted
 * before (a restarted broker must keep it), else a new Kafka Uuid: 16 random bytes, base64url, no padding.
 */
function clusterId(dataDir: string): string {
  try {
    const meta = readFileSync(path.join(dataDir, 'meta.properties'), 'utf8');
    const m = /^cluster\.id=(.+)$/m.exec(meta);
    if (m) return m[1]!.trim();
  } catch {
    // not formatted yet
  }
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id; // as Kafka's Uuid.randomUuid(): no leading '-'
  }
}

function serverProperties({ port, controllerPort, dataDir }: { port: number; controllerPort: number; dataDir: string }): string {
  return `# written by sluice (engine/cli/kafka/broker.ts): a single-node KRaft broker for trying sluice and for its tests
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${HOST}:${controllerPort}
listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}
advertised.listeners=PLAINTEXT://${HOST}:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${dataDir}

# one broker: every internal topic has one replica
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.num.partitions=1
transaction.state.log.min.isr=1
min.insync.replicas=1
default.replication.factor=1
num.partitions=1
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0

# small and light: 2 cores, short-lived data
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.segment.bytes=1048576
offsets.topic.segment.bytes=1048576
transaction.state.log.segment.bytes=1048576
log.index.size.max.bytes=1048576
log.retention.hours=24
log.retention.check.interval.ms=60000
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
log.cleaner.io.buffer.size=65536
`;
}

function log4jProperties(logDir: string): string {
  // Everything goes to one file; nothing to the console.
  return `log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${path.join(logDir, 'server.log')}
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.kafka.log=WARN
log4j.logger.org.apache.zookeeper=WARN
`;
}

// ---------------------------------------------------------------- start ----

/** What {@link startBroker} takes. */
export interface StartBrokerOptions {
  /** Root folder for config, data and logs. Kept on stop() when given; a temp folder otherwise. */
  readonly dataDir?: string | undefined;
  /** Client port (default: a free loopback port). */
  readonly port?: number | undefined;
  /** KRaft controller port (default: a free loopback port). */
  readonly controllerPort?: number | undefined;
  /** JVM max heap, e.g. '512m' (default: $KAFKA_BROKER_HEAP or '512m'). */
  readonly heap?: string | undefined;
  /** How long to wait for the broker to answer listTopics (default 90 s). */
  readonly startTimeoutMs?: number | undefined;
  /** Let the broker outlive this process (`sluice kafka start`). */
  readonly detached?: boolean | undefined;
}

/** A broker {@link startBroker} started. */
export interface RunningBroker {
  readonly available: true;
  /** '127.0.0.1:PORT' */
  readonly brokers: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly pid: number;
  /** The broker's log4j log (server.log). */
  readonly logFile: string;
  /** Folder holding server.properties, data/ and logs/. */
  readonly dir: string;
  readonly startMs: number;
  /** SIGTERM, SIGKILL after 15 s; removes the folder unless dataDir was given. */
  stop(): Promise<void>;
}

/** No broker: Java (or Maven, for the first jar fetch) is missing. */
export interface UnavailableBroker {
  readonly available: false;
  readonly brokers: null;
  /** Why there is no broker (e.g. Java is not installed). */
  readonly reason: string;
  stop(): Promise<void>;
}

export type BrokerHandle = RunningBroker | UnavailableBroker;

/**
 * Starts a broker: formats its storage, runs `kafka.Kafka` and waits until a client can list topics. Resolves to a
 * running broker, or, when Java (or Maven, for a first fetch) is missing and CI !== 'true', to `{ available: false,
 * reason }`; under CI=true a missing tool throws instead.
 *
 * @example
 * const b = await startBroker({ port: 9092 });
 * if (b.available) console.log(`KAFKA_BROKERS=${b.brokers}`);
 * await b.stop();
 */
export async function startBroker(opts: StartBrokerOptions = {}): Promise<BrokerHandle> {
  const unavailable = (reason: string): UnavailableBroker => {
    if (IS_CI) throw new Error(`Kafka broker unavailable under CI=true: ${reason}`);
    log(`unavailable: ${reason}`);
    return { available: false, brokers: null, reason, stop: async () => {} };
  };

  const java = checkJava();
  if (!java.ok) return unavailable(java.reason);
  try {
    await ensureJars();
  } catch (e) {
    if (e instanceof KafkaBrokerError && (e.code === 'KAFKA_NO_MAVEN' || e.code === 'KAFKA_FETCH_FAILED')) return unavailable(e.message);
    throw e;
  }

  const attempts = opts.port || opts.controllerPort ? 1 : 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(java.bin, opts);
    } catch (e) {
      if (e instanceof KafkaBrokerError && e.code === 'KAFKA_PORT_IN_USE' && attempt < attempts) {
        log(`port taken between pick and bind, retrying (${attempt}/${attempts})`);
        continue;
      }
      throw e;
    }
  }
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

async function startOnce(javaPath: string, opts: StartBrokerOptions): Promise<RunningBroker> {
  const t0 = Date.now();
  const ownDir = !opts.dataDir;
  const dir = opts.dataDir ? path.resolve(opts.dataDir) : mkdtempSync(path.join(tmpdir(), 'sluice-kafka-'));
  const dataDir = path.join(dir, 'data');
  const logDir = path.join(dir, 'logs');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const cleanup = () => {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };

  const port = opts.port ?? (await freePort());
  let controllerPort = opts.controllerPort ?? (await freePort());
  while (controllerPort === port) controllerPort = await freePort();
  const brokers = `${HOST}:${port}`;

  const propsFile = path.join(dir, 'server.properties');
  const log4jFile = path.join(dir, 'log4j.properties');
  const logFile = path.join(logDir, 'server.log');
  const launchLog = path.join(logDir, 'launch.log'); // the JVM's own stdout/stderr
  writeFileSync(propsFile, serverProperties({ port, controllerPort, dataDir }));
  writeFileSync(log4jFile, log4jProperties(logDir));

  const jvm = [
    `-Xms128m`,
    `-Xmx${opts.heap ?? DEFAULT_HEAP}`,
    '-XX:+UseSerialGC',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    '-Djava.net.preferIPv4Stack=true',
    `-Dlog4j.configuration=file:${log4jFile}`,
    `-Dkafka.logs.dir=${logDir}`,
    '-cp',
    path.join(LIBS_DIR, '*'),
  ];

  // 1. format the storage (-g: a dataDir that is already formatted is fine)
  const fmt = await run(javaPath, [...jvm, 'kafka.tools.StorageTool', 'format', '-g', '-t', clusterId(dataDir), '-c', propsFile], { cwd: dir });
  if (fmt.code !== 0) {
    cleanup();
    throw new KafkaBrokerError(`kafka storage format failed (exit ${fmt.code}):\n${tail(fmt.output, 30)}`, 'KAFKA_START_FAILED');
  }

  // 2. start the broker
  const out = openSync(launchLog, 'a');
  const child = spawn(javaPath, [...jvm, 'kafka.Kafka', propsFile], { cwd: dir, stdio: ['ignore', out, out], detached: !!opts.detached });
  closeSync(out);
  const pid = child.pid!;
  let exited: Exit | null = null;
  const exitedP = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => resolve((exited = { code, signal })));
    child.on('error', (error) => resolve((exited = { code: -1, signal: null, error })));
  });

  let watchdog: ChildProcess | null = null;
  let onExit: (() => void) | null = null;
  if (opts.detached) {
    child.unref();
  } else {
    // If this Node process dies without calling stop() (crash, SIGKILL), a tiny shell watchdog stops the broker and
    // removes its temp folder.
    watchdog = spawnWatchdog(process.pid, pid, ownDir ? dir : '');
    onExit = () => signal(pid, 'SIGTERM');
    process.on('exit', onExit);
  }

  const diagnostics = () => {
    let errors = '';
    try {
      errors = readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => /^\[[^\]]+\] (ERROR|FATAL) /.test(l))
        .slice(0, 8)
        .join('\n');
    } catch {
      // no log yet
    }
    return (
      (errors ? `--- first errors in ${logFile} ---\n${errors}\n` : '') +
      `--- last lines of ${logFile} ---\n${readTail(logFile, 30) || '(empty)'}\n` +
      `--- last lines of ${launchLog} ---\n${readTail(launchLog, 20) || '(empty)'}`
    );
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (onExit) process.off('exit', onExit);
    if (!exited) {
      signal(pid, 'SIGTERM');
      const t = setTimeout(() => signal(pid, 'SIGKILL'), STOP_GRACE_MS);
      await exitedP;
      clearTimeout(t);
    }
    if (watchdog?.pid) signal(watchdog.pid, 'SIGKILL');
    cleanup();
  };

  // 3. wait until a client can list topics
  const timeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  try {
    await waitReady({ brokers, logFile, timeoutMs, hasExited: () => exited });
  } catch (e) {
    const inUse = /Address already in use|BindException/.test(readTail(logFile, 200) + readTail(launchLog, 50));
    const msg = `${(e as Error).message}\n${diagnostics()}`;
    await stop();
    throw new KafkaBrokerError(
      inUse ? `port ${port} (or the controller's ${controllerPort}) is in use: ${msg}` : msg,
      inUse ? 'KAFKA_PORT_IN_USE' : 'KAFKA_START_FAILED',
    );
  }

  const startMs = Date.now() - t0;
  log(`broker up at ${brokers} (pid ${pid}) in ${(startMs / 1000).toFixed(1)}s; log ${logFile}`);
  return { available: true, brokers, port, controllerPort, pid, logFile, dir, startMs, stop };
}

/** process.kill that ignores a process that is gone already. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

function spawnWatchdog(parentPid: number, brokerPid: number, dirToRemove: string): ChildProcess {
  const script = `
parent=$1; broker=$2; dir=$3
while kill -0 "$parent" 2>/dev/null; do
  kill -0 "$broker" 2>/dev/null || exit 0
  sleep 1
done
if kill -0 "$broker" 2>/dev/null; then
  kill -TERM "$broker" 2>/dev/null
  i=0
  while kill -0 "$broker" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.5; i=$((i+1)); done
  kill -KILL "$broker" 2>/dev/null
fi
[ -n "$dir" ] && rm -rf "$dir"
exit 0`;
  const w = spawn('sh', ['-c', script, 'sluice-kafka-watchdog', String(parentPid), String(brokerPid), dirToRemove], {
    detached: true,
    stdio: 'ignore',
  });
  w.on('error', () => {});
  w.unref();
  return w;
}

async function waitReady(o: { brokers: string; logFile: string; timeoutMs: number; hasExited: () => Exit | null }): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  const { Kafka, logLevel } = await import('kafkajs');
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    const ex = o.hasExited();
    if (ex) {
      throw new Error(`Kafka broker exited before it was ready (code ${ex.code}, signal ${ex.signal}${ex.error ? `, ${ex.error.message}` : ''})`);
    }
    const kafka = new Kafka({
      clientId: 'sluice-broker-probe',
      brokers: [o.brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 3000,
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.listTopics();
      return;
    } catch (e) {
      lastError = (e as Error)?.message ?? String(e);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await sleep(300);
  }
  throw new Error(`Kafka broker at ${o.brokers} did not answer within ${o.timeoutMs} ms (last error: ${lastError})`);
}

// ------------------------------------------------ a broker in the background ----

/** What `sluice kafka start` records about the broker it started (the state file, `.cache/kafka/broker.json`). */
export interface BrokerRecord {
  readonly brokers: string;
  readonly pid: number;
  readonly dir: string;
  /** Whether `dir` is a temporary folder of the broker's own, removed on stop. */
  readonly ownDir: boolean;
  readonly logFile: string;
  readonly kafkaVersion: string;
  readonly startedAt: string;
}

function readRecord(stateFile: string): BrokerRecord | null {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')) as BrokerRecord;
  } catch {
    return null;
  }
}

/** Whether `pid` is a running Kafka broker (not a process that took a finished broker's pid). */
function isBroker(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka');
  } catch {
    try {
      process.kill(pid, 0);
      return true; // no /proc (not Linux): trust the state file
    } catch {
      return false;
    }
  }
}

/**
 * The broker recorded in `stateFile` when it is still running, else null.
 *
 * @example
 * const b = runningBroker(STATE_FILE);
 * if (b) console.log(`KAFKA_BROKERS=${b.brokers}`);
 */
export function runningBroker(stateFile: string = STATE_FILE): BrokerRecord | null {
  const r = readRecord(stateFile);
  return r && isBroker(r.pid) ? r : null;
}

/**
 * Starts a broker that outlives this process and records it in `stateFile`; when the recorded one is still running,
 * returns it instead (`started: false`).
 *
 * @example
 * const { broker } = await startBackgroundBroker({ port: 9092 });
 * console.log(`KAFKA_BROKERS=${broker.brokers}`);
 */
export async function startBackgroundBroker(
  o: { readonly port?: number | undefined; readonly dataDir?: string | undefined; readonly stateFile?: string | undefined } = {},
): Promise<{ started: boolean; broker: BrokerRecord } | { started: false; broker: null; reason: string }> {
  const stateFile = o.stateFile ?? STATE_FILE;
  const running = runningBroker(stateFile);
  if (running) return { started: false, broker: running };
  rmSync(stateFile, { force: true });
  const b = await startBroker({ detached: true, port: o.port, dataDir: o.dataDir });
  if (!b.available) return { started: false, broker: null, reason: b.reason };
  const record: BrokerRecord = {
    brokers: b.brokers,
    pid: b.pid,
    dir: b.dir,
    ownDir: !o.dataDir,
    logFile: b.logFile,
    kafkaVersion: kafkaVersion(),
    startedAt: new Date().toISOString(),
  };
  mkdirSync(path.dirname(stateFile), { recursive: true });
  writeFileSync(stateFile, JSON.stringify(record, null, 2) + '\n');
  return { started: true, broker: record };
}

/**
 * Stops the broker recorded in `stateFile` (SIGTERM, SIGKILL after 15 s), removes its temporary folder and the record.
 * Resolves with the record, or null when none was there.
 *
 * @example
 * const stopped = await stopBackgroundBroker();
 */
export async function stopBackgroundBroker(stateFile: string = STATE_FILE): Promise<{ record: BrokerRecord; wasRunning: boolean } | null> {
  const r = readRecord(stateFile);
  if (!r) return null;
  const wasRunning = isBroker(r.pid);
  if (wasRunning) {
    signal(r.pid, 'SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (Date.now() < deadline && isBroker(r.pid)) await sleep(200);
    if (isBroker(r.pid)) {
      signal(r.pid, 'SIGKILL');
      await sleep(200);
    }
  }
  if (r.ownDir && r.dir) rmSync(r.dir, { recursive: true, force: true });
  rmSync(stateFile, { force: true });
  return { record: r, wasRunning };
}
