import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { hasSinkMetadata, loggedFilesSync } from './file-sink-log.js';

/** A path that matches no file, or a path to stream from that does not exist; `path` is the path as given. */
export class FileNotFoundError extends Error {
  override readonly name = 'FileNotFoundError';
  constructor(
    message: string,
    readonly path: string = '',
  ) {
    super(message);
  }
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

const GLOB_MAGIC = /[*?{]/;

/**
 * Refuses to stream from a path that does not exist: a file or folder that is not there, or a glob whose fixed
 * leading folder is not there (`in/*.jsonl` without `in/`). Otherwise such a stream lists nothing, forever.
 * Spark refuses a missing non-glob path at `load()` and does not check globs; sluice checks at `start()`, and the
 * folder a glob starts from as well. `waitForPath` (the source option) is how to wait for a path that will appear.
 *
 * @example
 * checkStreamPath('incoming/', 'jsonl'); // throws FileNotFoundError when incoming/ does not exist
 */
export function checkStreamPath(path: string, format: string): void {
  const glob = GLOB_MAGIC.test(path);
  const abs = resolve(path).split(sep).join('/');
  const mustExist = glob ? abs.slice(0, Math.max(abs.lastIndexOf('/', abs.search(GLOB_MAGIC)), 1)) : abs;
  if (existsSync(mustExist)) return;
  const what = glob ? `the folder '${mustExist}' that the glob '${path}' reads from` : `'${path}'${path === mustExist ? '' : ` (${mustExist})`}`;
  throw new FileNotFoundError(
    `Cannot stream ${format} files from ${what}: it does not exist, so the query would wait forever for files. ` +
      `Check the path, or create the folder before starting; to start anyway and wait for it to appear, set the ` +
      `source option waitForPath to true (.option('waitForPath', true); in a spec "options": { "waitForPath": true }).`,
    path,
  );
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
  if (GLOB_MAGIC.test(path)) {
    const abs = resolve(path).split(sep).join('/');
    const firstMagic = abs.search(GLOB_MAGIC);
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
    throw new FileNotFoundError(`Path does not exist: ${path}. Check the path, or create the folder before starting a stream on it.`, path);
  }
  if (options.extensions) {
    const exts = options.extensions;
    const filtered = paths.filter((p) => exts.some((e) => p.endsWith(e)));
    if (filtered.length > 0 || paths.length === 0) paths = filtered;
  }
  paths.sort();
  if (paths.length === 0 && !options.allowEmpty) {
    throw new FileNotFoundError(`No files found at ${path}.`, path);
  }
  return paths.map((p) => {
    const st = statSync(p);
    return { path: p, size: st.size, mtimeMs: st.mtimeMs };
  });
}
