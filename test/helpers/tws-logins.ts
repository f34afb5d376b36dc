/**
 * Generated logins for the transformWithState crash tests, the clock their child processes run on, and an oracle
 * written from SEMANTICS §3 and §10 (not from the engine) that says which alerts `LockoutDetector` must emit.
 *
 * @example
 * const files = writeLoginFiles(dir, { files: 24, seed: 5 });
 * const want = expectedAlerts(files); // [[user, reason, atMs, processedAtMs], …] sorted
 */
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../engine/exec/clock.js';
import { prng } from './prng.js';
import { FAILS_TTL_MS, LOCKOUT_MS, MAX_FAILS } from './tws-processors.js';

/** Event time of file 0; file f covers about a minute from `LOGIN_BASE + f` minutes. */
export const LOGIN_BASE = Date.parse('2026-05-30T08:00:00Z');
/** The watermark delay of the crash query. */
export const LOGIN_DELAY_MS = 30_000;
/** The processing time of batch 0, and how far it moves per batch (`BatchClock`). */
export const BATCH_TIME_BASE = Date.parse('2026-06-01T00:00:00Z');
export const BATCH_TIME_STEP = 60_000;

export interface GeneratedLogin {
  readonly user: string;
  readonly success: boolean;
  readonly ts: number;
  readonly n: number;
}

/**
 * Writes `files` JSON Lines files of logins, file f in event-time minute f, 4 % of rows 1–2 minutes behind (some of
 * them late), modification times in file order. Three kinds of users: u0–u5 attack in bursts (4 logins a minute, 4
 * minutes out of every 16, 85 % failures: they get locked out, go quiet and their lockout timers fire); u6–u11 log in
 * now and then (a login in 40 % of minutes, 60 % failures: their failures are often older than the TTL); u12–u15 log in
 * twice a minute, 30 % failures. Returns the logins per file.
 */
export function writeLoginFiles(dir: string, o: { files: number; seed: number }): GeneratedLogin[][] {
  mkdirSync(dir, { recursive: true });
  const r = prng(o.seed);
  const out: GeneratedLogin[][] = [];
  let n = 0;
  for (let f = 0; f < o.files; f++) {
    const rows: GeneratedLogin[] = [];
    const add = (u: number, count: number, failRate: number) => {
      for (let i = 0; i < count; i++) {
        const success = r() >= failRate;
        let ts = LOGIN_BASE + f * 60_000 + Math.floor(r() * 60_000);
        if (r() < 0.04) ts -= 60_000 + Math.floor(r() * 60_000);
        rows.push({ user: `u${u}`, success, ts, n: n++ });
      }
    };
    for (let u = 0; u < 16; u++) {
      if (u < 6) add(u, (f + u * 7) % 16 < 4 ? 4 : 0, 0.85);
      else if (u < 12) add(u, r() < 0.4 ? 1 : 0, 0.6);
      else add(u, 2, 0.3);
    }
    const p = join(dir, `logins-${String(f).padStart(3, '0')}.jsonl`);
    writeFileSync(p, rows.map((x) => JSON.stringify({ ...x, ts: new Date(x.ts).toISOString() })).join('\n') + '\n');
    utimesSync(p, new Date(1_000_000 + f * 1000), new Date(1_000_000 + f * 1000));
    out.push(rows);
  }
  return out;
}

/** An alert as compared: `[user, reason, at, processedAt]` (epoch ms). */
export type AlertKey = [string, string, number, number];

/** Sorts alert keys (as JSON) so that lists compare as multisets. */
export function sortAlerts(a: readonly AlertKey[]): string[] {
  return a.map((x) => JSON.stringify(x)).sort();
}

/**
 * The alerts `LockoutDetector` must emit when file b is batch b (one file per trigger), batch b runs at processing
 * time `BATCH_TIME_BASE + b × BATCH_TIME_STEP`, and the watermark delay is `LOGIN_DELAY_MS`: batch b drops rows at or
 * below batch b−1's watermark, handles input then every timer at or below its own watermark, and a no-data batch after
 * the last file fires what the final watermark reaches (§3, §10). Returns the alerts, the alerts of each batch
 * (`files.length + 1` batches: the last one is the no-data batch) and the number of rows dropped as late. `ttlMs`
 * replaces the failures' TTL (a test checks that the TTL changes the answer).
 */
