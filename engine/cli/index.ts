/**
 * The `sluice` executable's entry (`engine/cli/sluice.js` loads it from `dist/engine/cli/index.js`, or through tsx from here).
 *
 * @module
 */
import { main } from './program.js';

const code = await main(process.argv);
// Leftover handles (a Kafka socket, a worker pool shutting down) must not keep a finished command alive.
process.exit(code);
