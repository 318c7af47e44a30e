import { Command, CommanderError } from 'commander';
import { ExitCode, asSparkSyncError } from '../errors/spark-sync-error';
import { brokerCommand } from './commands/broker';
import { demoCommand } from './commands/demo';
import { doctorCommand } from './commands/doctor';
import { installJarsCommand } from './commands/install-jars';
import { previewCommand } from './commands/preview';
import { statusCommand } from './commands/status';
import { resetCommand } from './commands/reset';
import { sampleCommand } from './commands/sample';
import { submitCommand } from './commands/submit';
import { verifyCommand } from './commands/verify';
import { applyConfigFile } from './config-file';
import { printSummary } from './output';
import { setting } from './shared-options';

/** The CLI's command tree (exported for tests of option resolution). */
export function program(): Command {
  const root = new Command('spark-sync')
    .description('exactly-once sync of files into Kafka topics, executed by Apache Spark')
    .version(require('../../../package.json').version as string)
    .addOption(setting('--config <file>', 'a YAML file of option defaults (keys: long option names); flags beat SPARK_SYNC_* variables, which beat the file'))
    .addOption(setting('--log-format <format>', 'text or json (default: json lines unless stdout and stderr are terminals)'))
    .addOption(setting('--verbose', "debug logs, Spark's and Kafka's own logs, and the Java cause of an error"))
    .showHelpAfterError('(run with --help for usage)')
    .hook('preAction', (root, action) => applyConfigFile(root, action))
    .addHelpText('after', `
Example:
  spark-sync submit --source /data/events --topic events --bootstrap-server kafka1:9092 --create-topic
  spark-sync status
  spark-sync <command> --help

Exit codes: 0 done, 1 internal error, 2 bad input, 3 unreachable (safe to retry),
4 consistency violation (a person must look), 5 verify found missing, duplicated, foreign or unaccounted records,
6 the checkpoint's disk is full (free space, then rerun).`)
    .exitOverride();
  for (const cmd of [submitCommand(), statusCommand(), verifyCommand(), resetCommand(), doctorCommand(), brokerCommand(), demoCommand(), sampleCommand(), installJarsCommand(), previewCommand()]) {
    root.addCommand(cmd.exitOverride());
  }
  root.commands.find((c) => c.name() === 'broker')?.commands.forEach((c) => c.exitOverride());
  return root;
}

/**
 * Runs the CLI and exits with the documented code. Errors print one line on stderr (what, why,
 * what to do), never a stack trace unless --verbose.
 */
export async function main(argv: string[] = process.argv): Promise<void> {
  // `spark-sync status | head` closes stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.OK);
    throw err;
  });
  try {
    await program().parseAsync(argv);
    process.exit(process.exitCode ?? ExitCode.OK);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version exit 0; any other parse error is bad usage. Commander printed it.
      if (err.exitCode === 0) process.exit(ExitCode.OK);
      printSummary({ ok: false, error: { code: 'USAGE', exit_code: ExitCode.USAGE, retriable: false, message: err.message.replace(/^error: /, '') } });
      process.exit(ExitCode.USAGE);
    }
    const e = asSparkSyncError(err);
    process.stderr.write(`spark-sync: error [${e.code}]: ${e.oneLine()}\n`);
    // Schedulers read stdout's last line; a failure is a summary too.
    printSummary({ ok: false, error: { code: e.code, exit_code: e.exitCode, retriable: e.retriable, message: e.oneLine() } });
    if (argv.includes('--verbose')) {
      const cause = (e.cause ?? e) as Error;
      process.stderr.write(`${e.javaClass ? `java: ${e.javaClass}\n` : ''}${cause.stack ?? String(cause)}\n`);
    }
    process.exit(e.exitCode);
  }
}
