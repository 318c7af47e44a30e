import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { CheckpointStore, CheckpointTopic, leaseStaleMs } from '../checkpoint/checkpoint-store';
import { SubmitConfig } from '../config/submit-config';
import { SparkSyncError, asSparkSyncError } from '../errors/spark-sync-error';
import { KafkaAdmin } from '../kafka/kafka-admin';
import { Logger } from '../log/logger';
import { CANCEL_WAIT_MS, SparkJobs } from '../spark/spark-jobs';
import { sealCutOffWrites } from './cut-off-writes';
import { FileResult, syncFile } from './file-sync';
import { identityIndexUri, reconcileIdentityIndex } from './identity-index';
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
  /** Natural-key mode: rows of the files this run started that were duplicates inside their file. */
  duplicates: number;
  /** Natural-key mode: rows of the files this run started whose identity the topic already had. */
  replayed: number;
  /** Wall time, JVM and Spark start included. */
  seconds: number;
  recordsPerSecond: number;
}

export interface SubmitDeps {
  log: Logger;
  emit: SyncEventListener;
  /** Starts Spark when the first file needs it (so bad input fails before the JVM starts). */
  spark: () => Promise<SparkJobs>;
  /** Starts the JVM (not Spark), for the checkpoint topic's Kafka client. */
  jvm: () => Promise<void>;
  /** Stops the run: the running Spark job is cancelled, its tasks stop writing, the lease is released. */
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
      if (config.checkpointTopic) {
        await deps.jvm();
        store.useCheckpointTopic(await CheckpointTopic.open({ name: config.checkpointTopic, target: config.topic, kafkaConf: config.kafkaConf, admin, create: true, replicationFactor: config.replicationFactor }));
      }
      return await underLease(store, config.topic, deps, async (stop) => {
        await store.rememberConnection(config.topic, { bootstrapServers: config.bootstrapServers, checkpointTopic: config.checkpointTopic, kafkaConfig: config.kafkaClient.file ? path.resolve(config.kafkaClient.file) : null });
        const jobs = await deps.spark();
        stop.onStop(() => jobs.cancelRunning(CANCEL_WAIT_MS).then((stopped) => {
          if (!stopped) deps.log.warn({ waited_ms: CANCEL_WAIT_MS }, 'Spark tasks were still running when the stop gave up waiting; the next run recovers the batch they were writing');
        }));
        const files = await planFiles(jobs, root, config.format, config.csv, config.where);
        const partitions = existing ?? (await createTopic(admin, config, deps.log));
        deps.emit({ type: 'run-planned', topic: config.topic, files: files.length });
        if (files.length === 0) deps.log.warn({ source: config.source }, 'the source holds no data files; nothing to sync');
        const results: FileResult[] = [];
        // A changed file stops only itself: the other files still sync, then the run fails.
        const changed: SparkSyncError[] = [];
        const kafkaConf = [...config.kafkaConf, ...(await recordLimits(admin, config, deps.log))];
        const keys = { ...config.keys, identityIndex: config.keys.keyFields ? identityIndexUri(store.file, config.topic, config.indexLocation) : null };
        // Before this run writes: a file of the topic cut off mid-batch keeps what it wrote.
        await sealCutOffWrites({ store, admin, log: deps.log }, config.topic);
        if (keys.identityIndex) await reconcileIdentityIndex({ store, jobs, admin, log: deps.log }, config.topic, keys.identityIndex, kafkaConf);
        const ctx = { store, admin, jobs, topic: config.topic, partitions, batchSize: config.batchSize, kafkaConf, recovery: config.recovery, deadLetterTopic: config.deadLetterTopic, keys, log: deps.log, emit: deps.emit, signal: stop.signal };
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
        await assertNoOpenAnomalies(store, config.topic, files.map((f) => f.identity));
        const seconds = (Date.now() - started) / 1000;
        const recordsSent = results.reduce((n, r) => n + r.recordsSent, 0);
        const duplicates = results.reduce((n, r) => n + r.duplicates, 0);
        const replayed = results.reduce((n, r) => n + r.replayed, 0);
        return {
          command: 'submit', ok: true, topic: config.topic, checkpoint: store.file, files: results, recordsSent, duplicates, replayed,
          seconds, recordsPerSecond: Math.round(recordsSent / Math.max(seconds, 0.001)),
        };
      });
    } finally {
      await store.close();
    }
  } finally {
    await admin.close();
  }
}

