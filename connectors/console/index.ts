import { defaultFormats } from '../../engine/io/format-registry.js';
import { ConsoleSink } from './console-sink.js';

defaultFormats.register({
  name: 'console',
  streamingSink: (req) => ConsoleSink.fromOptions(req.options),
});

export { ConsoleSink } from './console-sink.js';
