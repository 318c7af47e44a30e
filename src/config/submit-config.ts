import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SparkSyncError } from '../errors/spark-sync-error';
import { parseBootstrapServers } from '../kafka/kafka-admin';
import { KafkaClientSettings, kafkaClientSettings, loadKafkaClientConfig, sparkKafkaConf } from './kafka-client-config';
import type { VerifyConfig } from '../sync/verify-run';
import { defaultCheckpointPath, sparkSyncHome } from './paths';

export const FORMATS = ['parquet', 'orc', 'csv', 'json'] as const;
export type SourceFormat = (typeof FORMATS)[number];

/** How CSV files are read (Spark's `header` and `delimiter` options; Spark's defaults). */
export interface CsvOptions {
  header: boolean;
  delimiter: string;
}

/** A validated `submit`: everything checked before any file, broker or JVM is touched. */
export interface SubmitConfig {
  source: string;
  topic: string;
  bootstrapServers: string[];
  format?: SourceFormat;
  /** With a `hive:db.table` source: a predicate over partition columns selecting partitions. */
  where?: string;
  csv: CsvOptions;
  checkpoint: string;
  batchSize: number;
  createTopic: boolean;
  partitions?: number;
  master: string;
  conf: string[];
  driverMemory?: string;
  /** Extra jars for the driver's classpath and Spark's executors (`--jars`). */
  jars: string[];
  /** `--kafka-config`: security settings for the driver's Kafka client and Spark's. */
  kafkaClient: KafkaClientSettings;
  /** `key=value` Kafka client settings for Spark's producer and consumer. */
  kafkaConf: string[];
  /** How a batch cut off by a crash is recovered: `window` joins one batch, `full` the whole file. */
  recovery: RecoveryMode;
}

export type RecoveryMode = 'window' | 'full';

/**
 * What `submit` takes, from the CLI's flags or a library call: the option names are the flags'
 * in camelCase. Everything is validated at run time (numbers may come as strings, as flags do).
 */
export type SubmitInput = {
  /** A data file or a directory of them (local path, `file://` or `hdfs://` URI), or `hive:db.table`. */
  source: string;
  /** The Kafka topic to write. */
  topic: string;
  /** Kafka brokers, `host:port[,host:port…]`. */
  bootstrapServer: string;
  /** The format of every file; default: each file's extension. */
  format?: SourceFormat;
  /** With `hive:db.table`: a predicate over partition columns selecting the partitions. */
  where?: string;
  /** CSV files start with a header line. */
  csvHeader?: boolean;
  /** CSV field delimiter, one character (`\t` for a tab). */
  csvDelimiter?: string;
  /** The SQLite checkpoint; default `$SPARK_SYNC_HOME/checkpoint.db`. */
  checkpoint?: string;
  /** Rows per committed batch (default 1,000,000). */
  batchSize?: number | string;
  /** Create the topic if it does not exist. */
  createTopic?: boolean;
  /** Partitions of a topic made by `createTopic` (default 1). */
  partitions?: number | string;
  /** Spark master (CLI only; a library caller sets it in `SparkSync.open`). */
  master?: string;
  /** `key=value` Spark settings (CLI only, as `master`). */
  conf?: string[];
  /** Driver heap, e.g. `2g` (CLI only, as `master`). */
  driverMemory?: string;
  /** Extra jars (CLI only, as `master`). */
  jars?: string | string[];
  /** A Kafka `client.properties` file (`--kafka-config`): `security.protocol`, `sasl.*`, `ssl.*`. */
  kafkaConfig?: string;
  /** The same settings as an object, for library callers (takes precedence over kafkaConfig). */
  kafkaProperties?: Record<string, string>;
  /** After a crash: `window` (join the cut-off batch, default) or `full` (the whole file). */
  recovery?: RecoveryMode;
};

/** `hive:table` or `hive:db.table`, each part an identifier. */
export const HIVE_SOURCE = /^hive:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/i;

/**
 * Spark's Hive catalog, with an embedded Derby metastore and warehouse in $SPARK_SYNC_HOME unless
 * `--conf` says otherwise: production passes `--conf spark.hadoop.hive.metastore.uris=thrift://…`,
 * and Spark's defaults would put both in the working directory.
 */
