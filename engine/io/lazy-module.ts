/**
 * Loading a heavy CommonJS dependency (kafkajs, parquet-wasm, piscina) when it is first used instead of when sluice is
 * imported, so a query that never writes Kafka, reads Parquet or starts a worker pays nothing for them: importing
 * kafkajs costs ~95 ms of CPU, parquet-wasm ~110 ms (it compiles its WebAssembly), and through tsx each module adds
 * a round trip to the loader thread.
 *
 * @module
 */
import { createRequire } from 'node:module';

/**
 * A function that loads `specifier` (resolved from `parentUrl`, usually `import.meta.url`) on its first call and
 * returns the same module after. Import the package's types with `import type` so nothing loads at import time.
 *
 * @example
 * import type * as KafkaJs from 'kafkajs';
 * const kafkajs = lazyModule<typeof KafkaJs>('kafkajs', import.meta.url);
 * const kafka = new (kafkajs().Kafka)({ brokers: ['127.0.0.1:9092'] });
 */
export function lazyModule<T>(specifier: string, parentUrl: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= createRequire(parentUrl)(specifier) as T);
}
