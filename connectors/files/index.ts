/**
 * File formats: `jsonl` (alias `json`), `csv`, `parquet`, `arrow` for `session.read` and `session.readStream`;
 * `parquet`, `json` and `csv` for `writeStream` (Spark's file sink, exactly-once through the folder's
 * `_spark_metadata` log: `file-sink.ts`); `jsonl` for `writeStream` (one file per batch id: `jsonl-sink.ts`); `jsonl`
 * and `parquet` for `df.write`. Reading a folder that holds `_spark_metadata` lists only the files its log commits.
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { fileStepSync } from '../../engine/io/file-write.js';
import { join } from 'node:path';
import { defaultFormats, type FormatProvider, type ReadRequest } from '../../engine/io/format-registry.js';
import { ReaderOptionError, boolOption, intOption } from './text-options.js';
import { FILE_FORMATS, type FileFormat } from './file-formats.js';
import { checkStreamPath, listFiles } from './file-listing.js';
import { FileScan } from './file-scan.js';
import { FileStreamSource } from './file-source.js';
import { JsonLinesSink } from './jsonl-sink.js';
import { fileSinkFromRequest } from './file-sink.js';
import { hasSinkMetadata } from './file-sink-log.js';
import { checkOptionNames, SinkOptions } from '../../engine/io/sink-options.js';
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

/** Files written next to a file sink's log, outside it, would never be read: refuse instead of losing them silently. */
function refuseSinkFolder(path: string, format: string): void {
  if (hasSinkMetadata(path)) {
    throw new ReaderOptionError(
      `${path} is written by a streaming file sink (it holds _spark_metadata): its readers list only the files that log commits, ` +
        `so ${format} files written there by anything else would never be read. Write to another folder, or use .mode('overwrite') to replace it.`,
    );
  }
}

function checkMode(path: string, mode: string, format: string): boolean {
  if (mode !== 'overwrite') refuseSinkFolder(path, format);
  const exists = existsSync(path) && readdirSync(path).length > 0;
  if (exists && mode === 'errorIfExists') {
    throw new ReaderOptionError(`Path ${path} already exists. Use .mode('append') or .mode('overwrite').`);
  }
  return !(exists && mode === 'ignore');
}

const jsonl = provider('jsonl', FILE_FORMATS['jsonl']!);
defaultFormats.register({
  ...jsonl,
  streamingSink: (req) => {
    checkOptionNames('jsonl sink', req.options, { known: [] });
    const path = targetPath(req.path, 'jsonl');
    refuseSinkFolder(path, 'jsonl');
    return new JsonLinesSink(path);
  },
  async batchWrite(req, schema, data) {
    checkOptionNames('jsonl writer', req.options, { known: [] });
    const path = targetPath(req.path, 'jsonl');
    if (!checkMode(path, req.mode, 'jsonl')) return;
    const sink = new JsonLinesSink(path);
    if (req.mode === 'overwrite') {
      const { rmSync } = await import('node:fs');
      rmSync(path, { recursive: true, force: true });
    }
    fileStepSync('create folder', path, () => mkdirSync(path, { recursive: true }));
    const id = Date.now();
    await sink.addBatch(id, data, { queryId: 'batch', runId: 'batch', outputMode: 'append', schema });
  },
});
defaultFormats.register({ ...jsonl, name: 'json', streamingSink: (req) => fileSinkFromRequest('json', req) });
defaultFormats.register({ ...provider('csv', FILE_FORMATS['csv']!), streamingSink: (req) => fileSinkFromRequest('csv', req) });

const parquet = provider('parquet', FILE_FORMATS['parquet']!);
defaultFormats.register({
  ...parquet,
  streamingSink: (req) => fileSinkFromRequest('parquet', req),
  async batchWrite(req, _schema, data) {
    const o = new SinkOptions('parquet writer', req.options, ['compression']);
    const path = targetPath(req.path, 'parquet');
    if (!checkMode(path, req.mode, 'parquet')) return;
    if (req.mode === 'overwrite') {
      const { rmSync } = await import('node:fs');
      rmSync(path, { recursive: true, force: true });
    }
    fileStepSync('create folder', path, () => mkdirSync(path, { recursive: true }));
    const named = o.oneOf('compression', ['snappy', 'zstd', 'none', 'uncompressed'], 'snappy');
    const compression = named === 'uncompressed' ? 'none' : named;
    await writeParquetFile(join(path, `part-${Date.now()}.${compression}.parquet`), data.batches, { compression });
  },
});

export { FileScan, FileStreamSource, JsonLinesSink, listFiles, FILE_FORMATS };
export { FileStreamSink, fileSinkFromRequest, fileSinkFaults, FILE_SINK_OPTIONS, type FileSinkFormat, type FileSinkSettings } from './file-sink.js';
export { FileSinkLog, FileSinkLogError, loggedFilesSync, hasSinkMetadata, isCompactionBatch, type SinkFileStatus } from './file-sink-log.js';
export { MalformedRecordError, ReaderOptionError } from './text-options.js';
export { FileNotFoundError } from './file-listing.js';
