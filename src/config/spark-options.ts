import { optionsSchema, parseOrThrow } from './options-schema';
import type { SubmitInput } from './submit-config';

/** `--master`, `--conf`, `--driver-memory` and `--jars` alone, for commands that start Spark but do not submit. */
export function parseSparkOptions(input: Pick<SubmitInput, 'master' | 'conf' | 'driverMemory' | 'jars'>): { master: string; conf: string[]; driverMemory?: string; jars: string[] } {
  return parseOrThrow(optionsSchema.pick({ master: true, conf: true, driverMemory: true, jars: true }), input, 'verify');
}
