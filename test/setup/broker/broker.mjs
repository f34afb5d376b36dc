#!/usr/bin/env node
// A real, single-node Apache Kafka broker (KRaft: broker + controller in one JVM)
// for sluice's tests. No Docker: the broker's jars come from Maven Central once
// (test/setup/broker/pom.xml -> .cache/kafka/libs) and run with the machine's Java.
//
// Library:  import { startBroker, ensureJars } from './test/setup/broker/broker.mjs'
//           const b = await startBroker();  b.available ? b.brokers : b.reason
//           await b.stop();
// CLI:      node test/setup/broker/broker.mjs start [--port N] [--data-dir DIR]
//           node test/setup/broker/broker.mjs stop | status | fetch
//
// Plain Node ESM, no dependencies of its own. kafkajs (a project dependency) is
// used, when it can be imported, to check that the broker answers.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');
export const POM = path.join(HERE, 'pom.xml');
export const CACHE_DIR = path.join(REPO_ROOT, '.cache', 'kafka');
export const LIBS_DIR = process.env.KAFKA_LIBS_DIR
  ? path.resolve(process.env.KAFKA_LIBS_DIR)
  : path.join(CACHE_DIR, 'libs');
export const STATE_FILE = path.join(CACHE_DIR, 'broker.json');

const HOST = '127.0.0.1';
const IS_CI = process.env.CI === 'true';
const DEFAULT_HEAP = process.env.KAFKA_BROKER_HEAP || '512m';
const DEFAULT_START_TIMEOUT_MS = Number(process.env.KAFKA_BROKER_START_TIMEOUT_MS || 90_000);
const STOP_GRACE_MS = 15_000;

const log = (msg) => {
  if (process.env.KAFKA_BROKER_QUIET !== '1') process.stderr.write(`[kafka-broker] ${msg}\n`);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Kafka version pinned in pom.xml (the one source of truth). */
export function kafkaVersion() {
  const m = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(POM, 'utf8'));
  if (!m) throw new Error(`no <kafka.version> in ${POM}`);
  return m[1].trim();
}

// ---------------------------------------------------------------- tools ----

function javaBin() {
  if (process.env.KAFKA_JAVA) return process.env.KAFKA_JAVA; // an explicit java binary
  const home = process.env.JAVA_HOME;
  if (home && existsSync(path.join(home, 'bin', 'java'))) return path.join(home, 'bin', 'java');
  return 'java';
}

