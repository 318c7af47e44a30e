import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { CheckpointStore, LEASE_STALE_MS } from '../checkpoint/checkpoint-store';
import { SubmitConfig } from '../config/submit-config';
import { SparkSyncError } from '../errors/spark-sync-error';
import { KafkaAdmin } from '../kafka/kafka-admin';
import { Logger } from '../log/logger';
import { SparkJobs } from '../spark/spark-jobs';
import { FileResult, syncFile } from './file-sync';
import { checkSource, planFiles } from './source';
import { SyncEventListener } from './sync-events';

/** The outcome of a submit; the CLI prints it as the last line of stdout. */
export interface SubmitSummary {
  command: 'submit';
  ok: true;
  topic: string;
  /** The checkpoint file's absolute path. */
  checkpoint: string;
  /** Every file of the source, in the order synced. */
  files: FileResult[];
  /** Records this run put into Kafka (0 for a rerun after success). */
  recordsSent: number;
  /** Wall time, JVM and Spark start included. */
  seconds: number;
  recordsPerSecond: number;
}

export interface SubmitDeps {
  log: Logger;
  emit: SyncEventListener;
  /** Starts Spark when the first file needs it (so bad input fails before the JVM starts). */
  spark: () => Promise<SparkJobs>;
  signal?: AbortSignal;
}

const HEARTBEAT_MS = 10_000;

/**
 * One submit: plan the source, check Kafka and the topic, take the topic's writer lease, then
 * sync the files one after another. Cheap checks come first, so a typo fails in a second and
 * leaves the checkpoint as it was.
 */
export async function runSubmit(config: SubmitConfig, deps: SubmitDeps): Promise<SubmitSummary> {
  const started = Date.now();
  const root = checkSource(config.source);
  const admin = await KafkaAdmin.connect({ bootstrapServers: config.bootstrapServers, client: config.kafkaClient });
  try {
    // A missing topic fails here, in a second; creating one waits until the source is planned,
    // so a source that cannot be read (a dead namenode, a corrupt checkpoint) leaves no topic.
    const existing = await topicPartitions(admin, config);
    const store = await CheckpointStore.open(config.checkpoint, { create: true });
    try {
      return await underLease(store, config.topic, deps.log, async () => {
        const jobs = await deps.spark();
        const files = await planFiles(jobs, root, config.format, config.csv, config.where);
        const partitions = existing ?? (await createTopic(admin, config, deps.log));
        deps.emit({ type: 'run-planned', topic: config.topic, files: files.length });
        if (files.length === 0) deps.log.warn({ source: config.source }, 'the source holds no data files; nothing to sync');
        const results: FileResult[] = [];
        // A changed file stops only itself: the other files still sync, then the run fails.
        const changed: SparkSyncError[] = [];
        const ctx = { store, admin, jobs, topic: config.topic, partitions, batchSize: config.batchSize, kafkaConf: config.kafkaConf, recovery: config.recovery, log: deps.log, emit: deps.emit, signal: deps.signal };
        for (const file of files) {
          try {
            results.push(await syncFile(ctx, file));
          } catch (err) {
            if (!(err instanceof SparkSyncError && err.code === 'SOURCE_CHANGED')) throw err;
            deps.log.warn({ file: file.identity, reason: err.message }, 'source file changed; not synced');
            changed.push(err);
          }
        }
        if (changed.length === 1) throw changed[0];
        if (changed.length > 1) {
          throw new SparkSyncError('SOURCE_CHANGED', `${changed.length} source files changed since spark-sync read them: ${changed.map((e) => e.message.replace(/^source file /, '')).join('; ')}`, {
            hint: 'restore them, or resync each deliberately with `spark-sync reset --file F`; the other files were synced',
          });
        }
        const seconds = (Date.now() - started) / 1000;
        const recordsSent = results.reduce((n, r) => n + r.recordsSent, 0);
        return { command: 'submit', ok: true, topic: config.topic, checkpoint: store.file, files: results, recordsSent, seconds, recordsPerSecond: Math.round(recordsSent / Math.max(seconds, 0.001)) };
      });
    } finally {
      await store.close();
    }
  } finally {
    await admin.close();
  }
}

/** The topic's partition count; undefined when it is missing and --create-topic will make it. */
async function topicPartitions(admin: KafkaAdmin, config: SubmitConfig): Promise<number | undefined> {
  const existing = await admin.partitionCount(config.topic);
  if (existing === undefined && !config.createTopic) {
    throw new SparkSyncError('TOPIC_NOT_FOUND', `topic ${config.topic} does not exist on ${config.bootstrapServers.join(',')}`, {
      hint: 'create it, or pass --create-topic [--partitions N]',
    });
  }
  return existing;
}

async function createTopic(admin: KafkaAdmin, config: SubmitConfig, log: Logger): Promise<number> {
  const partitions = config.partitions ?? 1;
  await admin.createTopic(config.topic, partitions);
  log.info({ topic: config.topic, partitions }, 'created topic');
  return partitions;
}

/** Holds the topic's writer lease (with a heartbeat) while `work` runs, and releases it after. */
async function underLease<T>(store: CheckpointStore, topic: string, log: Logger, work: () => Promise<T>): Promise<T> {
  const owner = { id: randomUUID(), host: os.hostname(), pid: process.pid };
  await store.acquireLease(topic, owner, LEASE_STALE_MS);
  const beat = setInterval(() => {
    store.heartbeat(topic, owner.id).catch((err: Error) => log.warn({ err: err.message }, 'lease heartbeat failed'));
  }, HEARTBEAT_MS);
  try {
    return await work();
  } finally {
    clearInterval(beat);
    await store.releaseLease(topic, owner.id);
  }
}
