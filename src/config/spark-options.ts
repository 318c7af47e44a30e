import { optionsSchema, parseOrThrow } from './options-schema';
import type { SubmitInput } from './submit-config';

/** Validated Spark settings: `--master`, `--conf`, `--driver-memory` and `--jars` (resolved paths). */
export interface SparkOptions {
  master: string;
  conf: string[];
  driverMemory?: string;
  jars: string[];
}

/**
 * `--master`, `--conf`, `--driver-memory` and `--jars` alone, checked by the same schema as every
 * flag: what a SparkSync starts Spark with, for the CLI and a library caller alike.
 */
export function parseSparkOptions(input: Pick<SubmitInput, 'master' | 'conf' | 'driverMemory' | 'jars'>, command = 'submit'): SparkOptions {
  return parseOrThrow(optionsSchema.pick({ master: true, conf: true, driverMemory: true, jars: true }), input, command);
}