/**
 * A run never exits 0 while a file it covers has unexpected records in its offset range (found by
 * this run or an earlier one) that no operator acknowledged: the topic then holds more than the
 * source's rows. The files are complete; the checkpoint says where the records are.
 */
async function assertNoOpenAnomalies(store: CheckpointStore, topic: string, identities: string[]): Promise<void> {
  const mine = new Set(identities);
  const open = (await store.listFiles(topic)).filter((f) => mine.has(f.fileName) && f.unexpectedRecords > f.unexpectedAcknowledged);
  if (open.length === 0) return;
  const total = open.reduce((n, f) => n + f.unexpectedRecords - f.unexpectedAcknowledged, 0);
  const where = open.map((f) => `${f.fileName}: ${f.unexpectedRecords - f.unexpectedAcknowledged} in batch ${f.anomalies.map((a) => a.batchIndex).join(', ')}`).join('; ');
  throw new SparkSyncError('RECORDS_UNEXPECTED', `topic ${topic} holds ${total} record(s) in the offset ranges of ${open.length} file(s) that are not their rows (duplicates or foreign writes): ${where}; every row of the files is in the topic`, {
    hint: `\`spark-sync verify\` tells duplicates from foreign records and \`spark-sync status --json\` gives their offsets; once handled downstream, \`spark-sync reset --acknowledge --all --topic ${topic}\``,
  });
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
  // Without --replication-factor the broker's default.replication.factor applies; the log says
  // what the topic got, read back from its metadata.
  const replicationFactor = await admin.createTopic(config.topic, partitions, config.replicationFactor);
  log.info({ topic: config.topic, partitions, replication_factor: replicationFactor }, 'created topic');
  return partitions;
}

/** The producer's own default `max.request.size`. */
const DEFAULT_MAX_REQUEST_SIZE = 1_048_576;

/**
 * The limits a record must fit (the producer's `max.request.size`, the topic's
 * `max.message.bytes`), the dead-letter topic and the lineage headers, as `spark-sync.*` settings
 * for the writing tasks (io.sparksync.jobs.internal.RecordLimits). A missing dead-letter topic is created with
 * `--create-topic`, else refused before anything is written.
 */
async function recordLimits(admin: KafkaAdmin, config: SubmitConfig, log: Logger): Promise<string[]> {
  const requestSetting = config.kafkaConf.find((kv) => kv.startsWith('max.request.size='));
  const maxRequest = requestSetting ? Number(requestSetting.split('=')[1]) : DEFAULT_MAX_REQUEST_SIZE;
  const limit = Math.min(maxRequest, await admin.maxMessageBytes(config.topic));
  const settings = [`spark-sync.max.record.bytes=${limit}`];
  if (config.lineageHeaders) settings.push('spark-sync.lineage.headers=true');
  const dlq = config.deadLetterTopic;
  if (dlq) {
    if ((await admin.partitionCount(dlq)) === undefined) {
      if (!config.createTopic) {
        throw new SparkSyncError('TOPIC_NOT_FOUND', `the dead-letter topic ${dlq} does not exist on ${config.bootstrapServers.join(',')}`, { hint: 'create it, or pass --create-topic' });
      }
      const replicationFactor = await admin.createTopic(dlq, 1, config.replicationFactor);
      log.info({ topic: dlq, partitions: 1, replication_factor: replicationFactor }, 'created dead-letter topic');
    }
    settings.push(`spark-sync.dead.letter.topic=${dlq}`, `spark-sync.dead.letter.max.record.bytes=${Math.min(maxRequest, await admin.maxMessageBytes(dlq))}`);
  }
  log.debug({ max_record_bytes: limit, dead_letter_topic: dlq }, 'record size limit');
  return settings;
}

/** A run's stop: why it stopped, and what must finish before the lease is given up. */
interface RunStop {
  signal: AbortSignal;
  /** What a stop must do (cancel the Spark job); runs at once if the run has already stopped. The lease waits for it. */
  onStop(cancel: () => Promise<void>): void;
}

