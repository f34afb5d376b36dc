// Worker entry when sluice runs from its TypeScript sources (tests, tsx): registers tsx, then loads worker.ts.
// The built package (dist/) points piscina at worker.js directly and never loads this file.
import { register } from 'tsx/esm/api';

register();
const mod = await import(new URL('./worker.ts', import.meta.url).href);
export default mod.default;
