import { EventEmitter } from 'node:events';
import { CheckpointRecord, toCheckpointRecord } from './checkpoint/checkpoint-report';
import { CheckpointStore } from './checkpoint/checkpoint-store';
import { defaultCheckpointPath } from './config/paths';
import { SubmitInput, VerifyInput, parseSubmitConfig, parseVerifyConfig } from './config/submit-config';
import { Logger, silentLogger } from './log/logger';
import { SparkJobs } from './spark/spark-jobs';
import { SubmitSummary, runSubmit } from './sync/submit-run';
import { VerifySummary, runVerify } from './sync/verify-run';
import { SyncEvent } from './sync/sync-events';

/** How the Spark session of a SparkSync is started; fixed for the life of the process's JVM. */
export interface SparkSyncOptions {
  /** `local[*]` (default), `local[N]`, `spark://host:7077`, `yarn`. */
  master?: string;
  /** `key=value` Spark settings. */
  conf?: string[];
  /** Driver JVM heap, e.g. `2g`; only takes effect if this process has not started its JVM yet. */
  driverMemory?: string;
  logger?: Logger;
}

type EventsOf<T extends { type: string }> = { [E in T as E['type']]: [E] } & { event: [T] };

/**
 * The spark-sync library: the same engine as the CLI, for notebooks and services.
 *
 * ```ts
 * const sync = await SparkSync.open();
 * sync.on('batch-committed', (e) => console.log(e.recordsProcessed, '/', e.totalRecords));
 * const summary = await sync.submit({ source: 'events.parquet', topic: 'events', bootstrapServer: '127.0.0.1:9092' });
 * await sync.close();
 * ```
 *
 * Guarantees: every row lands in the topic exactly once across crashes and reruns, provided
 * spark-sync is the topic's only producer. Spark runs in this process's JVM, which is started on
 * first use and lives until the process exits (a JVM cannot be restarted in one process).
 */
export class SparkSync extends EventEmitter<EventsOf<SyncEvent>> {
  private jobs?: Promise<SparkJobs>;

  private constructor(private readonly options: SparkSyncOptions) {
    super();
  }

  static async open(options: SparkSyncOptions = {}): Promise<SparkSync> {
    return new SparkSync(options);
  }

  /**
   * Syncs a source into a topic and resolves when every file is COMPLETED. Rejects with a
   * SparkSyncError whose `exitCode` follows the CLI's; the checkpoint is consistent either way.
   */
  async submit(input: SubmitInput, signal?: AbortSignal): Promise<SubmitSummary> {
    const config = parseSubmitConfig({ ...input, master: this.options.master, conf: this.options.conf, driverMemory: this.options.driverMemory });
    return runSubmit(config, {
      log: this.options.logger ?? silentLogger,
      emit: (event) => {
        this.emit(event.type, event as never);
        this.emit('event', event);
      },
      spark: () => this.spark(),
      signal,
    });
  }

  /** Every file's checkpoint, in the patent's structure. */
  async status(checkpoint: string = defaultCheckpointPath()): Promise<CheckpointRecord[]> {
    const store = await CheckpointStore.open(checkpoint, { create: false });
    try {
      return (await store.listFiles()).map(toCheckpointRecord);
    } finally {
      await store.close();
    }
  }

  /** Audits a topic against its sources: each file's missing, duplicated and foreign keys. */
  async verify(input: VerifyInput): Promise<VerifySummary> {
    return runVerify(parseVerifyConfig(input), { log: this.options.logger ?? silentLogger, spark: () => this.spark() });
  }

  /** Writes the deterministic sample table (demo, tests, benchmark) as one Parquet or ORC file. */
  async writeSample(path: string, options: { rows: number; format?: 'parquet' | 'orc'; rowGroupBytes?: number }): Promise<void> {
    await (await this.spark()).writeSample(path, options);
  }

  /** The Spark job API, started on first use. */
  spark(): Promise<SparkJobs> {
    this.jobs ??= SparkJobs.start({ master: this.options.master ?? 'local[*]', conf: this.options.conf ?? [], driverMemory: this.options.driverMemory });
    return this.jobs;
  }

  /** Stops the Spark session (the JVM stays until the process exits). */
  async close(): Promise<void> {
    if (this.jobs) await (await this.jobs).stop();
    this.jobs = undefined;
  }
}
