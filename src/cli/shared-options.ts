import { Command, Option } from 'commander';
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
  return cmd.addOption(setting('--checkpoint <file>', 'checkpoint file (default: $SPARK_SYNC_HOME/checkpoint.db, ~/.spark-sync/ when unset)'));
}

/** How to reach Kafka, as Kafka's own tools take it. */
export function addKafkaOptions(cmd: Command): Command {
  return cmd
    .addOption(setting('--bootstrap-server <host:port>', 'Kafka brokers, comma-separated (required)'))
    .addOption(setting('--kafka-config <file>', 'Kafka client.properties: security.protocol, sasl.*, ssl.* (for the driver and Spark)'));
}

/** How Spark runs, as spark-submit takes it. */
export function addSparkOptions(cmd: Command): Command {
  return cmd
    .addOption(setting('--master <url>', 'Spark master: local[*], local[N], spark://host:port, yarn', 'local[*]'))
    .option('--conf <key=value>', 'a Spark setting; repeatable', collect, [])
    .addOption(setting('--driver-memory <size>', 'heap of the driver JVM, e.g. 2g', DEFAULT_DRIVER_MEMORY))
    .addOption(setting('--jars <jars>', 'extra jars for the driver and executors, comma-separated; repeatable').argParser(collect).default([]));
}
