import { EventEmitter } from 'node:events';
import { Table, tableFromArrays } from 'apache-arrow';
import { optionsSchema, parseOrThrow } from './config/options-schema';
import { partitionOfKey, partitionOfMessageKey } from './hash/hash-key';
import { CheckpointRecord, toCheckpointRecord } from './checkpoint/checkpoint-report';
import { CheckpointStore, FileCheckpoint, leaseStaleMs } from './checkpoint/checkpoint-store';
import { defaultCheckpointPath } from './config/paths';
import { hiveConf, parseSourceConfig } from './config/source-config';
import { SparkOptions, parseSparkOptions } from './config/spark-options';
import { CsvOptions, SourceFormat } from './config/source-format';
import { SubmitConfig, SubmitInput, parseSubmitConfig } from './config/submit-config';
import { VerifyInput, parseVerifyConfig } from './config/verify-config';
import { SparkSyncError } from './errors/spark-sync-error';
import { Logger, silentLogger } from './log/logger';
import { resolveSparkRuntime } from './spark/spark-runtime';
import { ArrowColumn, SparkJobs } from './spark/spark-jobs';
import { checkSource, planFiles } from './sync/source';
import { DryRunSummary, planSubmit } from './sync/dry-run';
import { SubmitSummary, runSubmit } from './sync/submit-run';
import { SyncEvent } from './sync/sync-events';
import { VerifySummary, runVerify } from './sync/verify-run';

/** How the Spark session of a SparkSync is started; fixed for the life of the process's JVM. */
export interface SparkSyncOptions {
  /** `local[*]` (default), `local[N]`, `spark://host:7077`, `yarn`. */
  master?: string;
  /** `key=value` Spark settings, as spark-submit's `--conf`. */
  conf?: string[];
  /** Driver JVM heap, e.g. `2g`; only takes effect if this process has not started its JVM yet. */
  driverMemory?: string;
  /** Extra jars for the driver's classpath and Spark's executors, as spark-submit's `--jars` (a list, or comma-separated). */
  jars?: string | string[];
  /** Spark's and Kafka's own INFO logs on stderr (they are quiet otherwise). */
  verbose?: boolean;
  /** Where spark-sync's own log events go (none by default). */
  logger?: Logger;
}

/** What {@link SparkSync.submit} resolves to: the CLI's summary plus its figures as Arrow tables. */
export interface SubmitResult extends SubmitSummary {
  /**
   * One row per file: `file`, `status`, `total_records`, `records_sent`, `batches`, `seconds`.
   */
  fileTable: Table;
  /**
   * One row per batch this run committed: `file`, `batch`, `first_position`, `end_position`,
   * `records`, `skipped`, `records_processed`, `total_records`, `seconds`.
   */
  batchTable: Table;
}

/** What {@link SparkSync.reset} forgets: one file (by its identity) or all, of one topic or every one. */
export interface ResetInput {
  file?: string;
  all?: boolean;
  topic?: string;
  checkpoint?: string;
  /**
   * Keep the files; only mark their anomalies (unexpected records in their offset ranges) as
   * seen by an operator, so a submit of them exits 0 again.
   */
  acknowledge?: boolean;
}

/** What {@link SparkSync.reset} forgot; the CLI prints it as its last stdout line. */
export interface ResetSummary {
  command: 'reset';
  ok: true;
  reset: Array<{ kafka_topic: string; file_name: string; status: string; records_processed: number }>;
  /** With `acknowledge`: the files whose anomalies were acknowledged (none are forgotten then). */
  acknowledged?: Array<{ kafka_topic: string; file_name: string; unexpected_records: number }>;
}

/** What {@link SparkSync.preview} reads. */
export interface PreviewInput {
  /** As `submit`'s: a file, a directory, an `hdfs://` URI or `hive:db.table`. */
  source: string;
  /** Rows to show (default 10). */
  rows?: number;
  /** With a directory or table: the file to show, by its identity (default: the first). */
  file?: string;
  format?: SourceFormat;
  csv?: Partial<CsvOptions>;
  where?: string;
  /** Adds a `partition` column: the Kafka partition of each record in a topic of this many partitions. */
  partitions?: number;
  /** As `submit`'s: `key` is then the natural-key identity. */
  keyFields?: string | string[];
  /** As `submit`'s: adds a `message_key` column, and `partition` is Kafka's default partitioner's. */
  messageKey?: string | string[];
}

