/**
 * Graceful stop on SIGINT/SIGTERM: the first signal asks the command to stop after what it is doing (the current
 * batch, the current backfill run); a second one exits at once.
 *
 * @module
 */
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The exit code of a stop by `signal`. */
export function exitCodeOf(signal: StopSignal): ExitCodeValue {
  return signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated;
}

/**
 * Calls `onStop` on the first SIGINT/SIGTERM; exits with 130/143 on the second.
 *
 * @example
 * const stop = handleStopSignals((sig) => { out.line('stopping after the current batch…'); void query.stop(); });
 * … stop.received; // 'SIGINT' | 'SIGTERM' | null
 * stop.dispose();
 */
export function handleStopSignals(onStop: (signal: StopSignal) => void, onForce?: (signal: StopSignal) => void): { readonly received: StopSignal | null; dispose(): void } {
  let received: StopSignal | null = null;
  const handler = (signal: StopSignal) => {
    if (received !== null) {
      onForce?.(signal);
      process.exit(exitCodeOf(signal));
    }
    received = signal;
    onStop(signal);
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    get received() {
      return received;
    },
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
