import { defaultFormats } from '../../engine/io/format-registry.js';
import { MemorySink } from './memory-sink.js';

defaultFormats.register({
  name: 'memory',
  streamingSink: (req, services, mode) => MemorySink.create(services, mode, req.options),
});

export { MemoryStream } from './memory-stream.js';
export { MemorySink, MemorySinkError } from './memory-sink.js';
