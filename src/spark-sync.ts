import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { Table, tableFromArrays } from 'apache-arrow';
import { optionsSchema, parseOrThrow } from './config/options-schema';
import { partitionOfKey, partitionOfMessageKey } from './hash/hash-key';
import { FileState, toFileState } from './checkpoint/checkpoint-report';
import { CheckpointStore, CheckpointTopic, CheckpointView, DEFAULT_CHECKPOINT_TOPIC, FileCheckpoint, leaseStaleMs, readTopicState } from './checkpoint/checkpoint-store';
import { kafkaConnection } from './config/kafka-connection';
import { KafkaAdmin } from './kafka/kafka-admin';
import { defaultCheckpointPath } from './config/paths';
import { hiveConf, parseSourceConfig } from './config/source-config';
import { SparkOptions, SparkOptionsInput, parseSparkOptions } from './config/spark-options';
import { CsvOptions, SourceFormat } from './config/source-format';
import { SPARK_SESSION_KEYS, SubmitConfig, SubmitInput, parseSubmitConfig } from './config/submit-config';
import { VerifyInput, parseVerifyConfig } from './config/verify-config';
import { SparkSyncError } from './errors/spark-sync-error';
import { Logger, silentLogger } from './log/logger';
import { resolveSparkRuntime } from './spark/spark-runtime';
import { ArrowColumn, CANCEL_WAIT_MS, SparkJobs } from './spark/spark-jobs';
import { ensureJvm } from './spark/jvm';
import { checkSource, planFiles } from './sync/source';
import { DryRunSummary, planSubmit } from './sync/dry-run';
import { SubmitSummary, runSubmit } from './sync/submit-run';
import { SyncEvent } from './sync/sync-events';
import { VerifySummary, runVerify } from './sync/verify-run';

/**
 * How the Spark session of a SparkSync is started; fixed for the life of the process's JVM. The
 * Spark settings are spark-submit's (master, conf, driverMemory, jars, executorMemory,
 * executorCores, numExecutors, queue, name, propertiesFile), checked as the CLI checks its flags.
 */
export interface SparkSyncOptions extends SparkOptionsInput {
  /** Spark's and Kafka's own INFO logs on stderr (they are quiet otherwise). */
  verbose?: boolean;
  /** Where spark-sync's own log events go (none by default). */
  logger?: Logger;
}

/** What {@link SparkSync.submit} resolves to: the CLI's summary plus its figures as Arrow tables. */
export interface SubmitResult extends SubmitSummary {
  /**
   * One row per file: `file`, `status`, `totalRecords`, `recordsSent`, `duplicates`, `replayed`,
   * `batches`, `seconds`.
   */
  fileTable: Table;
  /**
   * One row per batch this run committed: `file`, `batch`, `firstPosition`, `endPosition`,
   * `records`, `skipped`, `recordsProcessed`, `totalRecords`, `seconds`.
   */
  batchTable: Table;
}

/** What a long operation ({@link SparkSync.submit}, `verify`, `preview`, `dryRun`) takes besides its input. */
export interface OperationOptions {
  /**
   * Stops the operation: its Spark job is cancelled and its tasks stop writing (a submit also
   * releases its lease, the checkpoint consistent), and the call rejects with an error named
   * `AbortError` (a SparkSyncError of code INTERRUPTED, exit code 3).
   */
  signal?: AbortSignal;
}

/**
 * What {@link SparkSync.reset} forgets: one file (by its identity) or all, of one topic or every
 * one. With the checkpoint topic (the default) the change is made there too, so `bootstrapServer`
 * and `topic` are needed; `checkpointTopic: 'none'` changes the local file alone.
 */
export interface ResetInput {
  file?: string;
  all?: boolean;
  topic?: string;
  checkpoint?: string;
  /** The checkpoint topic (default `spark-sync-checkpoints`); `none`: the local file only. */
  checkpointTopic?: string;
  bootstrapServer?: string;
  kafkaConfig?: string;
  kafkaProperties?: Record<string, string>;
  /**
   * Keep the files; only mark their anomalies (unexpected records in their offset ranges) as
   * seen by an operator, so a submit of them exits 0 again.
   */
  acknowledge?: boolean;
}

