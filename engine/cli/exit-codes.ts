/**
 * The exit codes of `sluice`, documented in `sluice --help` and `engine/cli/README.md`.
 *
 * @module
 */

/** What a `sluice` process exits with. */
export const ExitCode = {
  /** The command did what it was asked. */
  ok: 0,
  /** The query (or a backfill run) failed while running. */
  failed: 1,
  /** Invalid spec, options or input: nothing was run. */
  usage: 2,
  /** `sluice diff`: batch and stream results differ. */
  differ: 3,
  /** Stopped by SIGINT (after the current batch or run). */
  interrupted: 130,
  /** Stopped by SIGTERM (after the current batch or run). */
  terminated: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The help text block that lists the exit codes. */
export const EXIT_CODES_HELP = `Exit codes:
  0    ok
  1    the query failed while running
  2    invalid spec, options or input (nothing ran)
  3    diff: batch and stream results differ
  130  interrupted by SIGINT (stopped after the current batch)
  143  terminated by SIGTERM (stopped after the current batch)`;

/** An error that ends the command with a given exit code and a message for the user (no stack). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.usage,
  ) {
    super(message);
  }
}