function hiveConf(env: NodeJS.ProcessEnv): string[] {
  const home = sparkSyncHome(env);
  return [
    'spark.sql.catalogImplementation=hive',
    `spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName=${path.join(home, 'metastore_db')};create=true`,
    `spark.sql.warehouse.dir=${path.join(home, 'warehouse')}`,
  ];
}

/** Kafka's rule for topic names. */
export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

const positiveInt = (option: string, max: number) =>
  z.coerce
    .number({ invalid_type_error: `${option} must be a whole number` })
    .int(`${option} must be a whole number`)
    .min(1, `${option} must be at least 1`)
    .max(max, `${option} must be at most ${max}`);

/** `--jars a.jar,b.jar` (repeatable, as spark-submit's): each must be a readable .jar file. */
export const jarList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean))
  .superRefine((jars, ctx) => {
    for (const jar of jars) {
      if (!jar.endsWith('.jar')) ctx.addIssue({ code: 'custom', message: `--jars takes .jar files, not ${jar}` });
      else if (!fs.existsSync(jar)) ctx.addIssue({ code: 'custom', message: `--jars ${jar} does not exist` });
    }
  })
  .transform((jars) => jars.map((j) => path.resolve(j)))
  .default([]);

const schema = z.object({
  source: z.string({ required_error: '--source is required' }).min(1, '--source is required'),
  topic: z
    .string({ required_error: '--topic is required' })
    .regex(TOPIC_NAME, '--topic must be 1–249 characters of a-z, A-Z, 0-9, ".", "_" and "-"'),
  bootstrapServer: z.string({ required_error: '--bootstrap-server is required' }),
  format: z.enum(FORMATS, { errorMap: () => ({ message: `--format must be one of: ${FORMATS.join(', ')}` }) }).optional(),
  where: z.string().min(1, '--where needs a predicate').optional(),
  csvHeader: z.boolean().default(false),
  csvDelimiter: z
    .string()
    .transform((d) => (d === '\\t' ? '\t' : d))
    .refine((d) => [...d].length === 1 && d !== '\n' && d !== '\r' && d !== '"', '--csv-delimiter must be one character (\\t for a tab), not a quote or line break')
    .default(','),
  checkpoint: z.string().min(1).optional(),
  batchSize: positiveInt('--batch-size', 1_000_000_000).default(1_000_000),
  createTopic: z.boolean().default(false),
  partitions: positiveInt('--partitions', 10_000).optional(),
  master: z.string().regex(/^(local(\[(\*|\d+)(,\d+)?\])?|spark:\/\/.+|yarn|k8s:\/\/.+)$/, '--master must be local[*], local[N], spark://…, yarn or k8s://…').default('local[*]'),
  conf: z.array(z.string().regex(/^[^=\s]+=.*$/, '--conf takes key=value')).default([]),
  driverMemory: z.string().regex(/^\d+[kmgt]?$/i, '--driver-memory takes a JVM size like 2g or 512m').optional(),
  jars: jarList,
  kafkaConfig: z.string().min(1, '--kafka-config needs a file').optional(),
  kafkaProperties: z.record(z.string(), z.string()).optional(),
  recovery: z.enum(['window', 'full'], { errorMap: () => ({ message: '--recovery must be window or full' }) }).default('window'),
});

/** Parses and validates a submit request, naming the offending option in the error. */
export function parseSubmitConfig(input: SubmitInput, env: NodeJS.ProcessEnv = process.env): SubmitConfig {
  const c = parseOrThrow(schema, input, 'submit');
  if (c.partitions !== undefined && !c.createTopic) {
    throw new SparkSyncError('USAGE', '--partitions only applies with --create-topic', { hint: 'add --create-topic, or drop --partitions' });
  }
  const source = sourceConfig(c);
  const kafka = kafkaConnection(c);
  return {
    source: source.source,
    where: source.where,
    topic: c.topic,
    format: source.format,
    csv: source.csv,
    ...kafka,
    checkpoint: path.resolve(c.checkpoint ?? defaultCheckpointPath(env)),
    batchSize: c.batchSize,
    createTopic: c.createTopic,
    partitions: c.partitions,
    master: c.master,
    conf: source.hive ? [...hiveConf(env), ...c.conf] : c.conf,
    driverMemory: c.driverMemory,
    jars: c.jars,
    recovery: c.recovery,
  };
}

