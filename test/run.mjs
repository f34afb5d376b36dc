#!/usr/bin/env node
// `npm test`: builds dist/ (the notebooks import it), prepares what the tests need (Jupyter for the notebooks,
// delta-rs for the lake interop test), then runs every test with vitest. The Kafka broker is started by vitest's
// global setup (test/setup/kafka-global-setup.ts). Extra arguments go to vitest, e.g. `npm test -- test/engine`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const ci = process.env.CI === 'true';

function run(cmd, cmdArgs, { optional = false, label } = {}) {
  console.log(`\n> ${label ?? [cmd, ...cmdArgs].join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    if (optional && !ci) {
      console.warn(`(continuing: ${label ?? cmd} failed; the tests that need it will say why they skip)`);
      return false;
    }
    process.exit(r.status ?? 1);
  }
  return true;
}

run('npm', ['run', 'build'], { label: 'npm run build' });
run('bash', ['test/setup/notebooks/setup.sh'], { optional: true, label: 'notebook kernel setup' });
if (existsSync('test/setup/lakehouse/setup.sh')) run('bash', ['test/setup/lakehouse/setup.sh'], { optional: true, label: 'delta-rs setup' });
// Every temporary folder of the tests (checkpoints, tables, the broker's log dir) goes under one folder of this run,
// removed afterwards; a failed run keeps it for a look and prints where it is.
const tmpRoot = mkdtempSync(join(tmpdir(), 'sluice-test-run-'));
process.env.TMPDIR = tmpRoot;
process.on('exit', (code) => {
  if (code === 0) rmSync(tmpRoot, { recursive: true, force: true });
  else console.error(`(the tests' temporary files are kept in ${tmpRoot})`);
});
run('npx', ['vitest', 'run', '--config', 'test/vitest.config.ts', ...args], { label: `vitest run ${args.join(' ')}` });