type EventsOf<T extends { type: string }> = { [E in T as E['type']]: [E] } & { event: [T] };

/**
 * The spark-sync library: the same engine as the CLI, for notebooks and services.
 *
 * ```ts
 * const sync = await SparkSync.open();
 * sync.on('batch-committed', (e) => console.log(e.recordsProcessed, '/', e.totalRecords));
 * const result = await sync.submit({ source: 'events.parquet', topic: 'events', bootstrapServer: '127.0.0.1:9092' });
 * console.table(result.fileTable.toArray());
 * await sync.close();
 * ```
 *
 * Guarantees: every row lands in the topic exactly once across crashes and reruns, provided
 * spark-sync is the topic's only producer. Spark runs in this process's JVM, which is started on
 * first use and lives until the process exits (a JVM cannot be restarted in one process).
 * Events: `run-planned`, `file-started`, `batch-committed`, `file-recovered`, `file-completed`,
 * `file-skipped` (see {@link SyncEvent}), and `event` for all of them.
 */
export class SparkSync extends EventEmitter<EventsOf<SyncEvent>> {
  private jobs?: Promise<SparkJobs>;

  private constructor(private readonly options: SparkSyncOptions & SparkOptions) {
    super();
  }

  /** A SparkSync with these Spark settings; Spark itself starts on first use. */
  static async open(options: SparkSyncOptions = {}): Promise<SparkSync> {
    // The Spark settings are checked here, by the CLI's schema; --jars become absolute paths.
    return new SparkSync({ ...options, ...parseSparkOptions(options) });
  }

  /**
   * Syncs a source into a topic and resolves when every file is COMPLETED. Rejects with a
   * {@link SparkSyncError} whose `exitCode` follows the CLI's; the checkpoint is consistent
   * either way. `signal` stops the run: the running Spark job is cancelled, its tasks stop writing,
   * the lease is released, and the call rejects with INTERRUPTED (exit code 3).
   */
  async submit(input: SubmitInput, signal?: AbortSignal): Promise<SubmitResult> {
    const config = this.submitConfig(input);
    const batches: Array<Extract<SyncEvent, { type: 'batch-committed' }>> = [];
    const summary = await runSubmit(config, {
      log: this.options.logger ?? silentLogger,
      emit: (event) => {
        if (event.type === 'batch-committed') batches.push(event);
        this.emit(event.type, event as never);
        this.emit('event', event);
      },
      spark: () => this.spark(config.conf),
      signal,
    });
    const jobs = await this.spark();
    const fileTable = await jobs.arrowTable(
      columns(summary.files, {
        file: ['utf8', (f) => f.file],
        status: ['utf8', (f) => f.status],
        total_records: ['int64', (f) => f.totalRecords],
        records_sent: ['int64', (f) => f.recordsSent],
        duplicates: ['int64', (f) => f.duplicates],
        replayed: ['int64', (f) => f.replayed],
        batches: ['int64', (f) => f.batches],
        seconds: ['float64', (f) => f.seconds],
      }),
    );
    const batchTable = await jobs.arrowTable(
      columns(batches, {
        file: ['utf8', (b) => b.file],
        batch: ['int64', (b) => b.batchIndex],
        first_position: ['int64', (b) => b.firstPosition],
        end_position: ['int64', (b) => b.endPosition],
        records: ['int64', (b) => b.records],
        skipped: ['int64', (b) => b.skipped],
        records_processed: ['int64', (b) => b.recordsProcessed],
        total_records: ['int64', (b) => b.totalRecords],
        seconds: ['float64', (b) => b.seconds],
      }),
    );
    return { ...summary, fileTable, batchTable };
  }

  /**
   * What {@link submit} would do (`submit --dry-run`): each file's status, and the records and
   * batches it would send. Reads the checkpoint if there is one; writes nothing and does not
   * contact Kafka.
   */
  async dryRun(input: SubmitInput): Promise<DryRunSummary> {
    const config = this.submitConfig(input);
    return planSubmit(config, () => this.spark(config.conf));
  }

