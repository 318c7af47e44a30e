import { Table, tableFromIPC } from 'apache-arrow';
import { fromJavaError } from '../errors/java-errors';
import { Logger } from '../log/logger';
import { JvmOptions, ensureJvm, scratchDir } from './jvm';
import { clusterConf, isLocalMaster } from './spark-runtime';
import type { OffsetRange } from '../kafka/offset-range';
import { JobRequest, encode, requestKeys, requestSource } from './job-requests';

/** How long a stop (or a resume falling back to the anti-join) waits for cancelled Spark tasks to stop writing. */
export const CANCEL_WAIT_MS = 20_000;

/** One column of a result table: Arrow type by name, values in row order (null allowed). */
export interface ArrowColumn {
  name: string;
  type: 'utf8' | 'int64' | 'float64' | 'bool';
  values: Array<string | number | boolean | null>;
}

/** java-bridge hands a Java byte[] over as a Buffer (or a signed typed array); Arrow wants bytes. */
function asBytes(data: Buffer | Int8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Size, modification time and rows of a source file, and how Spark splits it now. */
export interface FileDescription {
  sizeBytes: number;
  mtimeMs: number;
  rows: number;
  inputSplits: number;
}

/** A file's source keys against the keys in its offset range. */
export interface FileAudit {
  sourceRows: number;
  /** Messages in the file's offset range. */
  messages: number;
  /** Source keys with no message. */
  missing: number;
  /** Source keys with more than one message. */
  duplicated: number;
  /** Messages whose key is not one of the file's. */
  foreign: number;
  /** The file's rows found in its dead-letter topic (by their headers). */
  deadLettered: number;
  /** With the topic scope: copies of the file's records outside its offset ranges (counted in `duplicated`). */
  outsideRange: number;
}

export type { OffsetRange } from '../kafka/offset-range';

/**
 * What an audit reads: a file's offset ranges (usually one), and with the topic scope every
 * record from each partition's first offset; `topicEnd` is each partition's end offset.
 */
export interface AuditScope {
  ranges: OffsetRange[];
  topicStart: number[] | null;
  topicEnd: number[];
}

/** Where a file's dead letters are: its dead-letter topic, from its offsets when the file first used it. */
export interface DeadLetterRange {
  topic: string;
  offsets: number[];
}

/** A dead-letter range across the bridge: `topic@o0,o1,…`, or empty for none. */
function deadLetterSpec(range: DeadLetterRange | null): string {
  return range ? `${range.topic}@${range.offsets.join(',')}` : '';
}

/** Rows `[from, to)` of one source file, and the topic they go to. */
export interface FileRange {
  path: string;
  format: string;
  fileIdentity: string;
  from: number;
  to: number;
  topic: string;
  /** `key=value` Kafka client settings for Spark's producer and consumer. */
  kafkaConf: string[];
  /** How the file's records are keyed. */
  keys: JobKeys;
}

/** A file's key mode as the Spark job takes it (DESIGN.md §3). */
export interface JobKeys {
  /** Natural-key fields; null: positional identity. */
  keyFields: string[] | null;
  /** Business message-key columns; null: the identity is the Kafka key. */
  messageKey: string[] | null;
  /** The topic's identity index (a folder URI), needed in natural-key mode. */
  identityIndex: string | null;
}

/** What `checkKeys` finds in a file before it is sent. */
export interface KeyCheck {
  /** The first row whose message key is NULL, or null. */
  firstNullMessageKey: number | null;
  /** Natural-key mode: distinct identities in the file. */
  distinctIdentities: number | null;
  /** Natural-key mode: of those, the ones the topic's identity index already holds. */
  alreadySent: number | null;
}

/** One batch: rows `[from, to)`, where `to` is `from + batchSize` or, for the last, `fileRows`. */
export interface BatchArgs extends FileRange {
  batchSize: number;
  fileRows: number;
  /** Per partition, the end offset the checkpoint holds before this batch. */
  startOffsets: number[];
}

/** The request for the batch `args` names, which must be the `batchSize` rows at its `from`. */
function batchRequest(args: BatchArgs): JobRequest {
  if (args.to !== Math.min(args.from + args.batchSize, args.fileRows)) throw new Error(`batch [${args.from}, ${args.to}) is not the ${args.batchSize}-row batch at ${args.from}`);
  return {
    source: requestSource(args.path, args.format, args.fileIdentity, args.fileRows), keys: requestKeys(args.keys), topic: args.topic,
    kafkaConf: args.kafkaConf, from: args.from, to: args.to, batchSize: args.batchSize, startOffsets: args.startOffsets,
  };
}

/** What one batch did in one Kafka partition. */
export interface PartitionWrite {
  partition: number;
  /** Records of this batch that belong to the partition. */
  records: number;
  /** Records sent by the final task attempt. */
  sent: number;
  /** Records an earlier attempt had already written, skipped by the final attempt. */
  skipped: number;
  /** Rows too large for Kafka, in the dead-letter topic instead (not in `records`). */
  deadLettered: number;
  /** Natural keys: rows whose identity another file or run had sent, not sent (not in `records`). */
  replayed: number;
}

export interface SparkSessionOptions extends JvmOptions {
  master: string;
  /** `key=value` Spark settings. */
  conf: string[];
  /** Spark's and Kafka's own INFO logs on stderr (`--verbose`). */
  verbose?: boolean;
  /** Where the session's figures (application id, driver address, Spark version) are logged. */
  log?: Logger;
}

/**
 * The narrow slice of the Java job API (`io.sparksync.jobs.SparkSyncJobs`) the driver calls.
 * An operation on a file takes one request (job-requests.ts, JSON); the rest take a few strings
 * and numbers (the bridge converts them to the Java `long`/`long[]` of the signature; it refuses
 * BigInt arrays). Java `long`s come back as BigInt.
 */
interface JavaJobs {
  describeFile(path: string, format: string): Promise<bigint[]>;
  statFile(path: string): Promise<bigint[]>;
  writeBatch(request: string): Promise<bigint[][]>;
  resumeBatch(request: string): Promise<bigint[][]>;
  writeDelta(request: string): Promise<bigint[][]>;
  auditFile(request: string): Promise<bigint[]>;
  auditNaturalKeys(request: string): Promise<bigint[]>;
  checkKeys(request: string): Promise<bigint[]>;
  countRecords(request: string): Promise<bigint>;
  reconcileIdentityIndex(index: string, expected: string[]): Promise<string[]>;
  writeIdentitySegment(request: string): Promise<void>;
  indexBatchFromPlan(request: string): Promise<boolean>;
  armTestFault(fault: string, afterRecords: number): Promise<void>;
  previewFile(request: string): Promise<Buffer | Int8Array>;
  listFiles(root: string): Promise<string[]>;
  listTable(table: string, where: string | null): Promise<string[]>;
  writeSample(path: string, format: string, firstRow: number, rows: number, rowGroupBytes: number): Promise<void>;
  sessionInfo(): Promise<string[]>;
  sourceBytesRead(): Promise<bigint>;
  cancelRunning(timeoutMs: number): Promise<boolean>;
  runningTasks(): Promise<number>;
  describeJobs(description: string): Promise<void>;
  stop(): Promise<void>;
}

/** `io.sparksync.jobs.ArrowResults`: the JVM's Arrow IPC writer for result tables. */
interface ArrowResultsClass {
  encodeJson(table: string): Promise<Buffer | Int8Array>;
}

interface JavaJobsClass {
  start(master: string, conf: string[]): Promise<JavaJobs>;
  setLogLevel(level: string): Promise<void>;
}

/**
 * The Spark side of spark-sync, in the driver's own JVM. Every call is async, so the event loop
 * keeps running heartbeats, progress and signal handlers while Spark works, and every Java
 * failure arrives as a SparkSyncError.
 */
export class SparkJobs {
  private arrowResults?: Promise<ArrowResultsClass>;

  private constructor(private readonly jobs: JavaJobs) {}

  static async start(options: SparkSessionOptions): Promise<SparkJobs> {
    const runtime = await ensureJvm(options);
    const { importClassAsync } = await import('java-bridge');
    let jobs: SparkJobs;
    try {
      const cls = (await importClassAsync('io.sparksync.jobs.SparkSyncJobs')) as unknown as JavaJobsClass;
      // Spark's and Kafka's own logs stay at ERROR (log4j2.properties) unless --verbose.
      if (options.verbose) await cls.setLogLevel('INFO');
      // In local mode the driver's startup classpath (ensureJvm) is the executors'; spark.jars
      // only records --jars. A cluster master gets what a plain Spark lacks (clusterConf).
      const conf = isLocalMaster(options.master)
        ? [...(options.jars?.length ? [`spark.jars=${options.jars.join(',')}`] : []), ...options.conf]
        : clusterConf(options.master, runtime, options.conf, options.jars ?? []);
      // --conf spark.local.dir, coming later, still wins.
      jobs = new SparkJobs(await cls.start(options.master, [`spark.local.dir=${scratchDir()}`, ...conf]));
    } catch (err) {
      throw fromJavaError(err, 'starting Spark');
    }
    const info = await jobs.call(() => jobs.jobs.sessionInfo(), 'reading the Spark session\'s settings');
    const fields: Record<string, string> = { spark_home: runtime.sparkHome ?? '(spark-sync\'s own jars)' };
    for (let i = 0; i + 1 < info.length; i += 2) fields[info[i]] = info[i + 1];
    options.log?.info(fields, `spark session started: ${fields.master}, Spark ${fields.spark_version}`);
    return jobs;
  }

  /**
   * The first `rows` rows of a file as they would be sent: `position`, `key`, then each field as
   * the text its key hashes. An Arrow table, written as Arrow IPC by the JVM.
   */
  async preview(path: string, format: string, fileIdentity: string, rows: number, keys: Pick<JobKeys, 'keyFields' | 'messageKey'>): Promise<Table> {
    const request = encode({ source: requestSource(path, format, fileIdentity), keys: requestKeys(keys), limit: rows });
    const ipc = await this.call(() => this.jobs.previewFile(request), `previewing ${path}`);
    return tableFromIPC(asBytes(ipc));
  }

  /**
   * Figures the driver holds (per file, per batch) as an Arrow table, encoded by the same Arrow
   * Java writer as the previews: every table a library caller gets has one origin and one set of
   * type rules (64-bit integers stay exact).
   */
  async arrowTable(columns: ArrowColumn[]): Promise<Table> {
    this.arrowResults ??= import('java-bridge').then(
      async ({ importClassAsync }) => (await importClassAsync('io.sparksync.jobs.ArrowResults')) as unknown as ArrowResultsClass,
    );
    const cls = await this.arrowResults;
    const ipc = await this.call(() => cls.encodeJson(JSON.stringify({ columns })), 'encoding a result table');
    return tableFromIPC(asBytes(ipc));
  }

  /**
   * The data files under a source root (a file or a directory; local, `file://` or `hdfs://`),
   * in path order, each with its path relative to the root (a file root: its own name).
   */
  async listFiles(root: string): Promise<Array<{ relativePath: string; uri: string }>> {
    const flat = await this.call(() => this.jobs.listFiles(root), `listing ${root}`);
    const files: Array<{ relativePath: string; uri: string }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) files.push({ relativePath: flat[i], uri: flat[i + 1] });
    return files;
  }

  /** Size and modification time of a file, without reading it. */
  async statFile(path: string): Promise<{ sizeBytes: number; mtimeMs: number }> {
    const [sizeBytes, mtimeMs] = (await this.call(() => this.jobs.statFile(path), `reading ${path}`)).map(Number);
    return { sizeBytes, mtimeMs };
  }

  /** The data files of a Hive table's partitions (all, or those `where` selects), each with its path relative to the table's location and its format. */
  async listTable(table: string, where?: string): Promise<Array<{ relativePath: string; uri: string; format: string }>> {
    const flat = await this.call(() => this.jobs.listTable(table, where ?? null), `listing the files of ${table}`);
    const files: Array<{ relativePath: string; uri: string; format: string }> = [];
    for (let i = 0; i + 2 < flat.length; i += 3) files.push({ relativePath: flat[i], uri: flat[i + 1], format: flat[i + 2] });
    return files;
  }

  async describeFile(path: string, format: string): Promise<FileDescription> {
    const [sizeBytes, mtimeMs, rows, inputSplits] = (await this.call(() => this.jobs.describeFile(path, format), `reading ${path}`)).map(Number);
    return { sizeBytes, mtimeMs, rows, inputSplits };
  }

  /**
   * Writes rows `[from, to)` of a file, the batch of `batchSize` rows starting at `from` (`to` is
   * `from + batchSize`, or `fileRows` for the last). Consecutive batches of one file share one
   * read and shuffle on the Spark side. Returns what each Kafka partition got.
   */
  async writeBatch(args: BatchArgs): Promise<PartitionWrite[]> {
    return this.batch(false, args);
  }

  /**
   * Window recovery of a batch a crash cut off: each partition's records past `startOffsets` are
   * read back and must be the batch's first records for it, in order; they are skipped and the
   * rest written. A partition holding anything else fails with RESUME_MISMATCH (use writeDelta).
   */
  async resumeBatch(args: BatchArgs): Promise<PartitionWrite[]> {
    return this.batch(true, args);
  }

  private async batch(resume: boolean, args: BatchArgs): Promise<PartitionWrite[]> {
    const request = encode(batchRequest(args));
    const rows = await this.call(
      () => (resume ? this.jobs.resumeBatch(request) : this.jobs.writeBatch(request)),
      `${resume ? 'resuming' : 'writing'} rows ${args.from}–${args.to} of ${args.path}`,
    );
    return toPartitionWrites(rows);
  }

  /**
   * Recovery write: rows `[from, to)` whose keys are not in the offset ranges `keyRanges` of the
   * topic, appended at `writeFrom` (the topic's end offsets now). Returns what each Kafka partition got.
   */
  async writeDelta(args: FileRange & { keyRanges: OffsetRange[]; writeFrom: number[] }): Promise<PartitionWrite[]> {
    const request = encode({
      source: requestSource(args.path, args.format, args.fileIdentity), keys: requestKeys(args.keys), topic: args.topic,
      kafkaConf: args.kafkaConf, from: args.from, to: args.to, ranges: args.keyRanges, writeFrom: args.writeFrom,
    });
    return toPartitionWrites(await this.call(() => this.jobs.writeDelta(request), `recovering rows ${args.from}–${args.to} of ${args.path}`));
  }

  /**
   * Compares a file's first `rows` keys with the keys in its offset ranges (with the topic scope:
   * every record of the topic, its ranges marked) and with its dead letters, found in the
   * dead-letter topic by their headers.
   */
  async auditFile(args: { path: string; format: string; fileIdentity: string; rows: number; topic: string; kafkaConf: string[]; scope: AuditScope; messageKey: string[] | null; deadLetters: DeadLetterRange | null }): Promise<FileAudit> {
    const { scope } = args;
    const request = encode({
      source: requestSource(args.path, args.format, args.fileIdentity, args.rows), keys: requestKeys({ keyFields: null, messageKey: args.messageKey }),
      topic: args.topic, kafkaConf: args.kafkaConf, ranges: scope.ranges, deadLetters: deadLetterSpec(args.deadLetters), topicFrom: scope.topicStart, topicTo: scope.topicEnd,
    });
    return toAudit(await this.call(() => this.jobs.auditFile(request), `auditing ${args.path} against ${args.topic}`));
  }

  /**
   * Natural-key audit of a topic's files with the same key fields, taken together: their distinct
   * identities against the identities in their offset ranges and dead letters. `sourceRows` is the distinct count.
   */
  async auditNaturalKeys(args: { files: Array<{ path: string; format: string; fileIdentity: string; messageKey: string[] | null; ranges: OffsetRange[]; deadLetters: DeadLetterRange | null }>; keyFields: string[]; topic: string; kafkaConf: string[]; topicStart: number[] | null; topicEnd: number[] }): Promise<FileAudit> {
    const request = encode({
      keys: requestKeys({ keyFields: args.keyFields, messageKey: null }), topic: args.topic, kafkaConf: args.kafkaConf, topicFrom: args.topicStart, topicTo: args.topicEnd,
      files: args.files.map((f) => ({ source: requestSource(f.path, f.format, f.fileIdentity), keys: requestKeys({ keyFields: null, messageKey: f.messageKey }), ranges: f.ranges, deadLetters: deadLetterSpec(f.deadLetters) })),
    });
    return toAudit(await this.call(() => this.jobs.auditNaturalKeys(request), `auditing the natural keys of ${args.files.length} file(s) against ${args.topic}`));
  }

  /** What a file's key mode finds before anything of it is sent (NULL message keys; distinct and already-sent identities). */
  /**
   * What a file's key mode finds before it is sent. Natural-key mode with `firstBatch` (the file's
   * identity and rows, the batch size, the offsets before its first batch) plans the file's first
   * batches now, and its first write uses that plan: the key columns are read and hashed once.
   */
  async checkKeys(path: string, format: string, keys: JobKeys, firstBatch?: { fileIdentity: string; fileRows: number; batchSize: number; startOffsets: number[] }): Promise<KeyCheck> {
    const request = encode({
      source: requestSource(path, format, firstBatch?.fileIdentity ?? '', firstBatch?.fileRows ?? 0), keys: requestKeys(keys),
      ...(firstBatch ? { batchSize: firstBatch.batchSize, startOffsets: firstBatch.startOffsets } : {}),
    });
    const [firstNull, distinct, sent] = (await this.call(() => this.jobs.checkKeys(request), `checking the keys of ${path}`)).map(Number);
    return { firstNullMessageKey: firstNull < 0 ? null : firstNull, distinctIdentities: distinct < 0 ? null : distinct, alreadySent: sent < 0 ? null : sent };
  }

  /** Natural-key mode: the records rows `[from, to)` hold (first of their identity, not yet in the topic). */
  async countRecords(range: Omit<FileRange, 'topic' | 'kafkaConf'>): Promise<number> {
    const request = encode({ source: requestSource(range.path, range.format, range.fileIdentity), keys: requestKeys(range.keys), from: range.from, to: range.to });
    return Number(await this.call(() => this.jobs.countRecords(request), `counting the records of ${range.path}`));
  }

  /** Deletes index segments the checkpoint does not expect; returns the expected ones that are missing. */
  async reconcileIdentityIndex(index: string, expected: string[]): Promise<string[]> {
    return this.call(() => this.jobs.reconcileIdentityIndex(index, expected), `reconciling the identity index ${index}`);
  }

  /** Writes one index segment from the identities of the messages in the offset ranges. */
  async writeIdentitySegment(args: { index: string; segment: string; topic: string; kafkaConf: string[]; ranges: OffsetRange[]; messageKey: string[] | null }): Promise<void> {
    const request = encode({ keys: requestKeys({ keyFields: null, messageKey: args.messageKey, identityIndex: args.index }), segment: args.segment, topic: args.topic, kafkaConf: args.kafkaConf, ranges: args.ranges });
    await this.call(() => this.jobs.writeIdentitySegment(request), `writing segment ${args.segment} of the identity index`);
  }

  /**
   * Natural-key mode, after a batch committed: writes its identity-index segment from the batch
   * plan that wrote it (the identities its tasks sent), if the plan still holds the batch and
   * exactly `identities` of its records. False, with nothing written, otherwise: then
   * {@link writeIdentitySegment} reads them back from Kafka.
   */
  async indexBatchFromPlan(args: BatchArgs & { segment: string; identities: number }): Promise<boolean> {
    const request = encode({ ...batchRequest(args), segment: args.segment, identities: args.identities });
    return this.call(() => this.jobs.indexBatchFromPlan(request), `writing segment ${args.segment} of the identity index from the batch plan`);
  }

  /** Bytes of files Spark's tasks have read since the session started (task input metrics). */
  async sourceBytesRead(): Promise<number> {
    return Number(await this.call(() => this.jobs.sourceBytesRead(), 'reading the session\'s input metrics'));
  }

  /** Test-only: see io.sparksync.jobs.internal.TestFaults. */
  async armTestFault(fault: 'kill' | 'fail', afterRecords: number): Promise<void> {
    await this.call(() => this.jobs.armTestFault(fault, afterRecords), 'arming a test fault');
  }

  /** Rows `[firstRow, firstRow + rows)` of the deterministic sample table as one Parquet or ORC file. */
  async writeSample(path: string, options: { rows: number; format?: 'parquet' | 'orc'; rowGroupBytes?: number; firstRow?: number }): Promise<void> {
    const { rows, format = 'parquet', rowGroupBytes = 8 * 1024 * 1024, firstRow = 0 } = options;
    await this.call(() => this.jobs.writeSample(path, format, firstRow, rows, rowGroupBytes), `writing sample data to ${path}`);
  }

  /**
   * Names the Spark jobs of the calls that follow, as the Spark UI and its REST API show them,
   * e.g. `spark-sync: orders.parquet batch 3/10 (rows 2,000,000–3,000,000)`.
   */
  async describeJobs(description: string): Promise<void> {
    await this.call(() => this.jobs.describeJobs(description), 'naming the Spark jobs');
  }

  /**
   * Cancels the running Spark jobs and waits up to `timeoutMs` for their tasks to stop writing;
   * false if some still ran then. The call that started a cancelled job rejects.
   */
  async cancelRunning(timeoutMs: number): Promise<boolean> {
    return this.call(() => this.jobs.cancelRunning(timeoutMs), 'cancelling the running Spark jobs');
  }

  /** How many Spark tasks run now, on every executor. */
  async runningTasks(): Promise<number> {
    return Number(await this.call(() => this.jobs.runningTasks(), 'counting the running Spark tasks'));
  }

  async stop(): Promise<void> {
    await this.call(() => this.jobs.stop(), 'stopping Spark');
  }

  private async call<T>(op: () => Promise<T>, what: string): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw fromJavaError(err, what);
    }
  }
}

function toAudit(figures: bigint[]): FileAudit {
  const [sourceRows, messages, missing, duplicated, foreign, deadLettered, outsideRange] = figures.map(Number);
  return { sourceRows, messages, missing, duplicated, foreign, deadLettered, outsideRange };
}

function toPartitionWrites(rows: bigint[][]): PartitionWrite[] {
  return rows.map(([partition, records, sent, skipped, deadLettered, replayed]) => ({
    partition: Number(partition),
    records: Number(records),
    sent: Number(sent),
    skipped: Number(skipped),
    deadLettered: Number(deadLettered ?? 0),
    replayed: Number(replayed ?? 0),
  }));
}
