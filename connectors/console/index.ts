import { defaultFormats } from '../../engine/io/format-registry.js';
import { ConsoleSink } from './console-sink.js';

defaultFormats.register({
  name: 'console',
  streamingSink: (req) => new ConsoleSink(req.options['numRows'] ? Number(req.options['numRows']) : 20),
});

export { ConsoleSink } from './console-sink.js';