  /**
   * Forgets files' checkpoints (`spark-sync reset`), so the next submit resyncs them from the
   * start; their messages stay in Kafka. `confirm` sees the files first and may decline. Refused
   * while a live writer holds a topic's lease.
   */
  async reset(input: ResetInput, confirm: (files: FileCheckpoint[]) => Promise<boolean> = async () => true): Promise<ResetSummary> {
    if (!!input.file === !!input.all) throw new SparkSyncError('USAGE', 'reset needs exactly one of --file <name> or --all');
    const store = await CheckpointStore.open(input.checkpoint ?? defaultCheckpointPath(), { create: false, write: true });
    try {
      const candidates = (await store.listFiles(input.topic)).filter((f) => input.all || f.fileName === input.file);
      if (candidates.length === 0) {
        throw new SparkSyncError('USAGE', `no file${input.file ? ` named ${input.file}` : 's'}${input.topic ? ` of topic ${input.topic}` : ''} in ${store.file}`, { hint: 'see `spark-sync status`' });
      }
      if (input.acknowledge) {
        const acknowledged = await store.acknowledgeAnomalies({ topic: input.topic, fileName: input.file }, leaseStaleMs());
        this.options.logger?.info({ files: acknowledged.map((f) => `${f.topic}/${f.fileName}`) }, `acknowledged the anomalies of ${acknowledged.length} file(s)`);
        return { command: 'reset', ok: true, reset: [], acknowledged: acknowledged.map((f) => ({ kafka_topic: f.topic, file_name: f.fileName, unexpected_records: f.unexpectedRecords })) };
      }
      if (!(await confirm(candidates))) return { command: 'reset', ok: true, reset: [] };
      const removed = await store.resetFiles({ topic: input.topic, fileName: input.file }, leaseStaleMs());
      this.options.logger?.info({ files: removed.map((f) => `${f.topic}/${f.fileName}`) }, `forgot ${removed.length} file(s)`);
      return { command: 'reset', ok: true, reset: removed.map((f) => ({ kafka_topic: f.topic, file_name: f.fileName, status: f.status, records_processed: f.recordsProcessed })) };
    } finally {
      await store.close();
    }
  }

  /** Every file's checkpoint, in the patent's structure (what `spark-sync status --json` shows). */
  async status(checkpoint: string = defaultCheckpointPath()): Promise<CheckpointRecord[]> {
    const store = await CheckpointStore.open(checkpoint, { create: false });
    try {
      return (await store.listFiles()).map(toCheckpointRecord);
    } finally {
      await store.close();
    }
  }

  /**
   * {@link status} as an Arrow table, one row per file: `topic`, `file`, `status`,
   * `records_processed`, `total_records`, `partitions`, `batch_size`, `started`, `completed`.
   */
  async statusTable(checkpoint: string = defaultCheckpointPath()): Promise<Table> {
    const records = await this.status(checkpoint);
    return (await this.spark()).arrowTable(
      columns(records, {
        topic: ['utf8', (r) => r.kafka_topic],
        file: ['utf8', (r) => r.file_name],
        status: ['utf8', (r) => r.status],
        records_processed: ['int64', (r) => r.records_processed],
        total_records: ['int64', (r) => r.total_records],
        partitions: ['int64', (r) => r.partition_count],
        batch_size: ['int64', (r) => r.batch_size],
        started: ['utf8', (r) => r.start_timestamp],
        completed: ['utf8', (r) => r.completion_timestamp],
      }),
    );
  }

