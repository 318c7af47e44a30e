import { SparkSyncError } from '../errors/spark-sync-error';
import { KafkaClientSettings, loadKafkaClientConfig, sparkKafkaConf } from './kafka-client-config';

/** Where Kafka is and how to log in: for the driver's client (kafkajs) and Spark's. */
export interface KafkaConnection {
  bootstrapServers: string[];
  /** `--kafka-config` with `-X` merged over it: security settings for the driver's Kafka client and Spark's. */
  kafkaClient: KafkaClientSettings;
  /** `key=value` Kafka client settings for Spark's producer and consumer. */
  kafkaConf: string[];
}

/** Parses `host:port[,host:port…]`, naming the option in the error. */
export function parseBootstrapServers(value: string, option = '--bootstrap-server'): string[] {
  const servers = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (servers.length === 0 || servers.some((s) => !/^[^\s:]+:\d{1,5}$/.test(s))) {
    throw new SparkSyncError('USAGE', `${option} '${value}' is not a list of host:port`, { hint: 'e.g. --bootstrap-server 127.0.0.1:9092' });
  }
  return servers;
}

/**
 * The brokers and security settings, for the driver's Kafka client and Spark's: the
 * `kafkaConfig` file's properties with `kafkaProperties` (the CLI's `-X`) merged over them, a
 * key of `kafkaProperties` winning, checked together.
 */
export function kafkaConnection(c: { bootstrapServer: string; kafkaConfig?: string; kafkaProperties?: Record<string, string> }): KafkaConnection {
  const bootstrapServers = parseBootstrapServers(c.bootstrapServer);
  const kafkaClient = loadKafkaClientConfig(c.kafkaConfig, c.kafkaProperties);
  return { bootstrapServers, kafkaClient, kafkaConf: sparkKafkaConf(bootstrapServers, kafkaClient) };
}
