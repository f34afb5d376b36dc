/**
 * The `sluice` command line (commander): `run`, `batch`, `backfill`, `schedule`, `status`, `state`, `diff`, `optimize`, `vacuum`, `history`, `kafka`. `main(argv)`
 * resolves with the exit code; errors become a message on stderr and a documented code, never a stack trace (set
 * `SLUICE_DEBUG=1` for one).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { SpecError } from '../index.js';
import { isSpecProblem } from '../spec/spec-to-plan.js';
import { DEFAULT_KAFKA_PORT } from './commands/kafka.js';
import { CliError, EXIT_CODES_HELP, ExitCode, type ExitCodeValue } from './exit-codes.js';
import { Output } from './output.js';

function version(): string {
  // engine/cli/ when run from sources, dist/engine/cli/ when built: walk up to the package.json.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sluice') return pkg.version ?? '0.0.0';
    } catch {
      // keep walking up
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

const PIPELINE_HELP = 'a pipeline spec (.json) or a module exporting a query (.ts/.js)';

/** Maps an error to its exit code and prints it. */
export function reportError(e: unknown, out: Output): ExitCodeValue {
  if (process.env['SLUICE_DEBUG'] === '1' && e instanceof Error) out.error(e.stack ?? e.message);
  if (e instanceof CliError) {
    out.error(`sluice: ${e.message}`);
    return e.exitCode;
  }
  if (e instanceof SpecError) {
    out.error(e.message);
    return ExitCode.usage;
  }
  if (isSpecProblem(e)) {
    out.error(`sluice: ${e.message}`);
    return ExitCode.usage;
  }
  out.error(`sluice: ${e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e)}`);
  return ExitCode.failed;
}

/**
 * Builds the program; `done(code)` receives each command's exit code.
 *
 * @example
 * const program = buildProgram(new Output(), (code) => (exit = code));
 */