/** Leases held by runs of this process, so a second signal can give them up before exiting. */
const heldLeases = new Set<() => Promise<void>>();

/**
 * Gives up every lease this process's runs hold, waiting at most `timeoutMs`: for the CLI's
 * immediate exit on a second signal, so the next run need not wait for the lease to go stale.
 */
export async function releaseHeldLeases(timeoutMs: number): Promise<void> {
  const all = Promise.all([...heldLeases].map((release) => release().catch(() => undefined)));
  await Promise.race([all, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
}

/**
 * Holds the topic's writer lease (with a heartbeat) while `work` runs, and releases it after.
 * The run stops when the caller's signal aborts (INTERRUPTED) or a heartbeat finds the lease
 * taken by another process (LEASE_LOST): the running Spark job is cancelled, and the lease is
 * released only once its tasks have stopped writing. An error the stop caused in `work` (a
 * cancelled job) is reported as the stop's reason.
 */
async function underLease<T>(store: CheckpointStore, topic: string, deps: SubmitDeps, work: (stop: RunStop) => Promise<T>): Promise<T> {
  const owner = { id: randomUUID(), host: os.hostname(), pid: process.pid };
  const { log } = deps;
  const leaseStarted = Date.now();
  await store.acquireLease(topic, owner, leaseStaleMs());
  const reconciled = store.reconcileSummary(topic);
  if (reconciled && reconciled.restored.length + reconciled.published.length + reconciled.removed.length > 0) {
    log.info({ topic, restored: reconciled.restored.length, published: reconciled.published.length, removed: reconciled.removed.length, conflicts: reconciled.conflicts, seconds: (Date.now() - leaseStarted) / 1000 },
      'the local checkpoint was reconciled with the checkpoint topic');
  }
  for (const file of reconciled?.conflicts ?? []) log.warn({ topic, file }, 'the file was changed both by a local-only run here and in the checkpoint topic; the state of the checkpoint topic was kept');
  const controller = new AbortController();
  let cancel: (() => Promise<void>) | undefined;
  let cancelled: Promise<unknown> = Promise.resolve();
  const stop = (reason: SparkSyncError) => {
    if (controller.signal.aborted) return;
    controller.abort(reason);
    cancelled = Promise.allSettled([cancel?.()]);
  };
  const onSignal = () => stop(interrupted());
  if (deps.signal?.aborted) onSignal();
  deps.signal?.addEventListener('abort', onSignal);
  const beat = setInterval(() => {
    store.heartbeat(topic).catch((err: unknown) => {
      const e = asSparkSyncError(err);
      if (e.code === 'LEASE_LOST') {
        log.error({ topic }, e.message);
        stop(e);
      } else log.warn({ err: e.message }, 'lease heartbeat failed');
    });
  }, HEARTBEAT_MS);
  const release = () => store.releaseLease(topic);
  heldLeases.add(release);
  try {
    return await work({
      signal: controller.signal,
      onStop: (onStop) => {
        cancel = onStop;
        if (controller.signal.aborted) cancelled = Promise.allSettled([onStop()]);
      },
    });
  } catch (err) {
    // A run that lost its lease fails in many ways (a commit refused, offsets another run moved):
    // the lost lease explains them all, so it is what the run reports.
    if (!controller.signal.aborted) {
      await store.heartbeat(topic).catch((e: unknown) => {
        if (e instanceof SparkSyncError && e.code === 'LEASE_LOST') stop(e);
      });
    }
    const reason = controller.signal.reason as SparkSyncError | undefined;
    // The stop's own error (from a batch boundary) says where it stopped; any other is its echo.
    throw reason && !(err instanceof SparkSyncError && err.code === reason.code) ? reason : err;
  } finally {
    clearInterval(beat);
    deps.signal?.removeEventListener('abort', onSignal);
    await cancelled;
    heldLeases.delete(release);
    await release();
  }
}

function interrupted(): SparkSyncError {
  return new SparkSyncError('INTERRUPTED', 'stopped on request (SIGTERM, SIGINT or the caller\'s signal): the running Spark job was cancelled and its tasks stopped writing', {
    hint: 'the checkpoint is consistent; rerun the same command to continue (the cut-off batch is recovered)',
  });
}
