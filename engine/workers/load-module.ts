/**
 * Loads a user module (a `transformWithState` processor) by URL or path, in any thread. JavaScript modules are
 * imported as they are. A TypeScript module is bundled once with esbuild into `node_modules/.cache/sluice/user/`
 * (its npm packages stay imports) and the bundle imported: worker threads run plain JavaScript without tsx's hooks
 * (see `workerExecArgv`), and the CLI's bundle has none either.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A user module that cannot be found, compiled or imported; the message names the module and the fix. */
export class ModuleLoadError extends Error {
  override readonly name = 'ModuleLoadError';
}

/**
 * The module's URL: a `file:` URL, another URL as is, or a path resolved against `base` (a folder; default: the
 * working directory).
 *
 * @example
 * moduleUrl('./detector.ts', '/pipelines'); // 'file:///pipelines/detector.ts'
 */
export function moduleUrl(module: string, base?: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(base ?? process.cwd(), module)).href;
}

const loaded = new Map<string, Promise<Record<string, unknown>>>();

function isTypeScript(path: string): boolean {
  return /\.(c|m)?tsx?$/.test(path);
}

/**
 * The `node_modules` folder nearest above the module (else sluice's own): the bundle is written below it, so the npm
 * packages it imports resolve as they do from the module itself.
 */
function nodeModulesOf(path: string): string {
  const above = (start: string): string | null => {
    for (let dir = dirname(start); ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules');
      if (existsSync(candidate)) return candidate;
      if (dirname(dir) === dir) return null;
    }
  };
  return above(path) ?? above(fileURLToPath(import.meta.url)) ?? join(tmpdir(), 'sluice-node_modules');
}

/** Bundles a TypeScript module into the cache, once per content (rebuilt when the source is newer). */
function bundleTypeScript(path: string): string {
  const require = createRequire(import.meta.url);
  let esbuild: typeof import('esbuild');
  try {
    esbuild = require('esbuild') as typeof import('esbuild');
  } catch (e) {
    throw new ModuleLoadError(
      `Cannot load the TypeScript module '${path}' here: esbuild is not installed (${(e as Error).message}). Install esbuild, or build the module to JavaScript and name the .js file.`,
    );
  }
  const outDir = join(nodeModulesOf(path), '.cache', 'sluice', 'user');
  const out = join(outDir, `${createHash('sha1').update(path).digest('hex').slice(0, 16)}.mjs`);
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(path).mtimeMs) return out;
  let built;
  try {
    built = esbuild.buildSync({ entryPoints: [path], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', write: false, logLevel: 'silent' });
  } catch (e) {
    throw new ModuleLoadError(`Cannot compile '${path}': ${(e as Error).message}`, { cause: e });
  }
  mkdirSync(outDir, { recursive: true });
  // Written whole, then renamed: another thread may be importing it.
  const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, built.outputFiles[0]!.contents);
  renameSync(tmp, out);
  return out;
}

/**
 * Imports a module by URL (or path), compiling TypeScript on the way; the same URL is imported once per thread.
 *
 * @example
 * const mod = await importUserModule(new URL('./detector.ts', import.meta.url).href);
 * const Detector = mod['FailedLoginDetector'];
 */
export function importUserModule(url: string): Promise<Record<string, unknown>> {
  const known = loaded.get(url);
  if (known) return known;
  const p = (async () => {
    let target = url;
    if (url.startsWith('file:')) {
      const path = fileURLToPath(url);
      if (!existsSync(path)) throw new ModuleLoadError(`The module '${path}' does not exist. Pass module: new URL('./file.ts', import.meta.url).href, or an absolute path.`);
      if (isTypeScript(path)) target = pathToFileURL(bundleTypeScript(path)).href;
    }
    try {
      return (await import(target)) as Record<string, unknown>;
    } catch (e) {
      throw new ModuleLoadError(`Cannot import the module '${url}': ${(e as Error).message}`, { cause: e });
    }
  })();
  loaded.set(url, p);
  p.catch(() => loaded.delete(url));
  return p;
}
