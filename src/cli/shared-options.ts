import path from 'node:path';
import { Command, Option } from 'commander';
import { kafkaPropertyFlags } from '../config/kafka-client-config';
import { SparkSyncError } from '../errors/spark-sync-error';
import { DEFAULT_DRIVER_MEMORY } from '../spark/jvm';
import { collect } from './global-options';

/** `--batch-size` → `SPARK_SYNC_BATCH_SIZE`: every setting can come from the environment. */
export function envName(long: string): string {
  return `SPARK_SYNC_${long.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

/** An option that may also be set by `SPARK_SYNC_<NAME>` (commander shows it in --help). */
export function setting(flags: string, description: string, defaultValue?: string): Option {
  const o = new Option(flags, description);
  o.env(envName(o.long!));
  if (defaultValue !== undefined) o.default(defaultValue);
  return o;
}

export function addCheckpointOption(cmd: Command): Command {
  return cmd
    .addOption(setting('--checkpoint <file>', 'the local checkpoint file (default: $SPARK_SYNC_HOME/checkpoint.db, ~/.spark-sync/ when unset)'))
    .addOption(setting('--checkpoint-topic <name>', "the compacted Kafka topic holding the checkpoint's authoritative copy, so a run on any machine resumes where the last stopped; none: the local file only (exactly once then holds only while every run uses that file)", 'spark-sync-checkpoints'));
}

/**
 * How to reach Kafka, as Kafka's own tools take it (`--command-config` is their name for
 * `--kafka-config`), and kcat's `-X key=value` on top. Before the command runs, the two names
 * become `kafkaConfig` and the `-X` flags `kafkaProperties`, what the library takes.
 */
export function addKafkaOptions(cmd: Command, bootstrap = 'Kafka brokers, comma-separated (required)'): Command {
  return cmd
    .addOption(setting('--bootstrap-server <host:port>', bootstrap))
    .addOption(setting('--kafka-config <file>', 'Kafka client.properties: security.protocol, sasl.*, ssl.* (for the driver and Spark)'))
    .addOption(new Option('--command-config <file>', "the same as --kafka-config, by the name Kafka's own tools give it"))
    .addOption(new Option('-X, --kafka-property <key=value>', "a Kafka client property, as kcat's -X; repeatable; beats the same key in --kafka-config (values are never printed)").argParser(collect).default([]))
    .hook('preAction', resolveKafkaFlags);
}

/** Where an option's value came from, by precedence: a flag beats SPARK_SYNC_*, which beats the config file. */
const RANK: Record<string, number> = { cli: 3, env: 2, config: 1 };

function resolveKafkaFlags(cmd: Command): void {
  const alias = cmd.getOptionValue('commandConfig') as string | undefined;
  if (alias !== undefined) {
    const file = cmd.getOptionValue('kafkaConfig') as string | undefined;
    const rank = RANK[cmd.getOptionValueSource('kafkaConfig') ?? ''] ?? 0;
    const aliasRank = RANK[cmd.getOptionValueSource('commandConfig') ?? ''] ?? 0;
    if (file !== undefined && path.resolve(file) !== path.resolve(alias) && rank === aliasRank) {
      throw new SparkSyncError('USAGE', `--kafka-config ${file} and --command-config ${alias} name different files`, { hint: 'they are one option under two names: pass one of them' });
    }
    if (aliasRank >= rank) cmd.setOptionValueWithSource('kafkaConfig', alias, cmd.getOptionValueSource('commandConfig'));
  }
  const pairs = cmd.getOptionValue('kafkaProperty') as string[] | undefined;
  if (pairs?.length) cmd.setOptionValueWithSource('kafkaProperties', kafkaPropertyFlags(pairs), cmd.getOptionValueSource('kafkaProperty'));
}

/**
 * How Spark runs, as spark-submit takes it; `parseSparkOptions` turns the dedicated flags into
 * the Spark settings spark-submit sets for them, with spark-submit's precedence.
 */
export function addSparkOptions(cmd: Command): Command {
  return cmd
    .addOption(setting('--master <url>', 'Spark master: local[*], local[N], spark://host:port, yarn (default: spark.master of --conf or --properties-file, else local[*])'))
    .option('--conf <key=value>', 'a Spark setting; repeatable; beats --properties-file', collect, [])
    .addOption(setting('--properties-file <file>', 'Spark settings in spark-defaults.conf format (key value or key=value lines, # comments), as spark-submit takes it; --conf and the flags below beat it'))
    .addOption(setting('--driver-memory <size>', `heap of the driver JVM, e.g. 2g (default: spark.driver.memory of --conf or --properties-file, else ${DEFAULT_DRIVER_MEMORY})`))
    .addOption(setting('--executor-memory <size>', 'spark.executor.memory: the heap of each executor, e.g. 4g'))
    .addOption(setting('--executor-cores <n>', 'spark.executor.cores: the cores of each executor'))
    .addOption(setting('--num-executors <n>', 'spark.executor.instances: how many executors to start (YARN, Kubernetes)'))
    .addOption(setting('--queue <name>', 'spark.yarn.queue: the YARN queue to submit to'))
    .addOption(setting('--name <name>', 'spark.app.name: the application\'s name in the Spark UI and the cluster manager (default: spark-sync)'))
    .addOption(setting('--jars <jars>', 'extra jars for the driver and executors, comma-separated; repeatable').argParser(collect).default([]));
}
