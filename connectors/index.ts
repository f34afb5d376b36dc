/**
 * Every built-in connector (and the `state` format, which reads checkpoints); importing this module registers their formats with the default registry.
 *
 * @module
 */
export * from './files/index.js';
export * from './memory/index.js';
export * from './console/index.js';
export * from './parquet/index.js';
export * from './lakehouse/index.js';
export * from './kafka/index.js';
export * from './state/index.js';
