import fs from 'node:fs';
import { parse as parseProperties } from 'dot-properties';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { SparkSyncError } from '../errors/spark-sync-error';

/**
 * Kafka connection settings from a `client.properties` file, as Kafka's own tools take them
 * (`--command-config`, `--producer.config`): `security.protocol`, `sasl.*`, `ssl.*`, with `-X`
 * properties (kcat's) merged over it. The same settings reach both clients: kafkajs in the
 * driver, and Spark's Kafka producer and consumer.
 */
export interface KafkaClientSettings {
  /** The `--kafka-config` file, if any: for messages (never its values) and for later runs to reconnect. */
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

/**
 * Reads and checks `--kafka-config`, with `overrides` (`-X`, a library's `kafkaProperties`)
 * merged over the file's properties: an override wins. No property's value is ever put into an
 * error message: they hold passwords.
 */
export function loadKafkaClientConfig(file: string | undefined, overrides: Record<string, string> = {}): KafkaClientSettings {
  if (file === undefined && Object.keys(overrides).length === 0) return NO_KAFKA_SETTINGS;
  let fromFile: Record<string, string> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new SparkSyncError('USAGE', `--kafka-config ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { hint: 'pass the path of a Kafka client.properties file' });
    }
    fromFile = parseProperties(text) as Record<string, string>;
  }
  return kafkaClientSettings({ ...fromFile, ...overrides }, file, new Set(Object.keys(overrides)));
}

/**
 * `-X key=value` flags (kcat's), a later one winning, as an object of properties. Each key is
 * checked here, before anything runs; the values once merged with `--kafka-config`'s.
 */
export function kafkaPropertyFlags(pairs: readonly string[]): Record<string, string> {
  const properties: Record<string, string> = {};
  pairs.forEach((pair, i) => {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, Math.max(eq, 0));
    // Without a key there is nothing safe to quote: the whole argument may be a password.
    if (!/^[A-Za-z0-9._-]+$/.test(key)) {
      throw new SparkSyncError('USAGE', `-X takes key=value, and the ${ordinal(i + 1)} -X is not one`, { hint: 'e.g. -X security.protocol=SASL_SSL' });
    }
    checkKey(key, () => '-X');
    properties[key] = pair.slice(eq + 1);
  });
  return properties;
}

/**
 * Checks Kafka client properties and derives the kafkajs settings from them. `overridden` names
 * the keys that came from `-X` (or a library's `kafkaProperties`) rather than `file`, so an
 * error names where the offending property was set.
 */
export function kafkaClientSettings(properties: Record<string, string>, file?: string, overridden: ReadonlySet<string> = new Set()): KafkaClientSettings {
  const where = (key: string) => (overridden.has(key) ? '-X' : `--kafka-config ${file ?? '(settings)'}`);
  for (const key of Object.keys(properties)) checkKey(key, where);
  const compression = properties['compression.type'];
  if (compression !== undefined && !COMPRESSION_TYPES.includes(compression)) {
    throw usage(where('compression.type'), 'has a compression.type Kafka does not know', `use one of ${COMPRESSION_TYPES.join(', ')}`);
  }
  const maxRequest = properties['max.request.size'];
  if (maxRequest !== undefined && !(/^\d+$/.test(maxRequest.trim()) && Number(maxRequest) >= 1024)) {
    throw usage(where('max.request.size'), 'has a max.request.size that is not a whole number ≥ 1024', 'give a whole number of bytes ≥ 1024 (the topic\'s max.message.bytes must allow as much)');
  }
  const protocol = (properties['security.protocol'] ?? 'PLAINTEXT').toUpperCase();
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw usage(where('security.protocol'), 'has a security.protocol Kafka does not know', `use one of ${PROTOCOLS.join(', ')}`);
  }
  const kafkajs: KafkaClientSettings['kafkajs'] = {};
  if (protocol === 'SSL' || protocol === 'SASL_SSL') kafkajs.ssl = tlsOptions(properties, where);
  if (protocol.startsWith('SASL_')) kafkajs.sasl = saslOptions(properties, where);
  else {
    const sasl = Object.keys(properties).find((k) => k.startsWith('sasl.'));
    // The protocol is one of PROTOCOLS here, never free text: safe to name.
    if (sasl) throw usage(where(sasl), `sets sasl.* but security.protocol is ${protocol}`, 'set security.protocol=SASL_SSL or SASL_PLAINTEXT');
  }
  return { file, properties: { ...properties, 'security.protocol': protocol }, kafkajs };
}

/** A key spark-sync refuses: one it controls, or one it does not pass on. */
function checkKey(key: string, where: (key: string) => string): void {
  if (RESERVED.test(key)) throw usage(where(key), `sets ${key}, which spark-sync controls`, key === 'bootstrap.servers' ? 'use --bootstrap-server' : `remove ${key}`);
  if (!/^(security\.protocol$|sasl\.|ssl\.|client\.id$|request\.timeout\.ms$|delivery\.timeout\.ms$|max\.request\.size$|connections\.max\.idle\.ms$|reconnect\.backoff|retry\.backoff|socket\.|metadata\.max\.age\.ms$|client\.dns\.lookup$|compression\.type$|linger\.ms$|batch\.size$)/.test(key)) {
    throw usage(where(key), `has the unsupported property ${key}`, 'it may hold security.protocol, sasl.*, ssl.*, max.request.size, compression.type, linger.ms, batch.size and connection settings');
  }
}

function ordinal(n: number): string {
  return `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;
}

function saslOptions(p: Record<string, string>, where: (key: string) => string): SASLOptions {
  if (p['sasl.mechanism'] === undefined) {
    throw usage(where('security.protocol'), 'has no sasl.mechanism, which means GSSAPI (Kerberos)', `set sasl.mechanism to one of ${Object.keys(MECHANISMS).join(', ')}`);
  }
  const mechanism = MECHANISMS[p['sasl.mechanism'].toUpperCase()];
  if (!mechanism) throw usage(where('sasl.mechanism'), 'has a sasl.mechanism spark-sync does not support', `spark-sync supports ${Object.keys(MECHANISMS).join(', ')}`);
  const jaas = p['sasl.jaas.config'];
  if (!jaas) throw usage(where('sasl.mechanism'), 'has no sasl.jaas.config', 'add sasl.jaas.config=… LoginModule required username="…" password="…";');
  const username = /\busername\s*=\s*"([^"]*)"/.exec(jaas)?.[1];
  const password = /\bpassword\s*=\s*"([^"]*)"/.exec(jaas)?.[1];
  if (username === undefined || password === undefined) {
    throw usage(where('sasl.jaas.config'), 'has a sasl.jaas.config without username="…" and password="…"', 'quote both values, as Kafka\'s documentation shows');
  }
  return { mechanism, username, password } as SASLOptions;
}

/** kafkajs takes PEM; a JKS or PKCS12 store is for Java only. */
function tlsOptions(p: Record<string, string>, where: (key: string) => string): { ca?: string[]; cert?: string; key?: string; rejectUnauthorized: boolean } {
  const read = (key: string) => {
    try {
      return fs.readFileSync(p[key], 'utf8');
    } catch {
      throw usage(where(key), `names ${key}, which cannot be read`, 'check the path');
    }
  };
  for (const store of ['truststore', 'keystore']) {
    const type = p[`ssl.${store}.type`];
    if (p[`ssl.${store}.location`] && (type ?? 'JKS').toUpperCase() !== 'PEM') {
      throw usage(where(`ssl.${store}.location`), `has an ssl.${store}.location that is not PEM (ssl.${store}.type is ${type === undefined ? 'unset, so JKS' : 'not PEM'})`, `convert it to PEM and set ssl.${store}.type=PEM (the driver's Kafka client reads PEM only, not JKS or PKCS12)`);
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

/** `where` is `--kafka-config <file>` or `-X`: the option that set the offending property. */
function usage(where: string, what: string, hint: string): SparkSyncError {
  return new SparkSyncError('USAGE', `${where} ${what}`, { hint });
}
