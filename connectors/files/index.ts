/**
 * File formats: `jsonl` (alias `json`), `csv`, `parquet`, `arrow` for `session.read` and `session.readStream`; `jsonl`
 * and `parquet` for `writeStream` and `df.write`.
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultFormats, type FormatProvider, type ReadRequest } from '../../engine/io/format-registry.js';
import { ReaderOptionError, boolOption, intOption } from './text-options.js';
import { FILE_FORMATS, type FileFormat } from './file-formats.js';
import { checkStreamPath, listFiles } from './file-listing.js';
import { FileScan } from './file-scan.js';
import { FileStreamSource } from './file-source.js';
import { JsonLinesSink } from './jsonl-sink.js';
import { writeParquetFile } from '../parquet/index.js';
import { existsSync, readdirSync } from 'node:fs';

function needPath(req: ReadRequest | { path: string | null; format: string }): string {
  if (!req.path) throw new ReaderOptionError(`The ${req.format} format needs a path: load('path/to/files').`);
  return req.path;
}

function provider(name: string, format: FileFormat): FormatProvider {
  return {
    name,
    batchScan(req) {
      const path = needPath(req);
      const files = listFiles(path, { extensions: format.extensions }).map((f) => f.path);
      const schema = format.schemaOf(files, req.schema, req.options);
      return new FileScan(format, files, schema, req.options, path);
    },
    streamSource(req) {
      const path = needPath(req);
      const files = listFiles(path, { allowEmpty: true, extensions: format.extensions }).map((f) => f.path);
      const schema = format.schemaOf(req.schema ? [] : files, req.schema, req.options);
      const max = req.options['maxFilesPerTrigger'] !== undefined ? intOption(req.options['maxFilesPerTrigger'], 1, 'maxFilesPerTrigger') : null;
      const waitForPath = boolOption(req.options['waitForPath'], false, 'waitForPath');
      return {
        schema,
        description: `FileStreamSource[${name}:${path}]`,
        make: () => new FileStreamSource(format, path, schema, req.options, max),
        checkStart: () => {
          if (!waitForPath) checkStreamPath(path, name);
        },
      };
    },
  };
}

for (const [name, format] of Object.entries(FILE_FORMATS)) defaultFormats.register(provider(name, format));

function targetPath(path: string | null, format: string): string {
  if (!path) throw new ReaderOptionError(`The ${format} sink needs a path: .option('path', 'out/') or save('out/').`);
  return path;
}

function checkMode(path: string, mode: string): boolean {
  const exists = existsSync(path) && readdirSync(path).length > 0;
  if (exists && mode === 'errorIfExists') {
    throw new ReaderOptionError(`Path ${path} already exists. Use .mode('append') or .mode('overwrite').`);
  }
  return !(exists && mode === 'ignore');
}

const jsonl = provider('jsonl', FILE_FORMATS['jsonl']!);
defaultFormats.register({
  ...jsonl,
  streamingSink: (req) => new JsonLinesSink(targetPath(req.path, 'jsonl')),
  async batchWrite(req, schema, data) {
    const path = targetPath(req.path, 'jsonl');
    if (!checkMode(path, req.mode)) return;
    const sink = new JsonLinesSink(path);
    if (req.mode === 'overwrite') {
      const { rmSync } = await import('node:fs');
      rmSync(path, { recursive: true, force: true });
    }
    mkdirSync(path, { recursive: true });
    const id = Date.now();
    await sink.addBatch(id, data, { queryId: 'batch', runId: 'batch', outputMode: 'append', schema });
  },
});
defaultFormats.register({ ...jsonl, name: 'json', streamingSink: (req) => new JsonLinesSink(targetPath(req.path, 'json')) });

const parquet = provider('parquet', FILE_FORMATS['parquet']!);
defaultFormats.register({
  ...parquet,
  async batchWrite(req, _schema, data) {
    const path = targetPath(req.path, 'parquet');
    if (!checkMode(path, req.mode)) return;
    if (req.mode === 'overwrite') {
      const { rmSync } = await import('node:fs');
      rmSync(path, { recursive: true, force: true });
    }
    mkdirSync(path, { recursive: true });
    const compression = (req.options['compression'] ?? 'snappy') as 'snappy' | 'zstd' | 'none';
    await writeParquetFile(join(path, `part-${Date.now()}.${compression}.parquet`), data.batches, { compression });
  },
});

export { FileScan, FileStreamSource, JsonLinesSink, listFiles, FILE_FORMATS };
export { MalformedRecordError, ReaderOptionError } from './text-options.js';
export { FileNotFoundError } from './file-listing.js';
