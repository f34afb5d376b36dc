// Types for broker.mjs (plain JS), so TypeScript tests can import it.

export interface StartBrokerOptions {
  /** Root folder for config, data and logs. Kept on stop() when given; a temp folder otherwise. */
  dataDir?: string;
  /** Client port (default: a free loopback port). */
  port?: number;
  /** KRaft controller port (default: a free loopback port). */
  controllerPort?: number;
  /** JVM max heap, e.g. '512m' (default: $KAFKA_BROKER_HEAP or '512m'). */
  heap?: string;
  /** How long to wait for the broker to answer listTopics (default 90 s). */
  startTimeoutMs?: number;
  /** Let the broker outlive this process (the CLI uses this). */
  detached?: boolean;
}

export interface RunningBroker {
  available: true;
  /** '127.0.0.1:PORT' */
  brokers: string;
  port: number;
  controllerPort: number;
  pid: number;
  /** The broker's log4j log (server.log). */
  logFile: string;
  /** Folder holding server.properties, data/ and logs/. */
  dir: string;
  startMs: number;
  /** SIGTERM, SIGKILL after 15 s; removes the folder unless dataDir was given. */
  stop(): Promise<void>;
}

export interface UnavailableBroker {
  available: false;
  brokers: null;
  /** Why there is no broker (e.g. Java is not installed). */
  reason: string;
  stop(): Promise<void>;
}

export type BrokerHandle = RunningBroker | UnavailableBroker;

export const REPO_ROOT: string;
export const POM: string;
export const CACHE_DIR: string;
export const LIBS_DIR: string;
export const STATE_FILE: string;

export function kafkaVersion(): string;
export function checkJava(): { ok: true; version: number; bin: string } | { ok: false; reason: string };
export function ensureJars(): Promise<{ libsDir: string; fetched: boolean; ms: number }>;
export function freePort(): Promise<number>;
/** Throws under CI=true when Java/Maven is missing; otherwise returns { available: false, reason }. */
export function startBroker(opts?: StartBrokerOptions): Promise<BrokerHandle>;