export function buildProgram(out: Output, done: (code: ExitCodeValue) => void): Command {
  const program = new Command('sluice')
    .description('Run sluice pipelines: live, as a batch, as backfills on a schedule; inspect checkpoints; run a local Kafka broker.')
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.stdout.write(s), writeErr: (s) => out.stderr.write(s) })
    .addHelpText(
      'after',
      `
Examples:
  $ sluice run pipelines/sales.json
  $ sluice backfill pipelines/sales.json --from 2026-05-28 --to 2026-05-30 --dry-run
  $ sluice status checkpoints/sales
  $ sluice state checkpoints/sales
  $ sluice kafka start

${EXIT_CODES_HELP}

Pipeline specs: engine/spec/README.md. Commands: engine/cli/README.md.`,
    );
  const json = () => new Option('--json', 'print machine-readable JSON instead of text');

  program
    .command('run')
    .description('run a pipeline as a streaming query until stopped (SIGINT/SIGTERM stop it after the current batch)')
    .argument('<pipeline>', PIPELINE_HELP)
    .option('-t, --trigger <trigger>', 'once | available-now | an interval such as "1 second" (default: the spec\'s trigger)')
    .option('-c, --checkpoint <dir>', 'checkpoint folder (default: the spec\'s checkpoint)')
    .addOption(json())
    .addHelpText(
      'after',
      `
Prints one line per batch (rows in/out, watermark, late rows, duration); with --trigger available-now on a
terminal, a progress bar. Restarting with the same checkpoint continues where the query stopped.

Example:
  $ sluice run pipelines/sales.json --trigger "10 seconds"
  batch 0: 5000 rows in, 0 rows out, watermark 1970-01-01T00:00:00.000Z, 412 ms
  ^C SIGINT: stopping after the current batch…      (exit code 130)

${EXIT_CODES_HELP}`,
    )
    .action(async (file: string, o) => {
      // Each command's modules (and what they import: croner, kafkajs, …) load only when it runs.
      const { runCommand } = await import('./commands/run.js');
      done(await runCommand(file, o, new Output(out.stdout, out.stderr, o.json)));
    });

  program
    .command('batch')
    .description('run the same query over bounded input as a batch and write the result to its sink')
    .argument('<pipeline>', PIPELINE_HELP)
    .option('-i, --input <path|range>', 'files to read (file sources) or <start>..<end> offsets/times (Kafka); default: the spec\'s source')
    .option('-m, --mode <mode>', 'append | overwrite | errorIfExists | ignore', 'append')
    .addOption(json())
    .addHelpText(
      'after',
      `
The watermark is ignored (a batch has no late data): every window is written.

Examples:
  $ sluice batch pipelines/sales.json --input data/orders/2026-05-30/
  $ sluice batch pipelines/kafka-sales.json --input "2026-05-30T00:00Z..2026-05-31T00:00Z"
  $ sluice batch pipelines/kafka-sales.json --input 'earliest..{"orders":{"0":1000}}'

${EXIT_CODES_HELP}`,
    )
    .action(async (file: string, o) => done(await (await import('./commands/batch.js')).batchCommand(file, o, out)));

  program
    .command('backfill')
    .description('recompute an event-time range and replace the affected partitions of the Delta sink in one commit')
    .argument('<pipeline>', PIPELINE_HELP)
    .requiredOption('--from <time>', 'start of the range (ISO-8601, 2026-05-30, epoch ms, now-2days)')
    .requiredOption('--to <time>', 'end of the range, exclusive')
    .option('-n, --dry-run', 'print the plan (ranges, partitions to replace, rows to read) and do nothing')
    .option('-c, --checkpoint <dir>', 'the live query\'s checkpoint (default: the spec\'s checkpoint)')
    .option('--ignore-checkpoint', 'no live query will run on the checkpoint again: do not keep its open windows')
    .option('--lookback <duration>', 'Kafka: start reading this long before the range (default: the watermark delay)')
    .option('--allow-empty', 'replace partitions even if the recompute produced no rows for them')
    .addOption(json())
    .addHelpText(
      'after',
      `
The range widens to whole partitions of the date column derived from the window start (toDate(window.start)).
Every window starting in the widened range is recomputed from the source with the watermark disabled and the
partitions are replaced in one Delta commit (replaceWhere). With a live query on the same table, windows it has not
emitted yet (ending after the watermark of its last batch in the table) are left to it.

Example:
  $ sluice backfill pipelines/sales.json --from 2026-05-29T00:00Z --to 2026-05-30T00:00Z --dry-run

${EXIT_CODES_HELP}`,
    )
    .action(async (file: string, o) => done(await (await import('./commands/backfill.js')).backfillCommand(file, o, out)));

  program
    .command('schedule')
    .description('backfill the trailing window on a cron schedule (runs never overlap; skipped and missed slots reported)')
    .argument('<pipeline>', PIPELINE_HELP)
    .requiredOption('--cron <pattern>', 'cron pattern (croner; 5 or 6 fields), e.g. "0 3 * * *"')
    .requiredOption('--backfill-window <duration>', 'each run backfills [slot - window, slot), e.g. "2 days"')
    .option('--timezone <tz>', 'IANA time zone of the cron pattern (default: local)')
    .option('--log <file>', 'JSON Lines log of every event (default: <name>.schedule.jsonl)')
    .option('--catch-up', 'at start, run the newest slot missed while sluice was not running')
    .option('-c, --checkpoint <dir>', 'the live query\'s checkpoint (default: the spec\'s checkpoint)')
    .option('--ignore-checkpoint', 'no live query will run on the checkpoint again')
    .addOption(json())
    .addHelpText(
      'after',
      `
Example:
  $ sluice schedule pipelines/sales.json --cron "0 3 * * *" --backfill-window "2 days" --timezone UTC
  run   slot 2026-05-30T03:00:00.000Z (started 2026-05-30T03:00:00.004Z)
  done  slot 2026-05-30T03:00:00.000Z in 4.2 s: replaced 3 partition(s) …

${EXIT_CODES_HELP}`,
    )
    .action(async (file: string, o) => done(await (await import('./commands/schedule.js')).scheduleCommand(file, o, out)));

  program
    .command('status')
    .description('inspect a checkpoint: query id, last batches, watermark, state size, what a restart will do')
    .argument('<checkpoint>', 'the checkpoint folder')
    .option('-b, --batches <n>', 'how many recent batches to list', '5')
    .addOption(json())
    .addHelpText(
      'after',
      `
Example:
  $ sluice status checkpoints/sales
  restart:    batch 7 is committed: a restart starts batch 8 from the end offsets of batch 7, with watermark …

${EXIT_CODES_HELP}`,
    )
    .action(async (dir: string, o) => {
      const n = Number(o.batches);
      if (!Number.isInteger(n) || n < 1) throw new CliError(`--batches ${o.batches}: a whole number ≥ 1.`);
      const { formatCheckpointStatus, inspectCheckpoint } = await import('./status/checkpoint-inspector.js');
      const s = await inspectCheckpoint(dir, n);
      if (o.json) out.printJson(s);
      else out.line(formatCheckpointStatus(s));
      done(ExitCode.ok);
    });

  program
    .command('state')
    .description('list a checkpoint\'s state: each operator, its tables (keys, values, TTL), partitions, rows and bytes')
    .argument('<checkpoint>', 'the checkpoint folder')
    .option('-b, --batch <n>', 'the state after this committed batch (default: the last committed)')
    .addOption(json())
    .addHelpText(
      'after',
      `
The rows themselves: session.read.format('state').option('operatorId', 0).option('batchId', N).load(checkpoint).

Example:
  $ sluice state checkpoints/sales
  operator 0  stateStoreSave (aggregate)  2 partition(s)
    table ''  internal  12 row(s), 3.4 KiB in 4 file(s)  ttl none

${EXIT_CODES_HELP}`,
    )
    .action(async (dir: string, o) => done(await (await import('./commands/state.js')).stateCommand(dir, o, out)));

  program
    .command('diff')
    .description('run the query as a batch and as a stream (random micro-batches) over the same input and compare')
    .argument('<pipeline>', PIPELINE_HELP)
    .option('-i, --input <path|range>', 'the input (default: the spec\'s source)')
    .option('--seed <n>', 'seed of the random micro-batch sizes (printed; reuse it to reproduce)')
    .option('--batches <n>', 'about how many micro-batches', '10')
    .addOption(json())
    .addHelpText(
      'after',
      `
Exits 0 when identical, 3 when the results differ (with the rows that differ and why).

Example:
  $ sluice diff pipelines/sales.json --input data/orders/ --seed 7

${EXIT_CODES_HELP}`,
    )
    .action(async (file: string, o) => done(await (await import('./commands/diff.js')).diffCommand(file, o, out)));

  program
    .command('optimize')
    .description('compact a Delta table\'s small files (one commit, rows unchanged)')
    .argument('<table>', 'the Delta table folder (the one holding _delta_log/)')
    .option('--target-file-size <size>', 'compacted files are about this big; bigger files are left alone (e.g. 64MB)', '128MB')
    .option('--where <json>', 'only partitions matching this predicate, e.g. \'{"date":{"eq":"2026-05-30"}}\'')
    .addOption(json())
    .addHelpText('after', `\nExample:\n  $ sluice optimize lake/sales\n  lake/sales: version 12: 120 files compacted into 1 in 1 partition(s); rows unchanged\n\n${EXIT_CODES_HELP}`)
    .action(async (table: string, o) => done(await (await import('./commands/maintenance.js')).optimizeCommand(table, o, out)));

  program
    .command('vacuum')
    .description('delete files of a Delta table that no version within the retention uses')
    .argument('<table>', 'the Delta table folder')
    .option('--retention-hours <h>', 'keep files removed less than this long ago (below 168 needs --force)', '168')
    .option('--dry-run', 'list the files without deleting them')
    .option('--force', 'allow a retention below 168 hours (readers of older versions may lose files)')
    .addOption(json())
    .addHelpText('after', `\nExample:\n  $ sluice vacuum lake/sales --dry-run\n\n${EXIT_CODES_HELP}`)
    .action(async (table: string, o) => done(await (await import('./commands/maintenance.js')).vacuumCommand(table, o, out)));

  program
    .command('history')
    .description('list a Delta table\'s commits, newest first')
    .argument('<table>', 'the Delta table folder')
    .option('-n, --limit <n>', 'how many commits')
    .addOption(json())
    .addHelpText('after', `\nExample:\n  $ sluice history lake/sales -n 3\n\n${EXIT_CODES_HELP}`)
    .action(async (table: string, o) => done(await (await import('./commands/maintenance.js')).historyCommand(table, o, out)));

  const kafka = program
    .command('kafka')
    .description('a local single-node Kafka broker (KRaft; Java 11+) to try the Kafka source and sink: start | stop | status');
  const state = () => new Option('--state <file>', 'where start records the broker for status and stop (default: .cache/kafka/broker.json in the package)');
  kafka
    .command('start')
    .description('start the broker in the background (the jars are fetched with Maven once) and print KAFKA_BROKERS=<address>')
    .option('-p, --port <port>', 'client port', String(DEFAULT_KAFKA_PORT))
    .option('--data-dir <dir>', 'keep config, data and logs in this folder (default: a temporary folder, removed by stop)')
    .addOption(state())
    .addOption(json())
    .addHelpText(
      'after',
      `
Example:
  $ sluice kafka start
  started Kafka 3.9.2 broker at 127.0.0.1:9092 (pid 4242, …); \`npx sluice kafka stop\` stops it
  KAFKA_BROKERS=127.0.0.1:9092`,
    )
    .action(async (o) => done(await (await import('./commands/kafka.js')).kafkaStartCommand(o, out)));
  kafka
    .command('stop')
    .description('stop the broker start started (SIGTERM; SIGKILL after 15 s) and remove its temporary folder')
    .addOption(state())
    .addOption(json())
    .action(async (o) => done(await (await import('./commands/kafka.js')).kafkaStopCommand(o, out)));
  kafka
    .command('status')
    .description('print the running broker\'s address (exit 0), or exit 1 when none runs')
    .addOption(state())
    .addOption(json())
    .action(async (o) => done(await (await import('./commands/kafka.js')).kafkaStatusCommand(o, out)));

  return program;
}

/**
 * Runs the CLI with `argv` (as `process.argv`: node and script first); resolves with the exit code.
 *
 * @example
 * process.exitCode = await main(process.argv);
 */
export async function main(argv: readonly string[], out = new Output()): Promise<ExitCodeValue> {
  let code: ExitCodeValue = ExitCode.ok;
  const program = buildProgram(out, (c) => (code = c));
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage;
    }
    return reportError(e, out);
  }
}
