import path from 'node:path';
import { z } from 'zod';
import { SparkSyncError } from '../errors/spark-sync-error';
import { optionsSchema, parseOrThrow } from './options-schema';
import { sparkSyncHome } from './paths';
import { CsvOptions, SourceFormat } from './source-format';

/** `hive:table` or `hive:db.table`, each part an identifier. */
export const HIVE_SOURCE = /^hive:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/i;

/**
 * Spark's Hive catalog, with an embedded Derby metastore and warehouse in $SPARK_SYNC_HOME unless
 * `--conf` says otherwise: production passes `--conf spark.hadoop.hive.metastore.uris=thrift://…`,
 * and Spark's defaults would put both in the working directory.
 */
export function hiveConf(env: NodeJS.ProcessEnv): string[] {
  const home = sparkSyncHome(env);
  return [
    'spark.sql.catalogImplementation=hive',
    `spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName=${path.join(home, 'metastore_db')};create=true`,
    `spark.sql.warehouse.dir=${path.join(home, 'warehouse')}`,
  ];
}

/** The source options alone, as `submit` takes them (and the library's `preview`). */
export interface SourceInput {
  /** A data file or a directory of them (local path, `file://` or `hdfs://` URI), or `hive:db.table`. */
  source: string;
  /** The format of every file; default: each file's extension. */
  format?: SourceFormat;
  /** With `hive:db.table`: a predicate over partition columns selecting the partitions. */
  where?: string;
  /** CSV files start with a header line. */
  csvHeader?: boolean;
  /** CSV field delimiter, one character (`\t` for a tab). */
  csvDelimiter?: string;
}

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

const sourceSchema = optionsSchema.pick({ source: true, format: true, where: true, csvHeader: true, csvDelimiter: true });

export function sourceConfig(c: z.infer<typeof sourceSchema>): SourceConfig {
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
