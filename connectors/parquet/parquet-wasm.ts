/**
 * The calling thread's parquet-wasm instance, for the synchronous calls (`readParquet` of in-memory bytes,
 * `readSchema` of a footer, `writeParquet`), replaced by a fresh instance after a WebAssembly trap.
 *
 * A synchronous trap is thrown through the call, so try/catch sees it, but it leaves the instance behind it
 * half-way through whatever it was doing (its allocator, its shadow stack pointer, a borrowed cell), and later
 * calls into that instance may fail or misbehave. parquet-wasm's Node build instantiates its module once, when the
 * CommonJS file is first required; dropping that file from the require cache and requiring it again compiles and
 * instantiates a new one (~80–130 ms, measured here; only after a trap). Until then every call goes to the same
 * instance: the good path costs one property read. The first call loads it: a query without Parquet or Delta never
 * pays its ~110 ms of compilation.
 *
 * @module
 */
import { createRequire } from 'node:module';

/** The parquet-wasm module (its Node build). */
export type ParquetWasm = typeof import('parquet-wasm');

const require = createRequire(import.meta.url);
let instance: ParquetWasm | null = null;
let instances = 0;

/**
 * The current instance. Use it for one self-contained call at a time: objects of an instance that trapped (a
 * `ParquetFile`, a `Table`) must not be passed to the next one.
 *
 * @example
 * const { readSchema } = parquetWasm();
 */
export function parquetWasm(): ParquetWasm {
  if (instance === null) {
    instance = require('parquet-wasm') as ParquetWasm;
    instances++;
  }
  return instance;
}

/** How many instances this thread has made (1 until a trap); for tests. */
export function parquetWasmInstances(): number {
  return instances;
}

/**
 * Whether `e` is a WebAssembly trap (`RuntimeError`: unreachable, out-of-bounds memory access, …), as opposed to an
 * error the decoder returned.
 *
 * @example
 * try { run(); } catch (e) { if (isWasmTrap(e)) … }
 */
export function isWasmTrap(e: unknown): boolean {
  return e instanceof Error && e.name === 'RuntimeError';
}

/**
 * Runs `use` with the current instance; if it traps, the instance is dropped (the next call gets a fresh one) and the
 * trap is rethrown for the caller to name the file.
 *
 * @example
 * const table = withParquetWasm((w) => w.readParquet(bytes).intoIPCStream());
 */
export function withParquetWasm<T>(use: (wasm: ParquetWasm) => T): T {
  const wasm = parquetWasm();
  try {
    return use(wasm);
  } catch (e) {
    if (isWasmTrap(e) && instance === wasm) {
      instance = null;
      delete require.cache[require.resolve('parquet-wasm')];
    }
    throw e;
  }
}
