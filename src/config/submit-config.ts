import path from 'node:path';
import { SparkSyncError } from '../errors/spark-sync-error';
import { KafkaConnection, kafkaConnection } from './kafka-connection';
import { optionsSchema, parseOrThrow } from './options-schema';
import { defaultCheckpointPath } from './paths';
import { SourceInput, hiveConf, sourceConfig } from './source-config';
import { CsvOptions, SourceFormat } from './source-format';

/** A validated `submit`: everything checked before any file, broker or JVM is touched. */
export interface SubmitConfig extends KafkaConnection {
  source: string;
  topic: string;
  format?: SourceFormat;
  /** With a `hive:db.table` source: a predicate over partition columns selecting partitions. */
  where?: string;
  csv: CsvOptions;
  checkpoint: string;
  /** The checkpoint topic holding the authoritative copy (DESIGN.md §5); null: the local file only. */
  checkpointTopic: string | null;
  batchSize: number;
  createTopic: boolean;
  partitions?: number;
  /** Replication factor of a topic made by `createTopic`; undefined: the broker's `default.replication.factor`. */
  replicationFactor?: number;
  master: string;
  conf: string[];
  driverMemory?: string;
  /** Extra jars for the driver's classpath and Spark's executors (`--jars`). */
  jars: string[];
  /** How a batch cut off by a crash is recovered: `window` joins one batch, `full` the whole file. */
  recovery: RecoveryMode;
  /** Where rows Kafka refuses as too large go; without it such a row stops the run (exit 2). */
  deadLetterTopic?: string;
  /** Every record carries `spark-sync.file` and `spark-sync.position` (`--lineage-headers`). */
  lineageHeaders: boolean;
  /** How records are keyed (DESIGN.md §3). */
  keys: KeyModeConfig;
  /** Where the topic's natural-key identity index lives (a folder URI); undefined: beside the local checkpoint. */
  indexLocation?: string;
}

/** The identity and the Kafka message key of a sync; see docs/keys.md. */
export interface KeyModeConfig {
  /** Natural-key identity: these columns only (`--key-fields`); null: positional identity. */
  keyFields: string[] | null;
  /** Business message key: these columns (`--message-key`); null: the identity is the key. */
  messageKey: string[] | null;
}

export type RecoveryMode = 'window' | 'full';

/**
 * What `SparkSync.submit` takes: the option names are the CLI's flags in camelCase. Everything is
 * validated at run time (numbers may come as strings, as flags do). Spark's settings (master,
 * conf, driver memory, jars) belong to `SparkSync.open`, which starts the one Spark session.
 */
export type SubmitInput = SourceInput & {
  /** The Kafka topic to write. */
  topic: string;
  /** Kafka brokers, `host:port[,host:port…]`. */
  bootstrapServer: string;
  /** The SQLite checkpoint; default `$SPARK_SYNC_HOME/checkpoint.db`. */
  checkpoint?: string;
  /**
   * The compacted topic that holds the checkpoint's authoritative copy, so a run on any machine
   * resumes where the last one stopped (default `spark-sync-checkpoints`, created on first use);
   * `none` keeps the checkpoint in the local file only: exactly once then holds only while every
   * run of the topic uses that file.
   */
  checkpointTopic?: string;
  /** Rows per committed batch (default 1,000,000). */
  batchSize?: number | string;
  /** Create the topic if it does not exist. */
  createTopic?: boolean;
  /** Partitions of a topic made by `createTopic` (default 1). */
  partitions?: number | string;
  /**
   * Replication factor of a topic made by `createTopic` (default: the broker's
   * `default.replication.factor`). A deployment-wide setting: ignored when the topic exists.
   */
  replicationFactor?: number | string;
  /** A Kafka `client.properties` file (`--kafka-config`): `security.protocol`, `sasl.*`, `ssl.*`. */
  kafkaConfig?: string;
  /** Kafka client settings as an object, merged over kafkaConfig's properties: a key here wins (the CLI's -X). */
  kafkaProperties?: Record<string, string>;
  /** After a crash: `window` (join the cut-off batch, default) or `full` (the whole file). */
  recovery?: RecoveryMode;
  /**
   * A topic for rows Kafka refuses as too large (`--dead-letter-topic`), with headers naming the
   * file, position, error and original size; created with `createTopic` if missing.
   */
  deadLetterTopic?: string;
  /**
   * Add the headers `spark-sync.file` (the file identity) and `spark-sync.position` (the row's
   * position, decimal text) to every record, for consumers that trace a record to its row
   * (`--lineage-headers`). Off by default: spark-sync itself identifies records by their key.
   */
  lineageHeaders?: boolean;
  /**
   * Natural-key identity (`--key-fields`): a record is these columns' values, so duplicates in a
   * file and rows the topic already has (from any file or run) are not sent again.
   */
  keyFields?: string | string[];
  /**
   * Business message key (`--message-key`): the Kafka key is this column's text (several: a JSON
   * object of their texts) and the partition Kafka's default partitioner's; the identity travels
   * in the header `spark-sync.id`.
   */
  messageKey?: string | string[];
  /**
   * Natural-key mode: the folder (any Hadoop file system URI: `hdfs://…`, `file://…`) under which
   * each topic's identity index lives, where every executor and every later run can read it.
   * Default: beside the local checkpoint, which suits local mode; a cluster without a shared disk
   * needs a shared location. A run on a new machine rebuilds what the index lacks from Kafka.
   */
  indexLocation?: string;
};

/** The settings of `SparkSync.open`, which a submit of the CLI carries too. */
export const SPARK_SESSION_KEYS = ['master', 'conf', 'driverMemory', 'jars'] as const;

/** A submit with the Spark session's settings: what the CLI's flags hold and what is validated. */
export type SubmitSettings = SubmitInput & {
  /** Spark master (the CLI's; a library caller sets it in `SparkSync.open`). */
  master?: string;
  /** `key=value` Spark settings (as `master`). */
  conf?: string[];
  /** Driver heap, e.g. `2g` (as `master`). */
  driverMemory?: string;
  /** Extra jars (as `master`). */
  jars?: string | string[];
};

/** Parses and validates a submit request, naming the offending option in the error. */
export function parseSubmitConfig(input: SubmitSettings, env: NodeJS.ProcessEnv = process.env): SubmitConfig {
  const c = parseOrThrow(optionsSchema, input, 'submit');
  if (c.deadLetterTopic !== undefined && c.deadLetterTopic === c.topic) {
    throw new SparkSyncError('USAGE', '--dead-letter-topic must differ from --topic', { hint: 'name a topic of its own, e.g. <topic>.dlq' });
  }
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
    checkpointTopic: c.checkpointTopic,
    batchSize: c.batchSize,
    createTopic: c.createTopic,
    partitions: c.partitions,
    replicationFactor: c.replicationFactor,
    master: c.master,
    conf: source.hive ? [...hiveConf(env), ...c.conf] : c.conf,
    driverMemory: c.driverMemory,
    jars: c.jars,
    recovery: c.recovery,
    deadLetterTopic: c.deadLetterTopic,
    lineageHeaders: c.lineageHeaders,
    keys: { keyFields: c.keyFields ?? null, messageKey: c.messageKey ?? null },
    indexLocation: c.indexLocation,
  };
}
