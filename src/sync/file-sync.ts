import { CheckpointStore, FileCheckpoint, SourceFingerprint } from '../checkpoint/checkpoint-store';
import { SparkSyncError } from '../errors/spark-sync-error';
import { KafkaAdmin } from '../kafka/kafka-admin';
import { Logger } from '../log/logger';
import { RecoveryMode } from '../config/submit-config';
import { PartitionWrite, SparkJobs } from '../spark/spark-jobs';
import { SourceFile } from './source';
import { SyncEventListener } from './sync-events';
import { crashPoint, pausePoint, taskFailurePoint } from './test-faults';

export interface FileSyncContext {
  store: CheckpointStore;
  admin: KafkaAdmin;
  jobs: SparkJobs;
  topic: string;
  partitions: number;
  batchSize: number;
  kafkaConf: string[];
  recovery: RecoveryMode;
  log: Logger;
  emit: SyncEventListener;
  /** Checked between batches: a stop request ends the run at a batch boundary. */
  signal?: AbortSignal;
}

/** What a submit did with one file. */
export interface FileResult {
  /** The file's identity: its path relative to the source root. */
  file: string;
  /** SKIPPED: it was already COMPLETED, nothing was sent. */
  status: 'COMPLETED' | 'SKIPPED';
  totalRecords: number;
  /** Records this run put into Kafka. */
  recordsSent: number;
  /** Batches this run committed. */
  batches: number;
  seconds: number;
}

/**
 * Syncs one file (DESIGN.md §2): start it under the lease, then batch after batch — Kafka
 * acknowledges first, the checkpoint commits second — then mark it COMPLETED.
 */