  /**
   * The first rows of a source file as spark-sync would send them, read by Spark: `position`,
   * `key` (the Kafka key), then every field as the text its key hashes. Writes nothing
   * and does not contact Kafka.
   */
  async preview(input: PreviewInput): Promise<Table> {
    // The CLI's schema checks the library's options too: the same messages, the same exit code.
    const { rows, partitions, keyFields, messageKey } = parseOrThrow(optionsSchema.pick({ rows: true, partitions: true, keyFields: true, messageKey: true }),
      { rows: input.rows, partitions: input.partitions, keyFields: input.keyFields, messageKey: input.messageKey }, 'preview');
    const config = parseSourceConfig({ source: input.source, format: input.format, where: input.where, csvHeader: input.csv?.header, csvDelimiter: input.csv?.delimiter });
    const jobs = await this.spark(config.hive ? [...hiveConf(process.env), ...(this.options.conf ?? [])] : undefined);
    const files = await planFiles(jobs, checkSource(config.source), config.format, config.csv, config.where);
    const file = input.file === undefined ? files[0] : files.find((f) => f.identity === input.file);
    if (!file) {
      throw new SparkSyncError('USAGE', input.file === undefined ? `${input.source} holds no data files` : `${input.source} has no file ${input.file}`, { hint: 'pass a file identity as `status` shows it' });
    }
    await jobs.describeJobs(`spark-sync: preview of ${file.identity}`);
    const table = await jobs.preview(file.uri, file.format, file.identity, rows, { keyFields: keyFields ?? null, messageKey: messageKey ?? null });
    if (partitions === undefined) return table;
    // The partition a submit sends each record to, as the Spark job computes it: the identity mod
    // P, or for a business message key Kafka's default partitioner (kafkajs's is Java-compatible).
    const partitionOf = messageKey ? (k: string) => partitionOfMessageKey(k, partitions) : (k: string) => partitionOfKey(k, partitions);
    const keys = table.getChild(messageKey ? 'message_key' : 'key')!.toArray() as string[];
    const withPartition = table.assign(tableFromArrays({ partition: Int32Array.from(keys, partitionOf) }));
    const names = table.schema.fields.map((f) => f.name);
    const keyColumns = messageKey ? 3 : 2;
    return withPartition.select([...names.slice(0, keyColumns), 'partition', ...names.slice(keyColumns)]);
  }

  /** Audits a topic against its sources: each file's missing, duplicated and foreign keys. */
  async verify(input: VerifyInput): Promise<VerifySummary> {
    const config = parseVerifyConfig(input);
    resolveSparkRuntime(); // a SPARK_HOME of another Spark line fails before Kafka or the checkpoint is touched
    return runVerify(config, { log: this.options.logger ?? silentLogger, spark: () => this.spark() });
  }

  /** Writes the deterministic sample table (demo, tests, benchmark) as one Parquet or ORC file. */
  async writeSample(path: string, options: { rows: number; format?: 'parquet' | 'orc'; rowGroupBytes?: number }): Promise<void> {
    await (await this.spark()).writeSample(path, options);
  }

  /** A validated submit with this SparkSync's Spark settings, checked before any I/O. */
  private submitConfig(input: SubmitInput): SubmitConfig {
    const config = parseSubmitConfig({ ...input, master: this.options.master, conf: this.options.conf, driverMemory: this.options.driverMemory, jars: this.options.jars });
    resolveSparkRuntime(); // a SPARK_HOME of another Spark line fails before Kafka or the checkpoint is touched
    return config;
  }

  /**
   * The Spark job API, started on first use with `conf`: this SparkSync's `--conf`, plus what the
   * first operation's source needs (a Hive source's metastore defaults, as the CLI's). A session
   * lives as long as the process's JVM, so a later operation runs with the first one's settings.
   */
  spark(conf: string[] = this.options.conf ?? []): Promise<SparkJobs> {
    this.jobs ??= SparkJobs.start({ master: this.options.master ?? 'local[*]', conf, driverMemory: this.options.driverMemory, jars: this.options.jars, verbose: this.options.verbose, log: this.options.logger });
    return this.jobs;
  }

  /** Stops the Spark session (the JVM stays until the process exits). */
  async close(): Promise<void> {
    if (this.jobs) await (await this.jobs).stop();
    this.jobs = undefined;
  }
}

/** Arrow columns from rows: per column name, its type and how to read it from a row. */
function columns<T>(rows: T[], spec: Record<string, [ArrowColumn['type'], (row: T) => ArrowColumn['values'][number]]>): ArrowColumn[] {
  return Object.entries(spec).map(([name, [type, value]]) => ({ name, type, values: rows.map(value) }));
}
