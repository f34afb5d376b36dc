/**
 * transformWithState restart equivalence in child processes: a run SIGKILLed at each phase of several batches and
 * restarted until done writes exactly the rows of a straight run into Delta — state and event-time timers recovered,
 * no alert lost or written twice — on one thread and on two worker threads.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Session } from '../../../engine/index.js';
import { prng } from '../../helpers/prng.js';
import { normalizeRows } from '../../helpers/stream-test.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'tws-file-query.ts');
const T0 = Date.parse('2026-05-30T10:00:00Z');

/** `files` files of 30 logins of 8 users, 20 s apart on average (10 minutes a file), 80 % failures. */
function writeLogins(dir: string, files: number, seed: number): void {
  mkdirSync(dir, { recursive: true });
  const r = prng(seed);
  let ts = T0;
  for (let f = 0; f < files; f++) {
    const lines: string[] = [];
    for (let i = 0; i < 30; i++) {
      ts += 10_000 + Math.floor(r() * 20_000);
      lines.push(JSON.stringify({ user: `u${Math.floor(r() * 8)}`, success: r() < 0.2, ts: new Date(ts).toISOString() }));
    }
    const p = join(dir, `part-${String(f).padStart(3, '0')}.jsonl`);
    writeFileSync(p, lines.join('\n') + '\n');
    utimesSync(p, new Date(1_000_000 + f * 1000), new Date(1_000_000 + f * 1000));
  }
}

function runChild(input: string, output: string, ckpt: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', FIXTURE, input, output, ckpt], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

async function readTable(dir: string): Promise<string[]> {
  return normalizeRows(await new Session().read.format('delta').load(dir).collect());
}

describe('transformWithState restart equivalence (child processes, Delta sink)', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-tws-restart-'));
  const input = join(root, 'in');
  writeLogins(input, 6, 5);
  /** The Delta rows of a run without kills, once per parallelism. */
  const goldens = new Map<string, Promise<string[]>>();
  const golden = (parallelism: string): Promise<string[]> => {
    if (!goldens.has(parallelism)) {
      goldens.set(parallelism, (async () => {
        const out = join(root, `golden-${parallelism}`);
        const r = runChild(input, out, join(root, `golden-${parallelism}-ckpt`), { PARALLELISM: parallelism });
        if (r.status !== 0) throw new Error(`the straight run failed: ${r.stderr}`);
        const { instances } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { instances: number };
        if (instances !== Number(parallelism)) throw new Error(`the straight run kept its state in ${instances} partitions, not ${parallelism}`);
        return readTable(out);
      })());
    }
    return goldens.get(parallelism)!;
  };

  for (const parallelism of ['1', '2']) {
    it(`a run killed at each phase of batches 1 and 3, restarted until done, writes the straight run's alerts once (parallelism ${parallelism})`, async () => {
      const env = { PARALLELISM: parallelism };
      const straight = await golden(parallelism);
      expect(straight.filter((r) => r.includes('3 failed logins')).length).toBeGreaterThan(3);
      expect(straight.filter((r) => r.includes('locked out')).length).toBeGreaterThan(1);
      for (const point of ['afterOffsets', 'afterSink', 'afterState', 'afterCommit']) {
        const out = join(root, `kill-${point}-${parallelism}`);
        const ckpt = join(root, `kill-${point}-${parallelism}-ckpt`);
        for (const batch of [1, 3]) {
          const r = runChild(input, out, ckpt, { ...env, KILL_AT: `${point}:${batch}` });
          expect(r.signal, `expected the child to be killed at ${point}:${batch}; stderr: ${r.stderr}`).toBe('SIGKILL');
        }
        const done = runChild(input, out, ckpt, env);
        expect(done.status, done.stderr).toBe(0);
        expect(await readTable(out), `killed ${point}`).toEqual(straight);
      }
    }, 600_000);
  }

  it('the straight runs on 1 and 2 threads write the same alerts', async () => {
    const one = await golden('1');
    const two = await golden('2');
    expect(one.length).toBeGreaterThan(0);
    expect(two).toEqual(one);
  });
});