/** What {@link SparkSync.reset} forgot or acknowledged. */
export interface ResetSummary {
  command: 'reset';
  ok: true;
  /** The files forgotten, as they stood. */
  reset: Array<{ topic: string; file: string; status: string; recordsProcessed: number }>;
  /** With `acknowledge`: the files whose anomalies were acknowledged (none are forgotten then). */
  acknowledged?: Array<{ topic: string; file: string; unexpectedRecords: number }>;
}

/** Where {@link SparkSync.status} reads: a local file, or the checkpoint topic of a Kafka cluster. */
export interface StatusInput {
  /** The local file (default `$SPARK_SYNC_HOME/checkpoint.db`), read when no `bootstrapServer` is given. */
  checkpoint?: string;
  bootstrapServer?: string;
  kafkaConfig?: string;
  kafkaProperties?: Record<string, string>;
  /** The target topic whose state to read from the checkpoint topic. */
  topic?: string;
  /** Default `spark-sync-checkpoints`; `none` reads the local file. */
  checkpointTopic?: string;
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
  /** Adds a `partition` column: the Kafka partition of each record in a topic of this many partitions (the CLI's --topic-partitions). */
  topicPartitions?: number;
  /** As `submit`'s: `key` is then the natural-key identity. */
  keyFields?: string | string[];
  /** As `submit`'s: adds a `messageKey` column, and `partition` is Kafka's default partitioner's. */
  messageKey?: string | string[];
}

/** The events a SparkSync emits: each SyncEvent by its type, and `event` for all of them. */
export type SparkSyncEvents = { [E in SyncEvent as E['type']]: [E] } & { event: [SyncEvent] };

/**
 * The spark-sync library: the same engine as the CLI, for notebooks and services.
 *
 * ```ts
 * await using sync = await SparkSync.open();
 * sync.on('batch-committed', (e) => console.log(e.recordsProcessed, '/', e.totalRecords));
 * const result = await sync.submit({ source: 'events.parquet', topic: 'events', bootstrapServer: '127.0.0.1:9092' }, { signal });
 * console.table(result.fileTable.toArray());
 * ```
 *
 * Guarantees: every row lands in the topic exactly once across crashes and reruns, provided
 * spark-sync is the topic's only producer. Spark runs in this process's JVM, which is started on
 * first use and lives until the process exits (a JVM cannot be restarted in one process), so a
 * process has one Spark configuration: a second `open()` with other settings is refused.
 * Events: `run-planned`, `file-started`, `batch-committed`, `file-recovered`, `file-completed`,
 * `file-skipped` (see {@link SyncEvent}), and `event` for all of them.
 */
export class SparkSync extends EventEmitter<SparkSyncEvents> {
  private jobs?: Promise<SparkJobs>;

  private constructor(private readonly options: SparkSyncOptions & SparkOptions) {
    super();
  }

  /**
   * A SparkSync with these Spark settings; Spark itself starts on first use. The settings are
   * checked as the CLI checks its flags; settings other than those of an earlier `open()` in this
   * process are refused (USAGE), since its one JVM and Spark session cannot take them.
   */
  static async open(options: SparkSyncOptions = {}): Promise<SparkSync> {
    // The Spark settings are checked here, by the CLI's schema; --jars become absolute paths.
    const spark = parseSparkOptions(options);
    const key = JSON.stringify(spark);
    if (openedWith !== undefined && openedWith !== key) {
      throw new SparkSyncError('USAGE', `this process already opened spark-sync with other Spark settings (${describeSpark(JSON.parse(openedWith) as SparkOptions)}); now asked for ${describeSpark(spark)}`, {
        hint: 'a process has one JVM and one Spark session: open() again with the same settings, or run the other configuration in a process of its own',
      });
    }
    openedWith = key;
    return new SparkSync({ ...options, ...spark });
  }

