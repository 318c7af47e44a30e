import fs from 'node:fs';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { SparkSyncError } from '../errors/spark-sync-error';
import { commandTree } from './command-tree';

/**
 * `--config spark-sync.yaml` (or `SPARK_SYNC_CONFIG`): defaults for any command's options, keyed
 * by the long option name. Flags beat `SPARK_SYNC_*` variables, which beat the file: an option
 * whose value came from the command line or the environment is left alone.
 *
 * ```yaml
 * bootstrap-server: kafka1:9092,kafka2:9092
 * kafka-config: /etc/spark-sync/client.properties
 * checkpoint: /var/lib/spark-sync/checkpoint.db
 * batch-size: 500000
 * conf:
 *   - spark.executor.memory=4g
 * ```
 */
/** Options that point at the file itself, not settings. */
const NOT_SETTINGS = new Set(['config', 'version', 'help']);

/**
 * Options that say what one invocation does rather than how spark-sync runs: a file shared by
 * every run (`/etc/spark-sync/spark-sync.yaml`) must never make `reset` forget every file without
 * asking, or turn every submit into a dry run. They are flags only, never read from the file (nor
 * from the environment: none of them has a SPARK_SYNC_* variable).
 */
export const ACTIONS = new Set(['yes', 'all', 'acknowledge', 'dry-run', 'file']);

export function applyConfigFile(root: Command, action: Command): void {
  const file = root.opts<{ config?: string }>().config;
  if (!file) return;
  const settings = readConfigFile(file);
  const known = new Set(commandTree(root).flatMap((c) => c.options.map((o) => o.long?.slice(2))));
  for (const [key, value] of Object.entries(settings)) {
    if (ACTIONS.has(key)) {
      throw new SparkSyncError('USAGE', `${file}: '${key}' is an action, not a setting: --${key} is taken from the command line only`, {
        hint: `remove '${key}' from the file and pass --${key} on the commands that mean it`,
      });
    }
    if (!known.has(key) || NOT_SETTINGS.has(key)) {
      throw new SparkSyncError('USAGE', `${file}: unknown setting '${key}'`, {
        hint: 'settings are the long option names of spark-sync\'s commands, e.g. bootstrap-server: kafka1:9092',
      });
    }
    // A setting for another command (e.g. topic when running status) is fine: one file serves all.
    for (const cmd of [action, root]) {
      const option = cmd.options.find((o) => o.long === `--${key}`);
      if (!option) continue;
      const attr = option.attributeName();
      const source = cmd.getOptionValueSource(attr);
      if (source === undefined || source === 'default') cmd.setOptionValueWithSource(attr, optionValue(file, key, value, option), 'config');
      break;
    }
  }
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new SparkSyncError('USAGE', `--config ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      hint: 'pass a YAML file, or unset SPARK_SYNC_CONFIG',
    });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new SparkSyncError('USAGE', `--config ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, { hint: 'fix the file' });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new SparkSyncError('USAGE', `--config ${file} must be a mapping of option names to values`, { hint: 'e.g. bootstrap-server: kafka1:9092' });
  }
  return doc as Record<string, unknown>;
}

function optionValue(file: string, key: string, value: unknown, option: Option): unknown {
  const bad = (expected: string) =>
    new SparkSyncError('USAGE', `${file}: '${key}' must be ${expected}`, { hint: `see \`spark-sync --help\` for --${key}` });
  if (option.isBoolean()) {
    if (typeof value !== 'boolean') throw bad('true or false');
    return value;
  }
  const scalar = (v: unknown) => {
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    throw bad(Array.isArray(option.defaultValue) ? 'a list of strings' : 'a string or a number');
  };
  if (Array.isArray(option.defaultValue)) return (Array.isArray(value) ? value : [value]).map(scalar);
  return scalar(value);
}