export async function syncFile(ctx: FileSyncContext, file: SourceFile): Promise<FileResult> {
  const started = Date.now();
  const { store, admin, jobs, topic } = ctx;
  let cp = await store.getFile(topic, file.identity);
  if (cp?.status === 'COMPLETED') {
    const changed = await completedFileChange(jobs, cp, file.uri);
    if (changed) {
      throw new SparkSyncError('SOURCE_CHANGED', `source file ${file.identity} changed after it was synced (${changed}); it is not re-sent`, {
        hint: `restore the original file, or run \`spark-sync reset --file ${file.identity}\` to resync it deliberately (its earlier messages stay in the topic)`,
      });
    }
    ctx.emit({ type: 'file-skipped', topic, file: file.identity, reason: 'completed' });
    return result(file, 'SKIPPED', cp.totalRecords ?? 0, 0, 0, started);
  }
  if (cp && cp.sourceFormat !== file.format) {
    throw new SparkSyncError('USAGE', `${file.identity} was started as ${cp.sourceFormat} but is now read as ${file.format}, which may give other rows`, {
      hint: 'rerun with the --format and --csv-* options it started with, or `spark-sync reset --file` it to resync from the start',
    });
  }
  const description = await jobs.describeFile(file.uri, file.format);
  const fingerprint: SourceFingerprint = { sizeBytes: description.sizeBytes, mtimeMs: description.mtimeMs, rows: description.rows };

  const endOffsets = await admin.endOffsets(topic);
  const resumed = cp?.status === 'IN_PROGRESS';
  if (cp && resumed) {
    checkResumable(cp, fingerprint, endOffsets, ctx.partitions);
    ctx.emit({ type: 'file-started', topic, file: file.identity, totalRecords: fingerprint.rows, recordsProcessed: cp.recordsProcessed, resumed, inputSplits: description.inputSplits });
    if (endOffsets.some((end, p) => end > cp!.partitionOffsets![p])) {
      cp = await recoverCutBatch(ctx, file, cp, endOffsets);
    }
  } else {
    cp = await store.startFile(topic, file.identity, {
      sourcePath: file.uri,
      sourceFormat: file.format,
      batchSize: ctx.batchSize,
      startOffsets: endOffsets,
      fingerprint,
      keyFields: null,
    });
    ctx.emit({ type: 'file-started', topic, file: file.identity, totalRecords: fingerprint.rows, recordsProcessed: 0, resumed, inputSplits: description.inputSplits });
  }

  let offsets = cp.partitionOffsets!;
  let position = cp.recordsProcessed;
  let batchIndex = (await store.listBatches(topic, file.identity)).length;
  let sentTotal = 0;
  let batches = 0;
  while (position < fingerprint.rows) {
    if (ctx.signal?.aborted) throw interrupted(file.identity, position);
    const batchStarted = Date.now();
    const to = Math.min(position + ctx.batchSize, fingerprint.rows);
    await store.markPending(topic, file.identity, to);
    await crashPoint('before-batch', batchIndex, jobs);
    await crashPoint('mid-batch', batchIndex, jobs);
    await taskFailurePoint(batchIndex, jobs);
    await pausePoint(batchIndex);
    const writes = await jobs.writeBatch({
      path: file.uri, format: file.format, fileIdentity: file.identity, from: position, to, topic,
      batchSize: ctx.batchSize, fileRows: fingerprint.rows, kafkaConf: ctx.kafkaConf, startOffsets: offsets,
    });
    const counts = countsByPartition(writes, offsets.length);
    const after = await admin.endOffsets(topic);
    assertOffsetsAdvancedBy(topic, offsets, counts, after);
    await crashPoint('after-ack', batchIndex, jobs);
    await store.commitBatch(topic, file.identity, { batchIndex, firstPosition: position, endPosition: to, partitionCounts: counts, endOffsets: after });
    const skipped = writes.reduce((n, w) => n + w.skipped, 0);
    ctx.emit({
      type: 'batch-committed', topic, file: file.identity, batchIndex, firstPosition: position, endPosition: to,
      records: to - position, skipped, recordsProcessed: to, totalRecords: fingerprint.rows, endOffsets: after,
      seconds: (Date.now() - batchStarted) / 1000,
    });
    sentTotal += to - position;
    offsets = after;
    position = to;
    batchIndex++;
    batches++;
  }
  await store.completeFile(topic, file.identity);
  const done = result(file, 'COMPLETED', fingerprint.rows, sentTotal, batches, started);
  ctx.emit({ type: 'file-completed', topic, file: file.identity, records: fingerprint.rows, batches, seconds: done.seconds });
  return done;
}

/**
 * Recovery of a batch cut off by a crash (DESIGN.md §2, step 3): Kafka holds records past the
 * checkpoint.
 * - window: the anti-join of the cut-off batch against the keys past the checkpoint, done as an
 *   ordered merge inside each partition's task (resumeBatch): Kafka must hold a prefix of the
 *   partition's share, checked key by key, and the rest is appended. It shares the file's read
 *   and shuffle with the batches after it. Anything else there (a foreign write) falls back to
 *   the Spark anti-join of the batch against the keys up to the current end offsets.
 * - full: the Spark anti-join of the whole file so far against the keys since the file's start.
 * The checkpoint then commits the batch as a whole. A crash in here is recovered the same way on
 * the next run.
 */
async function recoverCutBatch(ctx: FileSyncContext, file: SourceFile, cp: FileCheckpoint, endOffsets: number[]): Promise<FileCheckpoint> {
  const started = Date.now();
  const { store, jobs, topic } = ctx;
  const checkpointOffsets = cp.partitionOffsets!;
  const from = cp.recordsProcessed;
  // The cut-off write covered [from, pending); an older checkpoint without it used batch_size.
  const to = cp.pendingEndPosition ?? Math.min(from + cp.batchSize, cp.totalRecords!);
  const batchIndex = (await store.listBatches(topic, file.identity)).length;
  await crashPoint('recovery-write', batchIndex, jobs);
  const merged = ctx.recovery === 'window' ? await mergeCutBatch(ctx, file, cp, to) : undefined;
  const method = merged ? 'merge' : 'join';
  const after = merged ?? (await joinCutBatch(ctx, file, cp, to));
  await store.commitBatch(topic, file.identity, {
    batchIndex, firstPosition: from, endPosition: to,
    partitionCounts: after.map((end, p) => end - checkpointOffsets[p]), endOffsets: after,
  });
  const found = endOffsets.reduce((n, end, p) => n + end - checkpointOffsets[p], 0);
  const added = after.reduce((n, end, p) => n + end - checkpointOffsets[p], 0);
  ctx.emit({
    type: 'file-recovered', topic, file: file.identity, mode: ctx.recovery, method,
    foundInKafka: found, deltaWritten: added - found, recordsProcessed: to, seconds: (Date.now() - started) / 1000,
  });
  return (await store.getFile(topic, file.identity))!;
}

