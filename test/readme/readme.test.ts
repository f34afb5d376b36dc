/**
 * The README runs as printed: every ```ts and ```sh block of README.md, in the README's order, in one folder under the
 * package (so `import … from 'sluice'` resolves through the package's own exports to dist/), sharing what
 * `npm run demo` leaves there. A ts block is saved as a file and run with tsx; an sh block runs line by line with
 * `sh -c` (`cmd && cmd` lines command by command). Nothing of a block is changed: the Kafka block reads the broker
 * address from KAFKA_BROKERS, which this test sets to the test broker's.
 *
 * The commands that cannot run here are listed in EXEMPT with the reason and what runs instead.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { col, Session, sum } from '../../engine/index.js';
import { kafkaBrokers, kafkaUnavailableReason } from '../setup/kafka.js';

const ROOT = join(import.meta.dirname, '..', '..');
const README = join(ROOT, 'README.md');
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** A fenced block of the README. */
interface ReadmeBlock {
  readonly lang: string;
  /** The 1-based line of the opening fence. */
  readonly line: number;
  readonly code: string;
}

/**
 * The fenced code blocks of a Markdown text, with their language and line.
 *
 * @example
 * codeBlocks('```ts\nlet a = 1;\n```\n'); // [{ lang: 'ts', line: 1, code: 'let a = 1;\n' }]
 */
function codeBlocks(markdown: string): ReadmeBlock[] {
  const out: ReadmeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    out.push({ lang: open[1]!, line: start + 1, code: body.join('\n') + '\n' });
  }
  return out;
}

/** The commands of an sh block: one per line, comments dropped, `a && b` split into `a` and `b`. */
function shCommands(code: string): string[] {
  return code
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').replace(/^#.*$/, '').trim())
    .filter((l) => l !== '')
    .flatMap((l) => l.split(/\s+&&\s+/));
}

/** Commands of the README that this test does not run as printed: why, and what it runs instead (if anything). */
const EXEMPT: Record<string, { readonly reason: string; readonly instead?: string }> = {
  'npm ci': { reason: 'installs the package: this test runs inside the installed package (CI runs `npm ci` on a clean clone)' },
  'npm test': { reason: 'runs the whole suite, this test included' },
  'npx sluice kafka start': {
    reason: 'starts a broker in the background on port 9092, which may be taken here; test/cli/kafka-broker.test.ts starts, uses and stops one on a free port',
    instead: 'npx sluice kafka start --help',
  },
  'npx sluice schedule pipelines/sales.json --cron "0 3 * * *" --backfill-window "2 days"': {
    reason: 'runs until stopped, backfilling on the cron slots; test/cli/schedule covers the schedule itself',
    instead: 'npx sluice schedule --help',
  },
};

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], cwd: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, SLUICE_NO_TTY: '1', FORCE_COLOR: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function explain(what: string, r: Run): string {
  return `${what} exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

const blocks = codeBlocks(readFileSync(README, 'utf8')).filter((b) => b.lang === 'ts' || b.lang === 'sh');
const needsKafka = (b: ReadmeBlock) => b.lang === 'ts' && b.code.includes("format('kafka')");
const brokers = kafkaBrokers();
const MUST_RUN = process.env['CI'] === 'true';
if (!brokers && !MUST_RUN && blocks.some(needsKafka)) console.warn(`[readme] the Kafka block(s) skip: ${kafkaUnavailableReason()}`);

/** Output every run of a block must show: what the README's comments promise it prints. */
const PROMISES: Record<string, readonly RegExp[]> = {
  // the tour: the no-data batch after the data batch emits a's session (2 orders, largest 5)
  "sessionWindow(col('ts'), '30 seconds')": [/batch 0: 3 rows in, 0 out/, /batch 1: 0 rows in, 1 out, watermark 2026-05-30T09:56:50\.000Z/, /\|\s+a\|2\|\s+5\|/],
  // the keyed-state block: a's third failure in a row alerts; b's success reset b
  'transformWithState(FailedLoginDetector': [/\|\s+a\|3 failed logins\|2026-05-30 09:55:20\.000\|/],
  // the Kafka block: the per-product totals read back from the 'sales' topic
  "option('topic', 'sales')": [/\|\s*start\|product_id\|\s*total\|/, /2026-05-30 \d\d:\d\d:00\.000\|\s+p\d\|/],
};

/** The demo prints a DuckDB query over lake/sales: run in DuckDB, it gives the table's totals. */
async function checkDuckdbHint(stdout: string, dir: string): Promise<void> {
  const sql = /duckdb -c "(.+)"/.exec(stdout)?.[1];
  expect(sql, `npm run demo printed no DuckDB query:\n${stdout}`).toBeDefined();
  const db = await DuckDBInstance.create(':memory:');
  const duck = await db.connect();
  try {
    await duck.run(`SET file_search_path = '${dir.replaceAll("'", "''")}'`); // the query's paths are relative to the demo's folder
    const got = (await duck.runAndReadAll(sql!)).getRows().map(([p, total]) => [String(p), Number(total)]);
    const table = await new Session().read.format('delta').load(join(dir, 'lake', 'sales'))
      .groupBy(col('product_id')).agg(sum('sales').as('total')).orderBy(col('product_id')).collect();
    expect(got.length).toBe(8);
    expect(got.map(([p]) => p)).toEqual(table.map((r) => r['product_id']));
    got.forEach(([, total], i) => expect(total).toBeCloseTo(Number(table[i]!['total']), 6));
  } finally {
    duck.closeSync();
    db.closeSync();
  }
}

