import { Command } from 'commander';
import { LogFormat, Logger, createLogger } from '../log/logger';
import { SparkSyncError } from '../errors/spark-sync-error';

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

/** Commander reducer for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
