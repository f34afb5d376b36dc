/**
 * What the CLI tests share: generated order files over several days, a sales pipeline spec, running `engine/cli/sluice.js`
 * in a child process (to completion, or in the background with a way to wait for an output line), and reading a
 * Delta table back.
 *
 * @example
 * const r = await runCli(['status', ckpt], { cwd });
 * expect(r.code).toBe(0);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DeltaTable } from '../../connectors/lakehouse/index.js';
import { Session, SpecError, type PipelineSpec } from '../../engine/index.js';
import { normalizeRows } from '../helpers/stream-test.js';

export const ROOT = join(import.meta.dirname, '..', '..');

/** A folder with one small JSON Lines file of orders, for tests that only need a readable input. */
export const ORDERS_DIR = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-orders-'));
  writeFileSync(join(dir, 'orders-0.jsonl'), '{"user":"a","amount":1.5,"ts":"2026-05-30T09:00:00Z"}\n');
  return dir;
})();
export const BIN = join(ROOT, 'engine', 'cli', 'sluice.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'cli');
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export const DAY1 = Date.UTC(2026, 4, 29);
export const DAY2 = Date.UTC(2026, 4, 30);
export const DAY3 = Date.UTC(2026, 4, 31);
export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** The `SpecError` that `fn` throws (any other error is rethrown). @example specErrorOf(() => parsePipelineSpec({})).issues */
export function specErrorOf(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error('expected a SpecError');
}

export function tempDir(prefix = 'sluice-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Order {
  readonly order_id: number;
  readonly product_id: string;
  readonly amount: number;
  readonly event_time: string;
}

/** `n` orders with event times spread over `[fromMs, toMs)`, in time order (± `jitterMs`). */
export function makeOrders(n: number, fromMs: number, toMs: number, seed: number, firstId = 0, jitterMs = 60_000): Order[] {
  const r = rng(seed);
  const out: Order[] = [];
  for (let i = 0; i < n; i++) {
    const base = fromMs + Math.floor(((toMs - fromMs) * i) / n);
    const t = Math.min(toMs - 1, Math.max(fromMs, base + Math.round((r() * 2 - 1) * jitterMs)));
    out.push({ order_id: firstId + i, product_id: `p${1 + Math.floor(r() * 3)}`, amount: Math.round(r() * 10_000) / 100, event_time: new Date(t).toISOString() });
  }
  return out;
}

let fileClock = 1_700_000_000_000;

/** Writes orders as a JSON Lines file whose modification time is later than every file written before. */
export function writeOrders(dir: string, name: string, orders: readonly Order[]): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, orders.map((o) => JSON.stringify(o)).join('\n') + '\n');
  fileClock += 1000;
  utimesSync(p, new Date(fileClock), new Date(fileClock));
  return p;
}

/** The sales pipeline of the tests: 1-hour tumbling windows per product, partitioned by the window's date. */
export function salesSpec(o: { input: string; lake: string; checkpoint: string; delay?: string; trigger?: PipelineSpec['trigger']; maxFiles?: number; windowSize?: string }): PipelineSpec {
  return {
    name: 'sales',
    source: {
      format: 'jsonl',
      path: o.input,
      options: { maxFilesPerTrigger: o.maxFiles ?? 1, mode: 'failFast' },
      schema: { order_id: 'long', product_id: 'string', amount: 'double', event_time: 'timestamp' },
    },
    watermark: { column: 'event_time', delay: o.delay ?? '10 minutes' },
    groupBy: { window: { type: 'tumbling', column: 'event_time', size: o.windowSize ?? '1 hour' }, keys: ['product_id'] },
    aggregations: [
      { fn: 'count', as: 'n' },
      { fn: 'sum', column: 'amount', as: 'total' },
    ],
    outputSteps: [{ withColumn: { date: { fn: 'toDate', args: ['window.start'] } } }],
    outputMode: 'append',
    sink: { format: 'delta', path: o.lake, partitionBy: ['date'] },
    checkpoint: o.checkpoint,
    trigger: o.trigger ?? { processingTime: '100 milliseconds' },
  };
}

export function writeSpec(dir: string, name: string, spec: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(spec, null, 2));
  return p;
}

/** The result of a finished CLI process. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, SLUICE_NO_TTY: '1', FORCE_COLOR: '0', ...extra };
}

/**
 * Runs `sluice <args>` to completion.
 *
 * @example
 * const r = await runCli(['batch', spec], { cwd });
 */
export function runCli(args: readonly string[], o: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; script?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // `--import tsx` would resolve tsx from the child's cwd (a temp folder): give its loader by URL.
    const argv = o.script ? ['--import', TSX_LOADER, o.script, ...args] : [BIN, ...args];
    const child = spawn(process.execPath, argv, { cwd: o.cwd ?? ROOT, env: childEnv(o.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice ${args.join(' ')} timed out.\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, o.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A CLI process running in the background. */
export class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString('utf8')));
    this.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr })));
  }

  /** Waits until stdout has a line matching `re` (checked every 25 ms); returns the match. */
  async waitFor(re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.stdout.match(re);
      if (m) return m;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`the process exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${re}.\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}.\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Lines of stdout matching `re`. */
  lines(re: RegExp): string[] {
    return this.stdout.split('\n').filter((l) => re.test(l));
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }
}

/** Starts `sluice <args>` in the background. */
export function startCli(args: readonly string[], o: { cwd?: string; env?: Record<string, string> } = {}): CliProcess {
  return new CliProcess(spawn(process.execPath, [BIN, ...args], { cwd: o.cwd ?? ROOT, env: childEnv(o.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Every row of a Delta table, normalised for comparison (sorted JSON strings). */
export async function tableRows(path: string): Promise<string[]> {
  const session = new Session();
  return normalizeRows(await session.read.format('delta').load(path).collect());
}

/** The live files of a table, by partition value of `column`. */
export async function filesByPartition(path: string, column = 'date'): Promise<Map<string, string[]>> {
  const snap = await DeltaTable.forPath(path).snapshot();
  const out = new Map<string, string[]>();
  for (const f of snap.fileList()) {
    const v = f.partitionValues[column] ?? 'null';
    out.set(v, [...(out.get(v) ?? []), f.path].sort());
  }
  return out;
}

/** Polls `cond` every 50 ms. */
export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