export function expectedAlerts(files: readonly (readonly GeneratedLogin[])[], o: { ttlMs?: number } = {}): { alerts: AlertKey[]; byBatch: AlertKey[][]; late: number } {
  let alerts: AlertKey[] = [];
  const byBatch: AlertKey[][] = [];
  const fails = new Map<string, { n: number; expires: number }>();
  const lockedUntil = new Map<string, number>();
  const timers = new Map<string, Set<number>>();
  let maxTs = -Infinity;
  let wm = 0;
  let late = 0;
  const fire = (threshold: number, now: number) => {
    const due: [number, string][] = [];
    for (const [user, set] of timers) for (const t of set) if (t <= threshold) due.push([t, user]);
    due.sort((a, b) => a[0] - b[0]);
    for (const [t, user] of due) {
      timers.get(user)!.delete(t);
      lockedUntil.delete(user);
      alerts.push([user, 'locked out 10 minutes', t, now]);
    }
  };
  for (let b = 0; b <= files.length; b++) {
    byBatch.push((alerts = []));
    const lateWm = wm;
    const evictWm = b === 0 ? 0 : Math.max(wm, maxTs - LOGIN_DELAY_MS);
    const now = BATCH_TIME_BASE + b * BATCH_TIME_STEP;
    const rows = files[b] ?? [];
    for (const r of rows) maxTs = Math.max(maxTs, r.ts);
    const kept = rows.filter((r) => r.ts > lateWm);
    late += rows.length - kept.length;
    const byUser = new Map<string, GeneratedLogin[]>();
    for (const r of kept) byUser.set(r.user, [...(byUser.get(r.user) ?? []), r]);
    for (const [user, list] of byUser) {
      list.sort((a, c) => a.ts - c.ts || a.n - c.n);
      const set = timers.get(user) ?? new Set<number>();
      timers.set(user, set);
      for (const r of list) {
        const until = lockedUntil.get(user);
        if (until !== undefined) {
          set.delete(until);
          if (r.success) lockedUntil.delete(user);
          else {
            lockedUntil.set(user, r.ts + LOCKOUT_MS);
            set.add(r.ts + LOCKOUT_MS);
          }
          continue;
        }
        if (r.success) {
          fails.delete(user);
          continue;
        }
        const f = fails.get(user);
        const n = (f && now < f.expires ? f.n : 0) + 1;
        if (n < MAX_FAILS) {
          fails.set(user, { n, expires: now + (o.ttlMs ?? FAILS_TTL_MS) });
          continue;
        }
        fails.delete(user);
        lockedUntil.set(user, r.ts + LOCKOUT_MS);
        set.add(r.ts + LOCKOUT_MS);
        alerts.push([user, `${MAX_FAILS} failed logins`, r.ts, now]);
      }
    }
    fire(evictWm, now);
    wm = evictWm;
  }
  return { alerts: byBatch.flat(), byBatch, late };
}

/** The first batch at or after `from` in which the oracle emits alerts (sinks write nothing in the others). */
export function firstBatchWithAlerts(oracle: { byBatch: readonly (readonly AlertKey[])[] }, from: number): number {
  const b = oracle.byBatch.findIndex((a, i) => i >= from && a.length > 0);
  if (b < 0) throw new Error(`no batch from ${from} emits alerts`);
  return b;
}

/**
 * A processing-time clock that makes batch timestamps depend only on the batch id, so runs killed and restarted see
 * the same TTL expiries as an uninterrupted run: `now()` is `BATCH_TIME_BASE + (next batch id) × BATCH_TIME_STEP`, the
 * next batch id read from the checkpoint's offset log (a re-run batch keeps the timestamp its log entry recorded).
 */
export class BatchClock implements Clock {
  constructor(private readonly checkpoint: string) {}
  now(): number {
    return BATCH_TIME_BASE + nextBatchId(this.checkpoint) * BATCH_TIME_STEP;
  }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const t = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
}

/** One past the highest batch id in `<checkpoint>/offsets` (0 for a new checkpoint). */
export function nextBatchId(checkpoint: string): number {
  let names: string[] = [];
  try {
    names = readdirSync(join(checkpoint, 'offsets'));
  } catch {
    return 0;
  }
  return Math.max(-1, ...names.filter((x) => /^\d+$/.test(x)).map(Number)) + 1;
}
