import { Command } from 'commander';
import { LogFormat, Logger, createLogger } from '../log/logger';
import { SparkSyncError } from '../errors/spark-sync-error';
import { SparkOptionsInput, parseSparkOptions } from '../config/spark-options';
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
export type SparkFlags = SparkOptionsInput;

/**
 * The engine a command runs on: its Spark flags, `--verbose` and the command's logger. The flags
 * are checked and resolved here, before anything runs (the properties file read, spark-submit's
 * flags turned into the settings they stand for); the engine gets the result.
 */
export async function openSparkSync(flags: SparkFlags, cmd: Command): Promise<{ sync: SparkSync } & GlobalOptions> {
  const global = globalOptions(cmd);
  const spark = parseSparkOptions(flags, cmd.name());
  const sync = await SparkSync.open({ master: spark.master, conf: spark.conf, driverMemory: spark.driverMemory, jars: spark.jars, verbose: global.verbose, logger: global.log });
  return { sync, ...global };
}

/** Commander reducer for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
