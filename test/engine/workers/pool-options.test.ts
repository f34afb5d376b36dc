import { describe, expect, it } from 'vitest';
import { poolOptions, workerExecArgv } from '../../../engine/workers/pool.js';

describe('worker thread flags', () => {
  it('drops the module hooks that load tsx, in every spelling', () => {
    expect(workerExecArgv(['--import', 'tsx'])).toEqual([]);
    expect(workerExecArgv(['--import=tsx', '--enable-source-maps'])).toEqual(['--enable-source-maps']);
    expect(workerExecArgv(['--loader', 'tsx/esm', '--experimental-loader=tsx'])).toEqual([]);
    // What the tsx CLI passes: absolute paths inside the package.
    expect(
      workerExecArgv(['--require', '/app/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///app/node_modules/tsx/dist/loader.mjs']),
    ).toEqual([]);
    expect(workerExecArgv(['-r', 'C:\\app\\node_modules\\tsx\\dist\\preflight.cjs'])).toEqual([]);
  });

  it('keeps every other flag, including other modules a user preloads', () => {
    const argv = ['--max-old-space-size=8192', '--require', './otel.cjs', '--import', 'tsxlike', '--cpu-prof', '--import=./setup.mjs'];
    expect(workerExecArgv(argv)).toEqual(argv);
    // A hook flag at the very end (no value) is passed through untouched.
    expect(workerExecArgv(['--import'])).toEqual(['--import']);
  });

  it('is what every pool thread starts with', () => {
    const o = poolOptions('/w.js', ['--import', 'tsx', '--max-semi-space-size=32']);
    expect(o).toMatchObject({ filename: '/w.js', minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: 1 });
    expect(o.execArgv).toEqual(['--max-semi-space-size=32']);
  });
});
