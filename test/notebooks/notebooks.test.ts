// Executes every notebooks/*.ipynb on the tslab kernel (through test/setup/notebooks/run.mjs, i.e. nbconvert), one `it`
// per notebook; a cell error fails the test and the failing cell and its error are shown. Notebooks import the built
// package, so dist/ is rebuilt first when it is missing or older than the sources (`npm test` builds anyway).
//
// Notebooks that need Kafka say so in their metadata (`"sluice": { "requires": ["kafka"] }`). They get the test
// broker's address (vitest's inject('kafkaBrokers'), see test/setup/kafka.ts) as KAFKA_BROKERS; without a broker they
// are skipped with the reason printed, except under CI=true, where that is a failure.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { kafkaBrokers, kafkaUnavailableReason } from '../setup/kafka.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const NOTEBOOKS = join(ROOT, 'notebooks');
const IS_CI = process.env.CI === 'true';
const VENV = process.env.SLUICE_NOTEBOOK_VENV || join(ROOT, '.cache', 'notebooks-venv');
const PYTHON = join(VENV, 'bin', 'python3');
const SETUP_HINT = 'run `bash test/setup/notebooks/setup.sh` (npm test does this before vitest)';

interface NotebookFile {
  readonly name: string;
  readonly path: string;
  readonly requires: readonly string[];
  /** Outputs stored in the committed file (tslab leaves execution_count empty, so outputs are the sign of a run). */
  readonly outputs: number;
}

function notebooks(): NotebookFile[] {
  return readdirSync(NOTEBOOKS)
    .filter((f) => f.endsWith('.ipynb'))
    .sort()
    .map((name) => {
      const path = join(NOTEBOOKS, name);
      const nb = JSON.parse(readFileSync(path, 'utf8')) as {
        metadata?: { sluice?: { requires?: string[] } };
        cells: { cell_type: string; outputs?: unknown[] }[];
      };
      return {
        name,
        path,
        requires: nb.metadata?.sluice?.requires ?? [],
        outputs: nb.cells.reduce((n, c) => n + (c.cell_type === 'code' ? (c.outputs?.length ?? 0) : 0), 0),
      };
    });
}

/** Newest modification time of the .ts files under `dirs` (the build's inputs). */
function newestSource(dirs: readonly string[]): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of dirs) if (existsSync(join(ROOT, d))) walk(join(ROOT, d));
  return newest;
}

function ensureBuilt(): void {
  const entry = join(ROOT, 'dist', 'engine', 'index.js');
  const stale = !existsSync(entry) || statSync(entry).mtimeMs < newestSource(['engine', 'connectors']);
  if (!stale) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'engine/tsconfig.build.json'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    throw new Error(`npm run build failed, so the notebooks cannot import dist/:\n${r.stdout}${r.stderr}`);
  }
}

function checkKernel(): void {
  if (!existsSync(join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab'))) {
    throw new Error(`the notebook kernel is not set up: node_modules/tslab is missing (npm ci), then ${SETUP_HINT}`);
  }
  if (!existsSync(PYTHON)) {
    throw new Error(`the notebook kernel is not set up: ${PYTHON} does not exist; ${SETUP_HINT}`);
  }
  const r = spawnSync(PYTHON, ['-c', 'import nbconvert, nbclient'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`the notebook kernel is not set up: nbconvert/nbclient do not import in ${VENV}; ${SETUP_HINT}\n${r.stderr}`);
  }
}

/** `node test/setup/notebooks/run.mjs <file>`: resolves with its exit code and combined output. */
function runNotebook(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, 'test', 'setup', 'notebooks', 'run.mjs'), '--timeout=120', file], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (e) => done({ code: 127, out: out + String(e) }));
    child.on('close', (code, signal) => done({ code: code ?? (signal ? 128 : 1), out }));
  });
}

const brokers = kafkaBrokers();
const all = notebooks();

describe('notebooks', () => {
  beforeAll(() => {
    checkKernel();
    ensureBuilt();
  }, 180_000);

  it('are committed with their outputs', () => {
    expect(all.length).toBeGreaterThan(0);
    const bare = all.filter((nb) => nb.outputs === 0).map((nb) => nb.name);
    expect(bare, 'run `node test/setup/notebooks/run.mjs --inplace <file>` and commit the outputs').toEqual([]);
  });

  for (const nb of all) {
    const needsKafka = nb.requires.includes('kafka');
    if (needsKafka && !brokers && !IS_CI) {
      console.warn(`[notebooks] skipping ${nb.name}: it needs a Kafka broker (${kafkaUnavailableReason()})`);
      it.skip(`${nb.name} runs without a cell error (needs Kafka)`, () => {});
      continue;
    }
    it(`${nb.name} runs without a cell error`, async () => {
      if (needsKafka && !brokers) {
        throw new Error(`${nb.name} needs a Kafka broker and CI=true, so it is not skipped: ${kafkaUnavailableReason()}`);
      }
      const env: NodeJS.ProcessEnv = { ...process.env };
      if (brokers) env['KAFKA_BROKERS'] = brokers;
      const { code, out } = await runNotebook(nb.path, env);
      if (code !== 0) throw new Error(`${nb.name} failed (run.mjs exit ${code}):\n${out}`);
      expect(out).toContain('notebooks: 1 passed, 0 failed');
    }, 240_000);
  }
});
