/**
 * Shared pieces of the crash tests that run a streaming query in a child process and SIGKILL it at a chosen point
 * (`KILL_AT=<point>:<batch>`, read by the fixture).
 *
 * @example
 * writeEventFiles('in/', 9, { seed: 7, base: Date.parse('2026-05-30T09:55:00Z') });
 * const r = runFixture(FIXTURE, ['in/', 'out/', 'ckpt/'], 'afterLogEntry:4'); // r.signal === 'SIGKILL'
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes `files` JSON Lines files of 30 `{ user, amount, ts }` events each (users u0–u2, file f about 3 s after file
 * f−1, ±1.5 s jitter), modification times in file order, from a seeded generator.
 */
export function writeEventFiles(dir: string, files: number, o: { seed: number; base: number }): void {
  mkdirSync(dir, { recursive: true });
  let seed = o.seed;
  const r = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  for (let f = 0; f < files; f++) {
    const lines = Array.from({ length: 30 }, () =>
      JSON.stringify({ user: `u${Math.floor(r() * 3)}`, amount: Math.floor(r() * 100), ts: o.base + f * 3000 + Math.floor(r() * 4000) - 1500 }),
    );
    const p = join(dir, `f${String(f).padStart(3, '0')}.jsonl`);
    writeFileSync(p, lines.join('\n') + '\n');
    utimesSync(p, new Date(1_000_000 + f * 1000), new Date(1_000_000 + f * 1000));
  }
}

/** Runs a fixture script with tsx, killed at `kill` (`<point>:<batch>`) when given, with `env` added to the environment. */
export function runFixture(fixture: string, args: readonly string[], kill?: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', fixture, ...args], {
    env: { ...process.env, ...env, ...(kill ? { KILL_AT: kill } : {}) },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

/** How a fixture run ended. */
export interface FixtureRun {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `runFixture` without blocking this thread while the child runs (a test runner's worker must keep answering its
 * runner during a long chain of runs).
 *
 * @example
 * const r = await runFixtureAsync(FIXTURE, args, 'afterSink:4'); // r.signal === 'SIGKILL'
 */
export function runFixtureAsync(fixture: string, args: readonly string[], kill?: string, env: Record<string, string> = {}): Promise<FixtureRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
      env: { ...process.env, ...env, ...(kill ? { KILL_AT: kill } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/**
 * Runs a crash fixture once per kill point in `kills` (each run must end in a SIGKILL: the next one restarts from the
 * checkpoint and reaches the next point), then once more to the end (exit 0). `run(kill, i)` starts run i. Returns
 * the report of every run; throws with it when a run was not killed or the last one failed.
 *
 * @example
 * const report = await runKillChain((kill) => runFixtureAsync(FIXTURE, args, kill), ['afterOffsets:1', 'afterSink:4']);
 */
export async function runKillChain(run: (kill: string | undefined, i: number) => Promise<FixtureRun>, kills: readonly string[]): Promise<string> {
  const report: string[] = [];
  for (const [i, kill] of [...kills, undefined].entries()) {
    const r = await run(kill, i);
    report.push(`${kill ?? 'to the end'} → ${r.signal ?? `exit ${r.status}`}`);
    const ok = kill ? r.signal === 'SIGKILL' : r.status === 0;
    if (!ok) throw new Error(`${kill ? `expected a SIGKILL at ${kill}` : 'the last run failed'}:\n${report.join('\n')}\n${r.stderr.slice(-3000)}`);
  }
  return report.join('\n');
}
