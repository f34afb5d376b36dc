// Shared paths and environment for running the project's Jupyter notebooks.
//
// Everything lives under <repo>/.cache (git-ignored): a Python venv with
// nbconvert/nbclient, and a project-local Jupyter data dir holding the tslab
// kernelspec. Nothing is installed globally, so a fresh clone only needs
// `npm ci` + `bash test/setup/notebooks/setup.sh`.
//
// CLI: `node test/setup/notebooks/env.mjs kernelspec` (re)writes the kernelspec;
//      `node test/setup/notebooks/env.mjs python` prints the venv's python3 path.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CACHE = join(ROOT, '.cache');
export const VENV = process.env.SLUICE_NOTEBOOK_VENV || join(CACHE, 'notebooks-venv');
export const VENV_PYTHON = join(VENV, 'bin', 'python3');
export const JUPYTER_DIR = join(CACHE, 'jupyter');
export const KERNEL_NAME = 'tslab';
export const KERNEL_DIR = join(JUPYTER_DIR, 'kernels', KERNEL_NAME);
export const TSLAB_BIN = join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab');

/** The kernelspec: tslab from this repo's node_modules, run by this Node. */
export function kernelSpec() {
  return {
    argv: [process.execPath, TSLAB_BIN, 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript (tslab)',
    language: 'typescript',
    metadata: { debugger: false },
  };
}

/** Writes the kernelspec if missing or stale (repo moved, other node). Returns its path. */
export function writeKernelSpec() {
  if (!existsSync(TSLAB_BIN)) {
    throw new Error(`tslab not found at ${TSLAB_BIN}: run \`npm ci\` first`);
  }
  mkdirSync(KERNEL_DIR, { recursive: true });
  const file = join(KERNEL_DIR, 'kernel.json');
  const json = JSON.stringify(kernelSpec(), null, 2) + '\n';
  if (!existsSync(file) || readFileSync(file, 'utf8') !== json) writeFileSync(file, json);
  return file;
}

/**
 * Environment for nbconvert and the kernel it starts: the caller's variables
 * (KAFKA_BROKERS and friends pass through untouched) plus project-local Jupyter
 * dirs, so only our kernelspec is found and nothing is written under $HOME.
 */
export function jupyterEnv(base = process.env) {
  const env = { ...base };
  env.JUPYTER_PATH = [JUPYTER_DIR, base.JUPYTER_PATH].filter(Boolean).join(':');
  env.JUPYTER_DATA_DIR = JUPYTER_DIR;
  env.JUPYTER_CONFIG_DIR = join(JUPYTER_DIR, 'config');
  env.JUPYTER_RUNTIME_DIR = join(JUPYTER_DIR, 'runtime');
  env.JUPYTER_PLATFORM_DIRS = '1';
  env.PYDEVD_DISABLE_FILE_VALIDATION = '1';
  env.SLUICE_ROOT = ROOT;
  env.SLUICE_NOTEBOOK = '1';
  // Kernel logs go to the kernel's stderr; keep colour codes out of errors.
  env.NO_COLOR = env.NO_COLOR ?? '1';
  env.FORCE_COLOR = '0';
  return env;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cmd = process.argv[2];
  if (cmd === 'kernelspec') {
    const file = writeKernelSpec();
    console.log(`kernelspec: ${file}`);
    console.log(readFileSync(file, 'utf8').trimEnd());
  } else if (cmd === 'python') {
    console.log(VENV_PYTHON);
  } else if (cmd === 'jupyter-path') {
    console.log(JUPYTER_DIR);
  } else {
    console.error('usage: node test/setup/notebooks/env.mjs kernelspec|python|jupyter-path');
    process.exit(2);
  }
}