/**
 * Window recovery as an ordered merge: the crashed run's tasks wrote each partition's share of the
 * batch in position order, so what Kafka holds past the checkpoint is a prefix of it, checked key
 * by key and skipped. Returns the end offsets after, or undefined when a partition holds anything
 * else (RESUME_MISMATCH): the anti-join must recover the batch then.
 */
async function mergeCutBatch(ctx: FileSyncContext, file: SourceFile, cp: FileCheckpoint, to: number): Promise<number[] | undefined> {
  const from = cp.recordsProcessed;
  const fileRows = cp.totalRecords!;
  const startOffsets = cp.partitionOffsets!;
  // The same batch size as the batches after it, so they share one read and shuffle.
  const batchSize = to === Math.min(from + ctx.batchSize, fileRows) ? ctx.batchSize : to - from;
  try {
    const writes = await ctx.jobs.resumeBatch({
      path: file.uri, format: file.format, fileIdentity: file.identity, from, to, topic: ctx.topic, batchSize, fileRows,
      kafkaConf: ctx.kafkaConf, startOffsets,
    });
    const after = await ctx.admin.endOffsets(ctx.topic);
    assertOffsetsAdvancedBy(ctx.topic, startOffsets, countsByPartition(writes, startOffsets.length), after);
    return after;
  } catch (err) {
    if (!(err instanceof SparkSyncError && err.code === 'RESUME_MISMATCH')) throw err;
    ctx.log.warn({ file: file.identity, topic: ctx.topic, reason: err.message }, 'records past the checkpoint are not just the cut-off batch; recovering it with the anti-join');
    return undefined;
  }
}

/**
 * Recovery by Spark's anti-join: the rows of the cut-off batch (window) or of the whole file so
 * far (full) whose keys are not in the topic between the checkpoint (window) or the file's start
 * offsets (full) and the current end offsets are appended. Returns the end offsets after.
 */
async function joinCutBatch(ctx: FileSyncContext, file: SourceFile, cp: FileCheckpoint, to: number): Promise<number[]> {
  const full = ctx.recovery === 'full';
  const keysTo = await ctx.admin.endOffsets(ctx.topic);
  const writes = await ctx.jobs.writeDelta({
    path: file.uri, format: file.format, fileIdentity: file.identity, from: full ? 0 : cp.recordsProcessed, to, topic: ctx.topic,
    kafkaConf: ctx.kafkaConf, keysFrom: full ? cp.startOffsets! : cp.partitionOffsets!, keysTo,
  });
  const after = await ctx.admin.endOffsets(ctx.topic);
  assertOffsetsAdvancedBy(ctx.topic, keysTo, countsByPartition(writes, keysTo.length), after);
  return after;
}

function countsByPartition(writes: PartitionWrite[], partitions: number): number[] {
  const counts = new Array<number>(partitions).fill(0);
  for (const w of writes) counts[w.partition] = w.records;
  return counts;
}

/**
 * After a batch, each partition must have grown by exactly the batch's records there. Anything
 * else means another producer wrote to the topic, and the checkpoint would no longer describe it.
 */
