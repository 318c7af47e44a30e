import { Command, CommanderError } from 'commander';
import { ExitCode, SparkSyncError, asSparkSyncError } from '../errors/spark-sync-error';
import { brokerCommand } from './commands/broker';
import { completionCommand } from './commands/completion';
import { demoCommand } from './commands/demo';
import { doctorCommand } from './commands/doctor';
import { installJarsCommand } from './commands/install-jars';
import { previewCommand } from './commands/preview';
import { statusCommand } from './commands/status';
import { resetCommand } from './commands/reset';
import { sampleCommand } from './commands/sample';
import { submitCommand } from './commands/submit';
import { verifyCommand } from './commands/verify';
import { versionCommand } from './commands/version';
import { commandPath, commandTree } from './command-tree';
import { applyConfigFile } from './config-file';
import { exitCodesHelp, printSummary } from './output';
import { setting } from './shared-options';

/** The CLI's command tree (exported for tests of option resolution, and read by `completion`). */
export function program(): Command {
  const root = new Command('spark-sync')
    .description('exactly-once sync of files into Kafka topics, executed by Apache Spark')
    .version(require('../../../package.json').version as string)
    .addOption(setting('--config <file>', 'a YAML file of option defaults (keys: long option names); flags beat SPARK_SYNC_* variables, which beat the file'))
    .addOption(setting('--log-format <format>', 'text or json (default: json lines unless stdout and stderr are terminals)'))
    .addOption(setting('--verbose', "debug logs, Spark's and Kafka's own logs, and the Java cause of an error"))
    .hook('preAction', (root, action) => applyConfigFile(root, action))
    .addHelpText('after', `
Example:
  spark-sync submit --source /data/events --topic events --bootstrap-server kafka1:9092 --create-topic
  spark-sync status
  spark-sync <command> --help
${exitCodesHelp([0, 1, 2, 3, 4, 5, 6])}`);
  for (const cmd of [
    submitCommand(), statusCommand(), verifyCommand(), resetCommand(), doctorCommand(), brokerCommand(), demoCommand(), sampleCommand(), installJarsCommand(),
    previewCommand(), completionCommand(), versionCommand(),
  ]) {
    root.addCommand(cmd);
  }
  for (const cmd of commandTree(root)) errorsAsUsage(cmd);
  return root;
}

/**
 * Commander's own parse errors (an unknown option or command, a missing or invalid value, a
 * missing command) become USAGE errors, printed once by main's handler as every error is: one
 * line on stderr and the summary on stdout. Commander prints nothing of them itself; its help
 * and version output (exit code 0) are untouched.
 */
function errorsAsUsage(cmd: Command): void {
  cmd
    .configureOutput({ outputError: () => undefined, writeErr: () => undefined })
    .showHelpAfterError(false)
    .exitOverride((err) => {
      if (err.exitCode === 0) throw err;
      throw usageError(cmd, err);
    });
}

function usageError(cmd: Command, err: CommanderError): SparkSyncError {
  const name = commandPath(cmd);
  let message = err.message.replace(/^error: /, '').replace(/\.$/, '');
  if (err.code === 'commander.help') {
    // `spark-sync help bogus`, or `spark-sync` or `spark-sync broker` alone: commander would print the whole help as the error.
    message = cmd.args[0] === 'help' && cmd.args[1] ? `unknown command '${cmd.args[1]}'` : `${name} needs a command: ${cmd.commands.map((c) => c.name()).join(', ')}`;
  }
  return new SparkSyncError('USAGE', message, { hint: `run \`${name} --help\` for usage`, cause: err });
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
  const root = program();
  try {
    await root.parseAsync(argv);
    process.exit(process.exitCode ?? ExitCode.OK);
  } catch (err) {
    // --help, --version and `help` end commander's parse with exit code 0, their output printed.
    if (err instanceof CommanderError && err.exitCode === 0) process.exit(ExitCode.OK);
    const e = err instanceof CommanderError ? usageError(root, err) : asSparkSyncError(err);
    process.stderr.write(`spark-sync: error [${e.code}]: ${e.oneLine()}\n`);
    // Schedulers read stdout's last line; a failure is a summary too.
    printSummary({ ok: false, error: { code: e.code, exit_code: e.exitCode, retriable: e.retriable, message: e.oneLine() } });
    // --verbose as resolved: the flag, SPARK_SYNC_VERBOSE or the config file's `verbose: true`.
    if (verboseOf(root, argv)) {
      const cause = (e.cause ?? e) as Error;
      process.stderr.write(`${e.javaClass ? `java: ${e.javaClass}\n` : ''}${cause.stack ?? String(cause)}\n`);
    }
    process.exit(e.exitCode);
  }
}

/** Whether the run asked for --verbose, by flag, environment or config file (once parsed). */
function verboseOf(root: Command, argv: string[]): boolean {
  return argv.includes('--verbose') || root.opts<{ verbose?: boolean }>().verbose === true;
}
