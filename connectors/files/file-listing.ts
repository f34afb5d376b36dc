import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { hasSinkMetadata, loggedFilesSync } from './file-sink-log.js';

/** A path that matches no file. */
export class FileNotFoundError extends Error {
  override readonly name = 'FileNotFoundError';
}

/** A listed file with the attributes the streaming source orders by. */
export interface ListedFile {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
        if (glob[i + 1] === '/') i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      re += `(?:${glob.slice(i + 1, end).split(',').map((s) => s.replace(/[.+^$()|[\]\\]/g, '\\$&')).join('|')})`;
      i = end;
    } else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function isHidden(name: string): boolean {
  // Spark skips files starting with _ or . (e.g. _SUCCESS, .crc, temp files).
  return name.startsWith('.') || name.startsWith('_');
}

function walk(dir: string, out: string[], recursive: boolean): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (isHidden(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) walk(p, out, true);
    } else if (e.isFile()) out.push(p);
  }
}

/**
 * Files named by a path: a file, a folder (its files, recursively; names starting with `_` or `.` skipped) or a glob
 * (`data/*.jsonl`, `logs/**\/*.csv`, `{a,b}.json`). Sorted by name.
 *
 * A folder a file sink writes (it holds `_spark_metadata/`) lists only the files its log commits, as Spark reads it:
 * part files of a batch that crashed before its log entry are never read.
 *
 * @example
 * listFiles('data/events/'); // [{ path: 'data/events/a.jsonl', size: 120, mtimeMs: … }]
 */
export function listFiles(path: string, options: { allowEmpty?: boolean; extensions?: readonly string[] } = {}): ListedFile[] {
  if (hasSinkMetadata(path)) {
    const logged = loggedFilesSync(path);
    if (logged.length === 0 && !options.allowEmpty) {
      throw new FileNotFoundError(`No files found at ${path}: its file sink log (_spark_metadata) commits none yet.`);
    }
    return logged;
  }
  let paths: string[] = [];
  if (/[*?{]/.test(path)) {
    const abs = resolve(path).split(sep).join('/');
    const firstMagic = abs.search(/[*?{]/);
    const base = abs.slice(0, abs.lastIndexOf('/', firstMagic));
    const re = globToRegExp(abs);
    const all: string[] = [];
    if (existsSync(base)) walk(base, all, true);
    paths = all.filter((p) => re.test(p.split(sep).join('/')));
  } else if (existsSync(path)) {
    const st = statSync(path);
    if (st.isDirectory()) walk(path, paths, true);
    else paths = [path];
  } else if (!options.allowEmpty) {
    throw new FileNotFoundError(`Path does not exist: ${path}. Check the path, or create the folder before starting a stream on it.`);
  }
  if (options.extensions) {
    const exts = options.extensions;
    const filtered = paths.filter((p) => exts.some((e) => p.endsWith(e)));
    if (filtered.length > 0 || paths.length === 0) paths = filtered;
  }
  paths.sort();
  if (paths.length === 0 && !options.allowEmpty) {
    throw new FileNotFoundError(`No files found at ${path}.`);
  }
  return paths.map((p) => {
    const st = statSync(p);
    return { path: p, size: st.size, mtimeMs: st.mtimeMs };
  });
}
