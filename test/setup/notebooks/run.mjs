#!/usr/bin/env node
// Executes the project's TypeScript notebooks on the tslab kernel via nbconvert.
//
//   node test/setup/notebooks/run.mjs                       # all notebooks/*.ipynb, into a temp dir
//   node test/setup/notebooks/run.mjs notebooks/00-smoke.ipynb
//   node test/setup/notebooks/run.mjs --inplace             # rewrite notebooks with fresh outputs (to commit)
//
// Options: --inplace, --timeout=SECONDS (per cell, default 300), --out=DIR
// (keep executed copies there instead of a removed temp dir), --keep (keep the
// temp dir). Exit 1 if any notebook fails; the failing cell and its error are
// printed. The environment (KAFKA_BROKERS, ...) is passed through to the kernel,
// plus SLUICE_ROOT and SLUICE_NOTEBOOK=1. The kernel's working directory is the
// notebook's own directory, so `node_modules` resolves from the repo.
// Needs `bash test/setup/notebooks/setup.sh` once.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { KERNEL_NAME, ROOT, VENV_PYTHON, jupyterEnv, writeKernelSpec } from './env.mjs';

const USAGE = 'usage: node test/setup/notebooks/run.mjs [--inplace] [--timeout=SECONDS] [--out=DIR] [--keep] [notebook.ipynb ...]';

function parseArgs(argv) {
  const opts = { inplace: false, timeout: 300, out: undefined, keep: false, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [k, v] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => v ?? argv[++i];
    if (k === '--inplace') opts.inplace = true;
    else if (k === '--keep') opts.keep = true;
    else if (k === '--timeout') opts.timeout = Number(value());
    else if (k === '--out') opts.out = resolve(value());
    else if (k === '-h' || k === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (k.startsWith('-')) {
      console.error(`unknown option ${a}\n${USAGE}`);
      process.exit(2);
    } else opts.files.push(resolve(a));
  }
  if (!Number.isFinite(opts.timeout) || opts.timeout <= 0) {
    console.error(`bad --timeout\n${USAGE}`);
    process.exit(2);
  }
  if (opts.inplace && opts.out) {
    console.error(`--inplace and --out exclude each other\n${USAGE}`);
    process.exit(2);
  }
  return opts;
}

function defaultNotebooks() {
  const dir = join(ROOT, 'notebooks');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ipynb'))
    .sort()
    .map((f) => join(dir, f));
}

const stripAnsi = (s) => s.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '');

function run(cmd, args, env) {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) => resolvePromise({ code: 127, out: out + String(err) }));
    child.on('close', (code, signal) => resolvePromise({ code: code ?? 128, signal, out }));
  });
}

/** The "An error occurred while executing the following cell" block of nbclient. */
function describeFailure(log) {
  const text = stripAnsi(log);
  const marker = 'An error occurred while executing the following cell:';
  const at = text.lastIndexOf(marker);
  // Minified sources in stack traces can be one huge line: cut such lines.
  const lines = (at >= 0 ? text.slice(at) : text)
    .trimEnd()
    .split('\n')
    .map((l) => (l.length > 400 ? `${l.slice(0, 400)} …[${l.length - 400} more chars]` : l));
  let msg = (at >= 0 ? lines : lines.slice(-60)).join('\n');
  if (/(Cannot find module|ERR_MODULE_NOT_FOUND)[^\n]*(dist\/|'sluice')/.test(text) && !existsSync(join(ROOT, 'dist'))) {
    msg += '\n\nhint: dist/ does not exist; notebooks that import the built package need `npm run build` first.';
  }
  return msg;
}

/** Error outputs left in an executed notebook (e.g. with allow_errors metadata). */
function errorOutputs(file) {
  const nb = JSON.parse(readFileSync(file, 'utf8'));
  const errors = [];
  nb.cells.forEach((cell, i) => {
    for (const o of cell.outputs ?? []) {
      if (o.output_type === 'error') {
        const src = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
        errors.push(`cell ${i}:\n${src}\n---\n${o.ename}: ${o.evalue}\n${stripAnsi((o.traceback ?? []).join('\n'))}`);
      }
    }
  });
  return errors;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(VENV_PYTHON)) {
    console.error(`[notebooks] ${relative(ROOT, VENV_PYTHON)} not found: run \`bash test/setup/notebooks/setup.sh\` first`);
    process.exit(1);
  }
  writeKernelSpec();
  const files = opts.files.length ? opts.files : defaultNotebooks();
  if (files.length === 0) {
    console.error('[notebooks] no notebooks to run');
    process.exit(1);
  }
  for (const f of files) {
    if (!existsSync(f)) {
      console.error(`[notebooks] no such notebook: ${f}`);
      process.exit(1);
    }
  }

  const outDir = opts.inplace ? undefined : (opts.out ?? mkdtempSync(join(tmpdir(), 'sluice-notebooks-')));
  if (outDir) mkdirSync(outDir, { recursive: true });
  const env = jupyterEnv(process.env);
  let passed = 0;
  let failed = 0;

  for (const file of files) {
    const rel = relative(ROOT, file);
    const name = rel && !rel.startsWith('..') ? rel : file;
    const args = [
      '-m', 'nbconvert',
      '--to', 'notebook',
      '--execute',
      `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`,
      `--ExecutePreprocessor.timeout=${opts.timeout}`,
      '--ExecutePreprocessor.startup_timeout=120',
      // No per-cell timestamps: keeps committed notebooks' diffs to real changes.
      '--ExecutePreprocessor.record_timing=False',
    ];
    let executed;
    if (opts.inplace) {
      args.push('--inplace');
      executed = file;
    } else {
      const outName = basename(file);
      args.push('--output-dir', outDir, '--output', outName);
      executed = join(outDir, outName);
    }
    args.push(file);

    const t0 = performance.now();
    process.stdout.write(`[notebooks] ${name} ... `);
    const res = await run(VENV_PYTHON, args, env);
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    let problem;
    if (res.code !== 0) problem = describeFailure(res.out);
    else if (!existsSync(executed)) problem = `nbconvert wrote no output at ${executed}\n${stripAnsi(res.out)}`;
    else {
      const errs = errorOutputs(executed);
      if (errs.length) problem = `executed notebook contains error outputs:\n${errs.join('\n\n')}`;
    }
    if (problem) {
      failed++;
      console.log(`FAILED (${secs}s)`);
      console.error(`\n----- ${name} -----\n${problem}\n----- end of ${name} -----\n`);
    } else {
      passed++;
      console.log(`ok (${secs}s)${opts.inplace ? ', outputs written in place' : ''}`);
    }
  }

  if (outDir) {
    if (opts.out || opts.keep) console.log(`[notebooks] executed copies in ${outDir}`);
    else rmSync(outDir, { recursive: true, force: true });
  }
  console.log(`notebooks: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error('[notebooks]', err?.stack ?? err);
  process.exit(1);
});
