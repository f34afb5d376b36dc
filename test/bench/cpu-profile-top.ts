/**
 * The hottest functions of a `node --cpu-prof` profile, by self time, with their TypeScript file and line. Under tsx
 * every module is transformed with its whitespace minified, so a profile's positions are columns of one long line:
 * this maps each function's position back through the module's source map (the engine's and connectors' modules
 * are imported here under tsx with `--enable-source-maps`, which gives the same transform and its map). Samples can
 * be cut to a time span (a benchmark child's `timedUs`, on the profile's clock); percentages are of the thread's busy
 * time (idle samples left out).
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx test/bench/join-bench.ts --child batch string 1 --repeat 1
 *   node --enable-source-maps --import tsx test/bench/cpu-profile-top.ts /tmp/prof/CPU.….cpuprofile [top] [--from µs --to µs]
 *
 * Only positions of functions are in a profile (its per-line ticks are all on the one transformed line), so a
 * function's line is where it starts. Not a test.
 */
import { readFileSync } from 'node:fs';
import { findSourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

const argv = process.argv.slice(2);
const option = (name: string): number | undefined => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(argv[i + 1]);
  argv.splice(i, 2);
  return v;
};
const from = option('--from') ?? -Infinity;
const to = option('--to') ?? Infinity;
const [file, topArg] = argv;
if (file === undefined) throw new Error('usage: cpu-profile-top.ts <file.cpuprofile> [top] [--from µs --to µs]');
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

// Self time per node within the span.
const self = new Map<number, number>();
let total = 0;
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  at += dt;
  if (at < from || at > to) continue;
  self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + dt);
  total += dt;
}
// Per function (a function's nodes are one per call path).
const byFunction = new Map<string, { us: number; name: string; url: string; line: number; column: number }>();
for (const n of profile.nodes) {
  const us = self.get(n.id);
  if (!us) continue;
  const f = n.callFrame;
  const key = `${f.functionName}|${f.url}|${f.lineNumber}|${f.columnNumber}`;
  const e = byFunction.get(key) ?? { us: 0, name: f.functionName || '(anonymous)', url: f.url, line: f.lineNumber, column: f.columnNumber };
  e.us += us;
  byFunction.set(key, e);
}

/** `file.ts:line` of a position in a transformed module (the module imported once to get its source map). */
const imported = new Set<string>();
async function where(url: string, line: number, column: number): Promise<string> {
  if (!url) return '';
  if (!url.startsWith('file://') || !url.endsWith('.ts')) return `${url.replace(/^.*node_modules\//, '')}:${line + 1}`;
  const path = fileURLToPath(url);
  const rel = path.replace(/^.*?\/(engine|connectors|test)\//, '$1/');
  // Only library modules are imported: a benchmark's module runs its benchmark when imported.
  if (!/\/(engine|connectors)\//.test(path)) return `${rel} (not mapped)`;
  if (!imported.has(url)) {
    imported.add(url);
    await import(url).catch(() => undefined);
  }
  const entry = findSourceMap(path)?.findEntry(line, column) as { originalLine?: number } | undefined;
  return entry?.originalLine === undefined ? `${rel} (not mapped)` : `${rel}:${entry.originalLine + 1}`;
}

const idle = [...byFunction.values()].filter((r) => r.name === '(idle)').reduce((a, r) => a + r.us, 0);
const busy = total - idle;
console.log(`${(total / 1000).toFixed(0)} ms sampled, ${(idle / 1000).toFixed(0)} ms idle; % of the ${(busy / 1000).toFixed(0)} ms busy`);
const rows = [...byFunction.values()].filter((r) => r.name !== '(idle)').sort((a, b) => b.us - a.us).slice(0, top);
for (const r of rows) {
  console.log(`${((100 * r.us) / busy).toFixed(1).padStart(5)} %  ${(r.us / 1000).toFixed(0).padStart(6)} ms  ${r.name}  ${await where(r.url, r.line, r.column)}`);
}
