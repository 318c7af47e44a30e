import fs from 'node:fs';
import { parse as parseProperties } from 'dot-properties';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { SparkSyncError } from '../errors/spark-sync-error';

/**
 * Kafka connection settings from a `client.properties` file, as Kafka's own tools take them
 * (`--command-config`, `--producer.config`): `security.protocol`, `sasl.*`, `ssl.*`. The same
 * settings reach both clients: kafkajs in the driver, and Spark's Kafka producer and consumer.
 */
export interface KafkaClientSettings {
  /** Where the settings came from, for messages (never their values). */
  file?: string;
  /** Every property, for Spark's Kafka clients (`kafka.`-prefixed there). */
  properties: Record<string, string>;
  /** The same settings for kafkajs. */
  kafkajs: Pick<KafkaConfig, 'ssl' | 'sasl'>;
}

export const NO_KAFKA_SETTINGS: KafkaClientSettings = { properties: {}, kafkajs: {} };

const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
/** The producer's codecs (Spark ships lz4-java, snappy-java and zstd-jni for the last three). */
const COMPRESSION_TYPES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const MECHANISMS: Record<string, SASLOptions['mechanism']> = { PLAIN: 'plain', 'SCRAM-SHA-256': 'scram-sha-256', 'SCRAM-SHA-512': 'scram-sha-512' };

/**
 * Settings the driver owns or that would break exactly-once: bootstrap servers come from
 * --bootstrap-server, and the serializers, idempotence and acks are fixed by the job.
 */
const RESERVED = /^(bootstrap\.servers|key\.(de)?serializer|value\.(de)?serializer|enable\.idempotence|acks|group\.id|enable\.auto\.commit|auto\.offset\.reset)$/;

/** Reads and checks `--kafka-config`; the file's values are never put into an error message. */
export function loadKafkaClientConfig(file: string | undefined): KafkaClientSettings {
  if (file === undefined) return NO_KAFKA_SETTINGS;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw usage(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'pass the path of a Kafka client.properties file');
  }
  return kafkaClientSettings(parseProperties(text) as Record<string, string>, file);
}

/** Checks Kafka client properties and derives the kafkajs settings from them. */
export function kafkaClientSettings(properties: Record<string, string>, file?: string): KafkaClientSettings {
  for (const key of Object.keys(properties)) {
    if (RESERVED.test(key)) throw usage(file, `sets ${key}, which spark-sync controls`, key === 'bootstrap.servers' ? 'use --bootstrap-server' : `remove ${key}`);
    if (!/^(security\.protocol|sasl\.|ssl\.|client\.id$|request\.timeout\.ms$|delivery\.timeout\.ms$|max\.request\.size$|connections\.max\.idle\.ms$|reconnect\.backoff|retry\.backoff|socket\.|metadata\.max\.age\.ms$|client\.dns\.lookup$|compression\.type$|linger\.ms$|batch\.size$)/.test(key)) {
      throw usage(file, `has the unsupported property ${key}`, 'it may hold security.protocol, sasl.*, ssl.*, max.request.size, compression.type, linger.ms, batch.size and connection settings');
    }
  }
  const compression = properties['compression.type'];
  if (compression !== undefined && !COMPRESSION_TYPES.includes(compression)) {
    throw usage(file, 'has a compression.type Kafka does not know', `use one of ${COMPRESSION_TYPES.join(', ')}`);
  }
  const maxRequest = properties['max.request.size'];
  if (maxRequest !== undefined && !(/^\d+$/.test(maxRequest.trim()) && Number(maxRequest) >= 1024)) {
    throw usage(file, `has max.request.size=${maxRequest}`, 'give a whole number of bytes ≥ 1024 (the topic\'s max.message.bytes must allow as much)');
  }
  const protocol = (properties['security.protocol'] ?? 'PLAINTEXT').toUpperCase();
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw usage(file, `has security.protocol=${protocol}`, `use one of ${PROTOCOLS.join(', ')}`);
  }
  const kafkajs: KafkaClientSettings['kafkajs'] = {};
  if (protocol === 'SSL' || protocol === 'SASL_SSL') kafkajs.ssl = tlsOptions(properties, file);
  if (protocol.startsWith('SASL_')) kafkajs.sasl = saslOptions(properties, file);
  else if (Object.keys(properties).some((k) => k.startsWith('sasl.'))) {
    throw usage(file, `sets sasl.* but security.protocol is ${protocol}`, 'set security.protocol=SASL_SSL or SASL_PLAINTEXT');
  }
  return { file, properties: { ...properties, 'security.protocol': protocol }, kafkajs };
}

function saslOptions(p: Record<string, string>, file?: string): SASLOptions {
  const name = (p['sasl.mechanism'] ?? 'GSSAPI').toUpperCase();
  const mechanism = MECHANISMS[name];
  if (!mechanism) throw usage(file, `has sasl.mechanism=${name}`, `spark-sync supports ${Object.keys(MECHANISMS).join(', ')}`);
  const jaas = p['sasl.jaas.config'];
  if (!jaas) throw usage(file, 'has no sasl.jaas.config', 'add sasl.jaas.config=… LoginModule required username="…" password="…";');
  const username = /\busername\s*=\s*"([^"]*)"/.exec(jaas)?.[1];
  const password = /\bpassword\s*=\s*"([^"]*)"/.exec(jaas)?.[1];
  if (username === undefined || password === undefined) {
    throw usage(file, 'has a sasl.jaas.config without username="…" and password="…"', 'quote both values, as Kafka\'s documentation shows');
  }
  return { mechanism, username, password } as SASLOptions;
}

/** kafkajs takes PEM; a JKS or PKCS12 store is for Java only. */
function tlsOptions(p: Record<string, string>, file?: string): { ca?: string[]; cert?: string; key?: string; rejectUnauthorized: boolean } {
  const read = (key: string) => {
    try {
      return fs.readFileSync(p[key], 'utf8');
    } catch {
      throw usage(file, `names ${key}, which cannot be read`, 'check the path');
    }
  };
  for (const store of ['truststore', 'keystore']) {
    const type = p[`ssl.${store}.type`];
    if (p[`ssl.${store}.location`] && (type ?? 'JKS').toUpperCase() !== 'PEM') {
      throw usage(file, `has a ${type ?? 'JKS'} ssl.${store}.location`, `convert it to PEM and set ssl.${store}.type=PEM (the driver's Kafka client reads PEM only)`);
    }
  }
  const tls: { ca?: string[]; cert?: string; key?: string; rejectUnauthorized: boolean } = { rejectUnauthorized: true };
  if (p['ssl.truststore.location']) tls.ca = [read('ssl.truststore.location')];
  if (p['ssl.keystore.location']) {
    const pem = read('ssl.keystore.location');
    tls.cert = pem;
    tls.key = pem;
  }
  return tls;
}

/** `key=value` pairs for the Spark job's Kafka clients, bootstrap servers first. */
export function sparkKafkaConf(bootstrapServers: string[], settings: KafkaClientSettings = NO_KAFKA_SETTINGS): string[] {
  return [`bootstrap.servers=${bootstrapServers.join(',')}`, ...Object.entries(settings.properties).map(([k, v]) => `${k}=${v}`)];
}

function usage(file: string | undefined, what: string, hint: string): SparkSyncError {
  return new SparkSyncError('USAGE', `--kafka-config ${file ?? '(settings)'} ${what}`, { hint });
}