/** The source options alone, as `submit` takes them (the library's `preview`). */
export type SourceInput = Pick<SubmitInput, 'source' | 'format' | 'where' | 'csvHeader' | 'csvDelimiter'>;

/** Where and how to read: a validated `--source` with its format and reader options. */
export interface SourceConfig {
  source: string;
  format?: SourceFormat;
  where?: string;
  csv: CsvOptions;
  /** `hive:db.table`. */
  hive: boolean;
}

/** Parses and validates the source options alone, with the same checks and messages as submit's. */
export function parseSourceConfig(input: SourceInput): SourceConfig {
  return sourceConfig(parseOrThrow(sourceSchema, input, 'submit'));
}

const sourceSchema = schema.pick({ source: true, format: true, where: true, csvHeader: true, csvDelimiter: true });

function sourceConfig(c: z.infer<typeof sourceSchema>): SourceConfig {
  const hive = /^hive:/i.test(c.source);
  if (hive && !HIVE_SOURCE.test(c.source)) {
    throw new SparkSyncError('USAGE', `--source ${c.source} is not a table name: expected hive:db.table, each part letters, digits and _`, { hint: 'e.g. --source hive:sales.transactions' });
  }
  if (hive && c.format) {
    throw new SparkSyncError('USAGE', '--format does not apply to a Hive table: its format comes from the metastore', { hint: 'drop --format' });
  }
  if (!hive && c.where !== undefined) {
    throw new SparkSyncError('USAGE', '--where selects partitions of a Hive table (--source hive:db.table)', { hint: 'drop --where, or pass a Hive table' });
  }
  return { source: c.source, format: c.format, where: c.where, csv: { header: c.csvHeader, delimiter: c.csvDelimiter }, hive };
}

/** The brokers and security settings, for the driver's Kafka client and Spark's. */
function kafkaConnection(c: { bootstrapServer: string; kafkaConfig?: string; kafkaProperties?: Record<string, string> }): Pick<SubmitConfig, 'bootstrapServers' | 'kafkaClient' | 'kafkaConf'> {
  const bootstrapServers = parseBootstrapServers(c.bootstrapServer);
  const kafkaClient = c.kafkaProperties ? kafkaClientSettings(c.kafkaProperties) : loadKafkaClientConfig(c.kafkaConfig);
  return { bootstrapServers, kafkaClient, kafkaConf: sparkKafkaConf(bootstrapServers, kafkaClient) };
}

/** What `verify` takes: the topic, how to reach Kafka, and the checkpoint, as `submit`'s. */
export type VerifyInput = Pick<SubmitInput, 'topic' | 'bootstrapServer' | 'checkpoint' | 'kafkaConfig' | 'kafkaProperties'>;

/** A validated `verify`: checked before any broker or JVM is touched. */
export function parseVerifyConfig(input: VerifyInput, env: NodeJS.ProcessEnv = process.env): VerifyConfig {
  const c = parseOrThrow(verifySchema, input, 'verify');
  return { topic: c.topic, checkpoint: path.resolve(c.checkpoint ?? defaultCheckpointPath(env)), ...kafkaConnection(c) };
}

const verifySchema = schema.pick({ topic: true, bootstrapServer: true, checkpoint: true, kafkaConfig: true, kafkaProperties: true });

function parseOrThrow<T extends z.ZodTypeAny>(s: T, input: unknown, command: string): z.infer<T> {
  const parsed = s.safeParse(input);
  if (!parsed.success) {
    throw new SparkSyncError('USAGE', parsed.error.issues[0].message, { hint: `see \`spark-sync ${command} --help\`` });
  }
  return parsed.data;
}

/** `--master`, `--conf`, `--driver-memory` and `--jars` alone, for commands that start Spark but do not submit. */
export function parseSparkOptions(input: Pick<SubmitInput, 'master' | 'conf' | 'driverMemory' | 'jars'>): { master: string; conf: string[]; driverMemory?: string; jars: string[] } {
  return parseOrThrow(schema.pick({ master: true, conf: true, driverMemory: true, jars: true }), input, 'verify');
}