describe('README.md runs as printed', () => {
  const dist = join(ROOT, 'dist', 'engine', 'index.js');
  mkdirSync(join(ROOT, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'tmp', 'readme-'));
  const env: Record<string, string> = brokers ? { KAFKA_BROKERS: brokers } : {};

  it('has ts and sh blocks, and dist/ built, which `import … from "sluice"` resolves to', () => {
    expect(blocks.filter((b) => b.lang === 'ts').length).toBeGreaterThanOrEqual(2);
    expect(blocks.filter((b) => b.lang === 'sh').length).toBeGreaterThanOrEqual(3);
    expect(existsSync(dist), `${dist} is missing: run \`npm run build\` (npm ci and npm test do)`).toBe(true);
  });

  for (const block of blocks) {
    const where = `README.md:${block.line}`;
    if (block.lang === 'ts') {
      const runs = block.code.includes('new MemoryStream') ? 2 : 1; // a script with a MemoryStream must survive a re-run
      const test = needsKafka(block) && !brokers && !MUST_RUN ? it.skip : it;
      test(`${where}: the ts block runs with tsx${runs > 1 ? ', twice' : ''}`, async () => {
        const file = join(dir, `readme-${block.line}.ts`);
        writeFileSync(file, block.code);
        for (let n = 1; n <= runs; n++) {
          const r = await run(process.execPath, ['--import', TSX_LOADER, file], dir, env);
          expect(r.code, explain(`${where} (run ${n})`, r)).toBe(0);
          // a warning of sluice (a skipped MemoryStream, dropped rows) means the snippet does not do what it says
          expect(r.stderr, explain(`${where} (run ${n})`, r)).not.toMatch(/^sluice: /m);
          for (const [marker, promises] of Object.entries(PROMISES)) {
            if (!block.code.includes(marker)) continue;
            for (const p of promises) expect(r.stdout, explain(`${where} (run ${n})`, r)).toMatch(p);
          }
          // the topics outlive a run (a broker shared between runs): the sales printed must be this query's
          if (block.code.includes("option('topic', 'sales')")) {
            const commits = join(dir, 'checkpoints', 'kafka-sales', 'commits');
            expect(existsSync(commits) && readdirSync(commits).length > 0, `${where}: the Kafka query committed no batch: it read nothing from 'orders'`).toBe(true);
          }
        }
      });
      continue;
    }
    for (const command of shCommands(block.code)) {
      const exempt = EXEMPT[command];
      if (exempt && !exempt.instead) continue; // listed above with the reason
      const actual = exempt?.instead ?? command;
      it(`${where}: ${command}${exempt ? `  (runs \`${actual}\`: ${exempt.reason})` : ''}`, async () => {
        const r = await run('sh', ['-c', actual], dir, env);
        expect(r.code, explain(`${where}: ${actual}`, r)).toBe(0);
        if (command === 'npm run demo') await checkDuckdbHint(r.stdout, dir);
      });
    }
  }

  // the folder stays for a look when a block failed
  let failed = false;
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });
  afterAll(() => {
    if (failed) console.warn(`[readme] the README's blocks ran in ${dir} (kept)`);
    else rmSync(dir, { recursive: true, force: true });
  });

  it('lists exemptions and promised output only for commands and blocks the README has', () => {
    const commands = new Set(blocks.filter((b) => b.lang === 'sh').flatMap((b) => shCommands(b.code)));
    expect(Object.keys(EXEMPT).filter((c) => !commands.has(c))).toEqual([]);
    expect(Object.keys(PROMISES).filter((m) => !blocks.some((b) => b.lang === 'ts' && b.code.includes(m)))).toEqual([]);
  });
});
