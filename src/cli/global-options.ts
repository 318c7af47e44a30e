import { Command } from 'commander';
import { LogFormat, Logger, createLogger } from '../log/logger';
import { SparkSyncError } from '../errors/spark-sync-error';
import { SparkSync } from '../spark-sync';

export interface GlobalOptions {
  log: Logger;
  verbose: boolean;
  logFormat?: LogFormat;
}

/** The options every command shares, from the root program. */
export function globalOptions(cmd: Command): GlobalOptions {
  const opts = cmd.optsWithGlobals<{ verbose?: boolean; logFormat?: string }>();
  if (opts.logFormat !== undefined && opts.logFormat !== 'text' && opts.logFormat !== 'json') {
    throw new SparkSyncError('USAGE', `--log-format must be text or json, not '${opts.logFormat}'`);
  }
  const logFormat = opts.logFormat as LogFormat | undefined;
  return { log: createLogger({ format: logFormat, verbose: opts.verbose }), verbose: !!opts.verbose, logFormat };
}

/** The Spark options a command takes (`addSparkOptions`), as commander parses them. */
export interface SparkFlags {
  master?: string;
  conf?: string[];
  driverMemory?: string;
  jars?: string | string[];
}

/**
 * The engine a command runs on: its Spark flags (checked by the shared schema in
 * `SparkSync.open`), `--verbose` and the command's logger.
 */
export async function openSparkSync(flags: SparkFlags, cmd: Command): Promise<{ sync: SparkSync } & GlobalOptions> {
  const global = globalOptions(cmd);
  const sync = await SparkSync.open({ master: flags.master, conf: flags.conf, driverMemory: flags.driverMemory, jars: flags.jars, verbose: global.verbose, logger: global.log });
  return { sync, ...global };
}

/** Commander reducer for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