  /**
   * Syncs a source into a topic and resolves when every file is COMPLETED. Rejects with a
   * {@link SparkSyncError} whose `exitCode` follows the CLI's; the checkpoint is consistent
   * either way. `signal` stops the run: the running Spark job is cancelled, its tasks stop writing,
   * the lease is released, and the call rejects with INTERRUPTED (exit code 3).
   */
  async submit(input: SubmitInput, options: OperationOptions = {}): Promise<SubmitResult> {
    const { signal } = options;
    if (signal?.aborted) throw aborted('submit');
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
      jvm: () => this.jvm(),
      signal,
    }).catch((err: unknown) => {
      throw signal?.aborted && err instanceof SparkSyncError && err.code === 'INTERRUPTED' ? asAbortError(err) : err;
    });
    const jobs = await this.spark();
    const fileTable = await jobs.arrowTable(
      columns(summary.files, {
        file: ['utf8', (f) => f.file],
        status: ['utf8', (f) => f.status],
        totalRecords: ['int64', (f) => f.totalRecords],
        recordsSent: ['int64', (f) => f.recordsSent],
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
        firstPosition: ['int64', (b) => b.firstPosition],
        endPosition: ['int64', (b) => b.endPosition],
        records: ['int64', (b) => b.records],
        skipped: ['int64', (b) => b.skipped],
        recordsProcessed: ['int64', (b) => b.recordsProcessed],
        totalRecords: ['int64', (b) => b.totalRecords],
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
  async dryRun(input: SubmitInput, options: OperationOptions = {}): Promise<DryRunSummary> {
    const config = this.submitConfig(input);
    return this.abortable('dryRun', options.signal, () => planSubmit(config, () => this.spark(config.conf)));
  }

  /**
   * Forgets files' checkpoints (`spark-sync reset`), so the next submit resyncs them from the
   * start; their messages stay in Kafka. `confirm` sees the files first and may decline. Refused
   * while a live writer holds a topic's lease. A topic whose checkpoint lives in a checkpoint
   * topic is changed there too (its lease moves on, fencing a paused holder): reached with
   * `bootstrapServer`, or as the topic's last submit on this machine reached it.
   */
  async reset(input: ResetInput, confirm: (files: FileState[]) => Promise<boolean> = async () => true): Promise<ResetSummary> {
    if (!!input.file === !!input.all) throw new SparkSyncError('USAGE', 'reset needs exactly one of --file <name> or --all');
    const localOnly = parseOrThrow(optionsSchema.shape.checkpointTopic, input.checkpointTopic, 'reset') === null;
    const file = input.checkpoint ?? defaultCheckpointPath();
    // A new machine may reset a topic it never synced: its state is all in the checkpoint topic.
    const fresh = !localOnly && input.bootstrapServer !== undefined && input.topic !== undefined && !fs.existsSync(file);
    const store = await CheckpointStore.open(file, { create: fresh, write: true });
    try {
      const topics = input.topic !== undefined ? [input.topic] : [...new Set((await store.listFiles()).map((f) => f.topic))];
      const logs = new Map<string, CheckpointTopic>();
      for (const topic of localOnly ? [] : topics) {
        const log = await this.checkpointTopicFor(store, topic, input);
        if (!log) continue;
        logs.set(topic, log);
        // The store closes it, whatever happens next.
        store.useCheckpointTopic(log);
      }
      // Where a checkpoint topic holds a topic's state, that is what there is to reset.
      const known: FileCheckpoint[] = [];
      for (const topic of topics) {
        const log = logs.get(topic);
        known.push(...(log ? [...(await log.read()).files.values()].flatMap((r) => (r ? [r.file] : [])) : await store.listFiles(topic)));
      }
      const candidates = known.filter((f) => input.all || f.fileName === input.file);
      if (candidates.length === 0) {
        throw new SparkSyncError('USAGE', `no file${input.file ? ` named ${input.file}` : 's'}${input.topic ? ` of topic ${input.topic}` : ''} in ${store.file}${logs.size ? ' or its checkpoint topic' : ''}`, { hint: 'see `spark-sync status`' });
      }
      if (!input.acknowledge && !(await confirm(candidates.map(toFileState)))) return { command: 'reset', ok: true, reset: [] };
      const changed: FileCheckpoint[] = [];
      for (const topic of new Set(candidates.map((f) => f.topic))) {
        const selection = { topic, fileName: input.file };
        changed.push(...(input.acknowledge ? await store.acknowledgeAnomalies(selection, leaseStaleMs()) : await store.resetFiles(selection, leaseStaleMs())));
      }
      if (input.acknowledge) {
        this.options.logger?.info({ files: changed.map((f) => `${f.topic}/${f.fileName}`) }, `acknowledged the anomalies of ${changed.length} file(s)`);
        return { command: 'reset', ok: true, reset: [], acknowledged: changed.map((f) => ({ topic: f.topic, file: f.fileName, unexpectedRecords: f.unexpectedRecords })) };
      }
      this.options.logger?.info({ files: changed.map((f) => `${f.topic}/${f.fileName}`) }, `forgot ${changed.length} file(s)`);
      return { command: 'reset', ok: true, reset: changed.map((f) => ({ topic: f.topic, file: f.fileName, status: f.status, recordsProcessed: f.recordsProcessed })) };
    } finally {
      await store.close();
    }
  }

  /**
   * Every file's checkpoint record (what `spark-sync status --json` shows; docs/internals.md):
   * from the local file, or, given `bootstrapServer` and `topic`, from the checkpoint topic, on any
   * machine (no local file needed).
   */
  async status(input: string | StatusInput = {}): Promise<FileState[]> {
    const { checkpoint = defaultCheckpointPath(), ...kafkaInput } = typeof input === 'string' ? { checkpoint: input } : input;
    if (kafkaInput.bootstrapServer !== undefined && kafkaInput.topic !== undefined && kafkaInput.checkpointTopic !== 'none') {
      const view = await this.topicState(kafkaInput);
      if (!view) throw new SparkSyncError('CHECKPOINT_INVALID', `the checkpoint topic ${kafkaInput.checkpointTopic ?? DEFAULT_CHECKPOINT_TOPIC} holds no checkpoint of topic ${kafkaInput.topic}`, { hint: 'check --topic and --checkpoint-topic, or read a local file with --checkpoint' });
      return (await view.listFiles(kafkaInput.topic)).map(toFileState);
    }
    const store = await CheckpointStore.open(checkpoint, { create: false });
    try {
      return (await store.listFiles()).map(toFileState);
    } finally {
      await store.close();
    }
  }

  /**
   * {@link status} as an Arrow table, one row per file: `topic`, `file`, `status`,
   * `recordsProcessed`, `totalRecords`, `partitions`, `batchSize`, `started`, `completed`.
   */
  async statusTable(input: string | StatusInput = {}): Promise<Table> {
    const files = await this.status(input);
    return (await this.spark()).arrowTable(
      columns(files, {
        topic: ['utf8', (f) => f.topic],
        file: ['utf8', (f) => f.file],
        status: ['utf8', (f) => f.status],
        recordsProcessed: ['int64', (f) => f.recordsProcessed],
        totalRecords: ['int64', (f) => f.totalRecords],
        partitions: ['int64', (f) => f.partitionCount],
        batchSize: ['int64', (f) => f.batchSize],
        started: ['utf8', (f) => f.startedAt],
        completed: ['utf8', (f) => f.completedAt],
      }),
    );
  }

  /**
   * The first rows of a source file as spark-sync would send them, read by Spark: `position`,
   * `key` (the Kafka key), then every field as the text its key hashes. Writes nothing
   * and does not contact Kafka.
   */
  async preview(input: PreviewInput, options: OperationOptions = {}): Promise<Table> {
    return this.abortable('preview', options.signal, () => this.previewTable(input));
  }

  private async previewTable(input: PreviewInput): Promise<Table> {
    // The CLI's schema checks the library's options too: the same messages, the same exit code.
    const { rows, topicPartitions: partitions, keyFields, messageKey } = parseOrThrow(optionsSchema.pick({ rows: true, topicPartitions: true, keyFields: true, messageKey: true }),
      { rows: input.rows, topicPartitions: input.topicPartitions, keyFields: input.keyFields, messageKey: input.messageKey }, 'preview');
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
    const keys = table.getChild(messageKey ? 'messageKey' : 'key')!.toArray() as string[];
    const withPartition = table.assign(tableFromArrays({ partition: Int32Array.from(keys, partitionOf) }));
    const names = table.schema.fields.map((f) => f.name);
    const keyColumns = messageKey ? 3 : 2;
    return withPartition.select([...names.slice(0, keyColumns), 'partition', ...names.slice(keyColumns)]);
  }

  /** Audits a topic against its sources: each file's missing, duplicated and foreign keys. */
  async verify(input: VerifyInput, options: OperationOptions = {}): Promise<VerifySummary> {
    const config = parseVerifyConfig(input);
    resolveSparkRuntime(); // a SPARK_HOME of another Spark line fails before Kafka or the checkpoint is touched
    return this.abortable('verify', options.signal, () => runVerify(config, { log: this.options.logger ?? silentLogger, spark: () => this.spark(), jvm: () => this.jvm() }));
  }

  /** Writes the deterministic sample table (demo, tests, benchmark) as one Parquet or ORC file. */
  async writeSample(path: string, options: { rows: number; format?: 'parquet' | 'orc'; rowGroupBytes?: number }): Promise<void> {
    await (await this.spark()).writeSample(path, options);
  }

  /** A validated submit with this SparkSync's Spark settings, checked before any I/O. */
  private submitConfig(input: SubmitInput): SubmitConfig {
    // A JavaScript caller's Spark setting here would otherwise be ignored in silence.
    const misplaced = SPARK_SESSION_KEYS.filter((key) => (input as unknown as Record<string, unknown>)[key] !== undefined);
    if (misplaced.length > 0) {
      throw new SparkSyncError('USAGE', `submit does not take ${misplaced.join(', ')}: the Spark session is set up by SparkSync.open`, {
        hint: `pass ${misplaced.join(', ')} to SparkSync.open({ … }) instead`,
      });
    }
    const config = parseSubmitConfig({ ...input, master: this.options.master, conf: this.options.conf, driverMemory: this.options.driverMemory, jars: this.options.jars });
    resolveSparkRuntime(); // a SPARK_HOME of another Spark line fails before Kafka or the checkpoint is touched
    return config;
  }

  /**
   * Runs a read-only operation that a signal may stop: on abort its Spark job is cancelled (its
   * tasks stopped), and the call rejects with an AbortError.
   */
  private async abortable<T>(what: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    if (!signal) return work();
    if (signal.aborted) throw aborted(what);
    const onAbort = () => void this.jobs?.then((jobs) => jobs.cancelRunning(CANCEL_WAIT_MS)).catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await work();
      if (signal.aborted) throw aborted(what);
      return result;
    } catch (err) {
      throw signal.aborted ? aborted(what, err) : err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * The Spark job API, started on first use with `conf`: this SparkSync's `--conf`, plus what the
   * first operation's source needs (a Hive source's metastore defaults, as the CLI's). A session
   * lives as long as the process's JVM, so a later operation runs with the first one's settings.
   */
  private spark(conf: string[] = this.options.conf ?? []): Promise<SparkJobs> {
    this.jobs ??= SparkJobs.start({ master: this.options.master ?? 'local[*]', conf, driverMemory: this.options.driverMemory, jars: this.options.jars, verbose: this.options.verbose, log: this.options.logger });
    return this.jobs;
  }

  /**
   * For an operator's change of a topic: the checkpoint topic holding its state, reached with
   * the caller's `bootstrapServer` or as the topic's last submit here reached it; undefined when
   * its state is local only (a local-only submit, or no checkpoint topic holds it yet).
   */
  private async checkpointTopicFor(store: CheckpointStore, topic: string, input: ResetInput): Promise<CheckpointTopic | undefined> {
    const remembered = await store.connectionOf(topic);
    const bootstrapServer = input.bootstrapServer ?? remembered?.bootstrapServers.join(',');
    if (bootstrapServer === undefined) return undefined;
    const name = input.bootstrapServer !== undefined ? parseOrThrow(optionsSchema.shape.checkpointTopic, input.checkpointTopic, 'reset') : remembered!.checkpointTopic;
    if (name === null) return undefined;
    const conn = kafkaConnection({ bootstrapServer, kafkaConfig: input.kafkaConfig ?? remembered?.kafkaConfig ?? undefined, kafkaProperties: input.kafkaProperties });
    const admin = await KafkaAdmin.connect({ bootstrapServers: conn.bootstrapServers, client: conn.kafkaClient });
    try {
      if ((await admin.partitionCount(name)) === undefined) return undefined;
      await this.jvm();
      return await CheckpointTopic.open({ name, target: topic, kafkaConf: conn.kafkaConf, admin, create: false });
    } finally {
      await admin.close();
    }
  }

  /** A topic's state as the checkpoint topic holds it, or undefined when it holds none. */
  private async topicState(input: StatusInput): Promise<CheckpointView | undefined> {
    const conn = kafkaConnection({ bootstrapServer: input.bootstrapServer!, kafkaConfig: input.kafkaConfig, kafkaProperties: input.kafkaProperties });
    const admin = await KafkaAdmin.connect({ bootstrapServers: conn.bootstrapServers, client: conn.kafkaClient });
    try {
      await this.jvm();
      return await readTopicState({ name: input.checkpointTopic ?? DEFAULT_CHECKPOINT_TOPIC, target: input.topic!, kafkaConf: conn.kafkaConf, admin });
    } finally {
      await admin.close();
    }
  }

  /** The process's JVM (not Spark), started with this SparkSync's settings: for the checkpoint topic's Kafka client. */
  private async jvm(): Promise<void> {
    await ensureJvm({ driverMemory: this.options.driverMemory, jars: this.options.jars, log: this.options.logger });
  }

  /** Stops the Spark session (the JVM stays until the process exits). */
  async close(): Promise<void> {
    if (this.jobs) await (await this.jobs).stop();
    this.jobs = undefined;
  }

  /** `await using sync = await SparkSync.open()`: closed when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The Spark settings of this process's first `open()` (JSON), which every later one must match. */
let openedWith: string | undefined;

function describeSpark(o: SparkOptions): string {
  return `master ${o.master}, driver memory ${o.driverMemory ?? 'default'}, ${o.conf.length} --conf setting(s), ${o.jars.length} jar(s)`;
}

/** An operation stopped by its caller's signal: a SparkSyncError (INTERRUPTED, exit 3) named AbortError. */
function aborted(what: string, cause?: unknown): SparkSyncError {
  return asAbortError(new SparkSyncError('INTERRUPTED', `${what} was stopped by its caller's signal`, { cause, hint: 'nothing half-done was kept: the checkpoint is consistent; run it again to continue' }));
}

function asAbortError(err: SparkSyncError): SparkSyncError {
  Object.defineProperty(err, 'name', { value: 'AbortError', configurable: true, writable: true });
  return err;
}

/** Arrow columns from rows: per column name, its type and how to read it from a row. */
function columns<T>(rows: T[], spec: Record<string, [ArrowColumn['type'], (row: T) => ArrowColumn['values'][number]]>): ArrowColumn[] {
  return Object.entries(spec).map(([name, [type, value]]) => ({ name, type, values: rows.map(value) }));
}