function assertOffsetsAdvancedBy(topic: string, before: number[], counts: number[], after: number[]): void {
  if (after.length !== before.length) {
    throw new SparkSyncError('OFFSET_MISMATCH', `topic ${topic} has ${after.length} partitions, the checkpoint ${before.length}`, {
      hint: 'partitions were added while the sync ran; the checkpoint was not advanced',
    });
  }
  for (let p = 0; p < before.length; p++) {
    const expected = before[p] + counts[p];
    if (after[p] !== expected) {
      throw new SparkSyncError('OFFSET_MISMATCH', `partition ${p} of ${topic} ends at offset ${after[p]}, expected ${expected} (checkpoint ${before[p]} + ${counts[p]} records of this batch)`, {
        hint: 'another producer is writing to the topic; stop it and check the topic before rerunning (the checkpoint was not advanced)',
      });
    }
  }
}

/** Preconditions for continuing an IN_PROGRESS file (DESIGN.md §2, recovery steps 1–2). */
function checkResumable(cp: FileCheckpoint, fingerprint: SourceFingerprint, endOffsets: number[], partitions: number): void {
  const changed = fingerprintChanged(cp, fingerprint);
  if (changed) {
    throw new SparkSyncError('SOURCE_CHANGED', `source file ${cp.fileName} changed since its sync started (${changed})`, {
      hint: `restore the original file, or run \`spark-sync reset --file ${cp.fileName}\` to resync it from the start (its messages so far stay in the topic)`,
    });
  }
  if (partitions !== cp.partitionCount) {
    throw new SparkSyncError('OFFSET_MISMATCH', `topic ${cp.topic} has ${partitions} partitions but ${cp.fileName} started with ${cp.partitionCount}`, {
      hint: `keys map to partitions by count, so the file cannot continue; run \`spark-sync reset --file ${cp.fileName}\` to resync it`,
    });
  }
  const offsets = cp.partitionOffsets!;
  for (let p = 0; p < offsets.length; p++) {
    if (endOffsets[p] < offsets[p]) {
      throw new SparkSyncError('OFFSET_MISMATCH', `partition ${p} of ${cp.topic} ends at offset ${endOffsets[p]}, below the checkpoint's ${offsets[p]}: the topic was truncated or recreated`, {
        hint: `check the topic; run \`spark-sync reset --file ${cp.fileName}\` to resync the file`,
      });
    }
  }
}

/**
 * How a COMPLETED file changed since it was synced, if it did. Size and modification time are
 * enough: a file that kept both kept its rows, and counting a CSV or JSON file's rows means
 * reading it.
 */
export async function completedFileChange(jobs: SparkJobs, cp: FileCheckpoint, uri: string): Promise<string | undefined> {
  const stat = await jobs.statFile(uri);
  return fingerprintChanged(cp, { ...stat, rows: cp.totalRecords ?? 0 });
}

export function fingerprintChanged(cp: FileCheckpoint, now: SourceFingerprint): string | undefined {
  if (cp.sourceSizeBytes !== null && cp.sourceSizeBytes !== now.sizeBytes) return `size ${cp.sourceSizeBytes} → ${now.sizeBytes} bytes`;
  if (cp.sourceMtimeMs !== null && cp.sourceMtimeMs !== now.mtimeMs) return `modified ${new Date(cp.sourceMtimeMs).toISOString()} → ${new Date(now.mtimeMs).toISOString()}`;
  if (cp.totalRecords !== null && cp.totalRecords !== now.rows) return `rows ${cp.totalRecords} → ${now.rows}`;
  return undefined;
}

function interrupted(file: string, position: number): SparkSyncError {
  return new SparkSyncError('INTERRUPTED', `stopped on request at record ${position} of ${file}, at a batch boundary`, {
    hint: 'the checkpoint is consistent; rerun the same command to continue',
  });
}

function result(file: SourceFile, status: FileResult['status'], totalRecords: number, recordsSent: number, batches: number, started: number): FileResult {
  return { file: file.identity, status, totalRecords, recordsSent, batches, seconds: (Date.now() - started) / 1000 };
}