/** { ok: true, version } or { ok: false, reason } — Kafka 3.9 needs Java 11+. */
export function checkJava() {
  const bin = javaBin();
  const r = spawnSync(bin, ['-version'], { encoding: 'utf8' });
  if (r.error) {
    return {
      ok: false,
      reason:
        r.error.code === 'ENOENT'
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

function hasJars(dir, version) {
  try {
    return readdirSync(dir).includes(`kafka_2.13-${version}.jar`);
  } catch {
    return false;
  }
}

/**
 * Makes sure the broker's jars are in LIBS_DIR (runs Maven once; a no-op when
 * they are there). Maven writes into a temporary folder that is renamed into
 * place, so an interrupted fetch never leaves a half-filled libs folder.
 * Returns { libsDir, fetched, ms }.
 */
export async function ensureJars() {
  const version = kafkaVersion();
  const t0 = Date.now();
  if (process.env.KAFKA_LIBS_DIR) {
    if (!hasJars(LIBS_DIR, version)) {
      throw new Error(`KAFKA_LIBS_DIR=${LIBS_DIR} has no kafka_2.13-${version}.jar`);
    }
    return { libsDir: LIBS_DIR, fetched: false, ms: 0 };
  }
  if (hasJars(LIBS_DIR, version)) return { libsDir: LIBS_DIR, fetched: false, ms: Date.now() - t0 };

  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (mvn.error) {
    const err = new Error(
      `Maven ('mvn') is needed once to fetch the Kafka ${version} jars into ${LIBS_DIR}: ${mvn.error.message}`,
    );
    err.code = 'KAFKA_NO_MAVEN';
    throw err;
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = path.join(CACHE_DIR, `libs.tmp-${process.pid}-${Date.now()}`);
  log(`fetching Kafka ${version} jars with Maven into ${path.relative(REPO_ROOT, LIBS_DIR)} ...`);
  const { code, output } = await run('mvn', ['-B', '-q', '-f', POM, `-Dlibs.dir=${tmp}`, 'package'], {
    cwd: HERE,
  });
  if (code !== 0 || !hasJars(tmp, version)) {
    rmSync(tmp, { recursive: true, force: true });
    const err = new Error(
      `Maven could not fetch the Kafka ${version} jars (exit ${code}):\n${tail(output, 30)}`,
    );
    err.code = 'KAFKA_FETCH_FAILED';
    throw err;
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

function run(cmd, args, opts) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (e) => resolve({ code: -1, output: `${output}${e.message}` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

function tail(text, n) {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-n).join('\n');
}

function readTail(file, n) {
  try {
    return tail(readFileSync(file, 'utf8'), n);
  } catch {
    return '';
  }
}

// --------------------------------------------------------------- config ----

/** A free TCP port on 127.0.0.1 (the OS picks it; closed again right away). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The cluster id for the storage tool: the one already in `<dataDir>/meta.properties` when the folder was formatted
 * before (a restarted broker must keep it), else a new Kafka Uuid: 16 random bytes, base64url, no padding.
 */
function clusterId(dataDir) {
  try {
    const meta = readFileSync(path.join(dataDir, 'meta.properties'), 'utf8');
    const m = /^cluster\.id=(.+)$/m.exec(meta);
    if (m) return m[1].trim();
  } catch {
    // not formatted yet
  }
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id; // as Kafka's Uuid.randomUuid(): no leading '-'
  }
}

function serverProperties({ port, controllerPort, dataDir }) {
  return `# written by test/setup/broker/broker.mjs — single-node KRaft broker for tests
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

function log4jProperties(logDir) {
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

/**
 * Starts a broker. Resolves to
 *   { available: true, brokers: '127.0.0.1:PORT', port, controllerPort, pid,
 *     logFile, dir, startMs, stop(): Promise<void> }
 * or, when Java (or Maven, for a first fetch) is missing and CI !== 'true',
 *   { available: false, brokers: null, reason, stop(): Promise<void> }.
 * Under CI=true a missing tool throws instead.
 *
 * opts: dataDir (root folder for config, data and logs; kept on stop when given),
 *       port, controllerPort, heap ('512m'), startTimeoutMs, detached (CLI use:
 *       the broker outlives this process).
 */
export async function startBroker(opts = {}) {
  const unavailable = (reason) => {
    if (IS_CI) throw new Error(`Kafka broker unavailable under CI=true: ${reason}`);
    log(`unavailable: ${reason}`);
    return { available: false, brokers: null, reason, stop: async () => {} };
  };

  const java = checkJava();
  if (!java.ok) return unavailable(java.reason);
  try {
    await ensureJars();
  } catch (e) {
    if (e.code === 'KAFKA_NO_MAVEN' || e.code === 'KAFKA_FETCH_FAILED') return unavailable(e.message);
    throw e;
  }

  const attempts = opts.port || opts.controllerPort ? 1 : 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(java.bin, opts);
    } catch (e) {
      if (e.code === 'KAFKA_PORT_IN_USE' && attempt < attempts) {
        log(`port taken between pick and bind, retrying (${attempt}/${attempts})`);
        continue;
      }
      throw e;
    }
  }
}

async function startOnce(javaPath, opts) {
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

  const classpath = path.join(LIBS_DIR, '*');
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
    classpath,
  ];

  // 1. format the storage (-g: a dataDir that is already formatted is fine)
  const fmt = await run(
    javaPath,
    [...jvm, 'kafka.tools.StorageTool', 'format', '-g', '-t', clusterId(dataDir), '-c', propsFile],
    { cwd: dir },
  );
  if (fmt.code !== 0) {
    cleanup();
    throw new Error(`kafka storage format failed (exit ${fmt.code}):\n${tail(fmt.output, 30)}`);
  }

  // 2. start the broker
  const out = openSync(launchLog, 'a');
  const child = spawn(javaPath, [...jvm, 'kafka.Kafka', propsFile], {
    cwd: dir,
    stdio: ['ignore', out, out],
    detached: !!opts.detached,
  });
  closeSync(out);
  let exited = null;
  const exitedP = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.on('error', (e) => {
      exited = { code: -1, signal: null, error: e };
      resolve(exited);
    });
  });

  let watchdog = null;
  let onExit = null;
  if (opts.detached) {
    child.unref();
  } else {
    // If this Node process dies without calling stop() (crash, SIGKILL), a tiny
    // shell watchdog stops the broker and removes its temp folder.
    watchdog = spawnWatchdog(process.pid, child.pid, ownDir ? dir : '');
    onExit = () => {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {}
    };
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
    } catch {}
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
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {}
      const t = setTimeout(() => {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {}
      }, STOP_GRACE_MS);
      await exitedP;
      clearTimeout(t);
    }
    if (watchdog) {
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {}
    }
    cleanup();
  };

  // 3. wait until a client can list topics
  const timeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  try {
    await waitReady({ brokers, logFile, timeoutMs, hasExited: () => exited });
  } catch (e) {
    const inUse = /Address already in use|BindException/.test(readTail(logFile, 200) + readTail(launchLog, 50));
    const msg = `${e.message}\n${diagnostics()}`;
    await stop();
    const err = new Error(msg);
    if (inUse) err.code = 'KAFKA_PORT_IN_USE';
    throw err;
  }

  const startMs = Date.now() - t0;
  log(`broker up at ${brokers} (pid ${child.pid}) in ${(startMs / 1000).toFixed(1)}s; log ${logFile}`);
  return {
    available: true,
    brokers,
    port,
    controllerPort,
    pid: child.pid,
    logFile,
    dir,
    startMs,
    stop,
  };
}

function spawnWatchdog(parentPid, brokerPid, dirToRemove) {
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

async function loadKafkajs() {
  try {
    const mod = await import('kafkajs');
    return mod.default ?? mod;
  } catch {
    return null;
  }
}

async function waitReady({ brokers, logFile, timeoutMs, hasExited }) {
  const deadline = Date.now() + timeoutMs;
  const kafkajs = await loadKafkajs();
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    const ex = hasExited();
    if (ex) {
      throw new Error(
        `Kafka broker exited before it was ready (code ${ex.code}, signal ${ex.signal}${ex.error ? `, ${ex.error.message}` : ''})`,
      );
    }
    if (kafkajs) {
      const kafka = new kafkajs.Kafka({
        clientId: 'sluice-broker-probe',
        brokers: [brokers],
        logLevel: kafkajs.logLevel.NOTHING,
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
        lastError = e?.message ?? String(e);
      } finally {
        await admin.disconnect().catch(() => {});
      }
    } else if (/Kafka Server started/.test(readTail(logFile, 400))) {
      return; // no kafkajs here: trust the broker's own word
    }
    await sleep(300);
  }
  throw new Error(`Kafka broker at ${brokers} did not answer within ${timeoutMs} ms (last error: ${lastError})`);
}

// ------------------------------------------------------------------ CLI ----

function readState() {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return null;
  }
}

function isOurBroker(pid) {
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

async function cliStop() {
  const st = readState();
  if (!st) {
    log(`no ${path.relative(REPO_ROOT, STATE_FILE)}: nothing to stop`);
    return;
  }
  if (isOurBroker(st.pid)) {
    try {
      process.kill(st.pid, 'SIGTERM');
    } catch {}
    const deadline = Date.now() + STOP_GRACE_MS;
    while (Date.now() < deadline && isOurBroker(st.pid)) await sleep(200);
    if (isOurBroker(st.pid)) {
      try {
        process.kill(st.pid, 'SIGKILL');
      } catch {}
      await sleep(200);
    }
    log(`stopped broker pid ${st.pid} (${st.brokers})`);
  } else {
    log(`broker pid ${st.pid} is not running`);
  }
  if (st.ownDir && st.dir) rmSync(st.dir, { recursive: true, force: true });
  rmSync(STATE_FILE, { force: true });
}

async function cliStart(args) {
  const st = readState();
  if (st && isOurBroker(st.pid)) {
    log(`already running (pid ${st.pid}); 'node test/setup/broker/broker.mjs stop' to stop it`);
    process.stdout.write(`KAFKA_BROKERS=${st.brokers}\n`);
    return;
  }
  if (st) rmSync(STATE_FILE, { force: true });
  const b = await startBroker({
    detached: true,
    port: args.port ? Number(args.port) : undefined,
    dataDir: args['data-dir'],
  });
  if (!b.available) {
    process.stdout.write(`# Kafka broker unavailable: ${b.reason}\n`);
    return;
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(
    STATE_FILE,
    JSON.stringify(
      {
        brokers: b.brokers,
        pid: b.pid,
        dir: b.dir,
        ownDir: !args['data-dir'],
        logFile: b.logFile,
        kafkaVersion: kafkaVersion(),
        startedAt: new Date().toISOString(),
      },
      null,
      2,
    ) + '\n',
  );
  process.stdout.write(`KAFKA_BROKERS=${b.brokers}\n`);
}

function parseArgs(argv) {
  const args = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      args[k] = v ?? argv[++i];
    } else args._.push(a);
  }
  return args;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = parseArgs(process.argv.slice(2));
  const cmd = args._[0];
  const main = async () => {
    switch (cmd) {
      case 'start':
        return cliStart(args);
      case 'stop':
        return cliStop();
      case 'status': {
        const st = readState();
        if (st && isOurBroker(st.pid)) process.stdout.write(`running: KAFKA_BROKERS=${st.brokers} pid=${st.pid} dir=${st.dir}\n`);
        else {
          process.stdout.write('not running\n');
          process.exitCode = 1;
        }
        return;
      }
      case 'fetch': {
        const r = await ensureJars();
        process.stdout.write(`${r.libsDir} (${r.fetched ? `fetched in ${(r.ms / 1000).toFixed(1)}s` : 'already there'})\n`);
        return;
      }
      default:
        process.stderr.write(
          'usage: node test/setup/broker/broker.mjs start [--port N] [--data-dir DIR] | stop | status | fetch\n',
        );
        process.exitCode = 2;
    }
  };
  main().catch((e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exitCode = 1;
  });
}
