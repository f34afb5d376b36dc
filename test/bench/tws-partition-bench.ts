/**
 * One `transformWithState` partition alone (no stream, no exchange): the failed-login detector over generated logins
 * (30 % failures) in 100 k-row batches, against the same logic written by hand as a plain loop over the same Arrow
 * columns with a `Map` (the floor for user code in JS). Both emit the same alerts (checked). Best of `--repeat` runs;
 * rates per second of process CPU time (robust on a shared machine), wall rates printed too.
 *
 * Not a test: `npx tsx test/bench/tws-partition-bench.ts [--rows N] [--users U] [--repeat R]`.
 */
import { performance } from 'node:perf_hooks';
import { registerLocalProcessor, TransformWithStatePartition, type TransformWithStateSpec } from '../../engine/physical/partitions/transform-with-state-partition.js';
import { schemaOf } from '../../engine/types/data-type.js';
import { batchFromVecs, columnVec } from '../../engine/types/values.js';
import { boolVec, numVec, strAt, strVecFromStrings, type BoolVec, type NumVec, type StrVec } from '../../engine/kernels/vec.js';
import { FailedLoginDetector } from '../engine/processor/processors.js';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg('rows', 4_000_000);
const USERS = arg('users', 400_000);
const REPEAT = arg('repeat', 3);
const B = 100_000;

const input = schemaOf({ user: 'string', success: 'boolean', ts: 'timestamp' });
let seed = 1;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const names = Array.from({ length: USERS }, (_, i) => `user-${i}`);
const batches = Array.from({ length: Math.ceil(N / B) }, (_, b) => {
  const u: string[] = [];
  const s = new Uint8Array(B);
  const t = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    u.push(names[Math.floor(rnd() * USERS)]!);
    s[i] = rnd() < 0.3 ? 0 : 1;
    t[i] = b * B + i;
  }
  return batchFromVecs(input, [strVecFromStrings(u), boolVec(s), numVec('timestamp', t)], B);
});
const rows = batches.length * B;

const spec: TransformWithStateSpec = {
  kind: 'transformWithState',
  inputSchemas: [input],
  keyOrdinals: [0],
  keyNames: ['user'],
  outputSchema: schemaOf({ user: 'string', reason: 'string', at: 'timestamp' }),
  timeMode: 'processingTime',
  outputMode: 'append',
  eventTimeOrdinal: null,
  processor: { localId: registerLocalProcessor(FailedLoginDetector) },
  queryId: 'bench',
  runId: 'bench',
};

function measure(f: () => number): { cpu: number; wall: number; out: number } {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const out = f();
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000, wall: performance.now() - w0, out };
}

function partition(): number {
  const p = new TransformWithStatePartition(spec, FailedLoginDetector as never);
  let out = 0;
  for (let b = 0; b < batches.length; b++) {
    const info = { batchId: b, streaming: true, outputMode: 'append' as const, lateWatermarkMs: 0, evictionWatermarkMs: 0, batchTimestampMs: b * 1000 };
    p.absorb(batches[b]!, 0, info, 0);
    out += p.finish(info).output?.numRows ?? 0;
    for (const t of p.tables) p.takeDelta(t.name);
  }
  return out;
}

function byHand(): number {
  const fails = new Map<string, number>();
  let out = 0;
  for (const batch of batches) {
    const u = columnVec(batch, input, 0) as StrVec;
    const s = columnVec(batch, input, 1) as BoolVec;
    const ts = columnVec(batch, input, 2) as NumVec;
    const alerts: unknown[] = [];
    for (let i = 0; i < batch.numRows; i++) {
      const user = strAt(u, i);
      if (s.values[i] === 1) {
        fails.delete(user);
        continue;
      }
      const n = (fails.get(user) ?? 0) + 1;
      if (n >= 3) {
        alerts.push({ user, reason: '3 failed logins', at: new Date(ts.values[i]!) });
        fails.delete(user);
      } else fails.set(user, n);
    }
    out += alerts.length;
  }
  return out;
}

const best = { tws: { cpu: Infinity, wall: Infinity, out: 0 }, hand: { cpu: Infinity, wall: Infinity, out: 0 } };
for (let r = 0; r < REPEAT; r++) {
  for (const [name, f] of [['tws', partition], ['hand', byHand]] as const) {
    const m = measure(f);
    if (m.cpu < best[name].cpu) best[name] = m;
  }
}
if (best.tws.out !== best.hand.out) throw new Error(`The partition emitted ${best.tws.out} alerts, the hand-written loop ${best.hand.out}.`);
const rate = (ms: number) => `${(rows / ms / 1000).toFixed(2)} M rows/s`;
console.log(`failed-login detector, ${rows} logins, ${USERS} users, ${best.tws.out} alerts (best of ${REPEAT})`);
console.log(`  transformWithState partition  ${rate(best.tws.cpu)} CPU  ${rate(best.tws.wall)} wall`);
console.log(`  hand-written Map loop         ${rate(best.hand.cpu)} CPU  ${rate(best.hand.wall)} wall`);
console.log(`  ratio (hand / partition, CPU) ${(best.tws.cpu / best.hand.cpu).toFixed(2)}×`);
