import { BatchCheckpoint, FileCheckpoint, SourceFingerprint } from '../checkpoint/checkpoint-store';
import type { FileStatus } from '../checkpoint/file-state';
import { SparkSyncError } from '../errors/spark-sync-error';
import { BatchArgs, JobKeys, SparkJobs } from '../spark/spark-jobs';
import { SourceFile } from './source';
import type { FileSyncContext } from './file-sync-context';
import { assertOffsetsAdvancedBy, assertResumableOffsets, assertRowsAccounted, countsByPartition } from './offsets';
import { recoverCutBatch } from './recovery';
import { assertSameFormat, assertSourceUnchanged, completedFileChange, completedFileChanged } from './source-checks';
import { beforeBatchWrite, crashPoint } from './test-faults';
import { indexCommitted } from './identity-index';
import { rowNumber } from '../util/numbers';
import { recordsIn } from '../kafka/offset-range';


/** What a submit did with one file. */
export interface FileResult {
  /** The file's identity: its path relative to the source root. */
  file: string;
  /** SKIPPED: it was already COMPLETED, nothing was sent. */
  status: Extract<FileStatus, 'COMPLETED'> | 'SKIPPED';
  totalRecords: number;
  /** Records this run put into Kafka. */
  recordsSent: number;
  /** Batches this run committed. */
  batches: number;
  /** Rows of the file sent to the dead-letter topic (all runs). */
  deadLettered: number;
  /** Natural-key mode: rows dropped as duplicates of an earlier row of the file. */
  duplicates: number;
  /** Natural-key mode: rows whose identity the topic already had from an earlier file or run. */
  replayed: number;
  seconds: number;
}

/**
 * Syncs one file (DESIGN.md §2): start it under the lease (or resume it, recovering a batch a
 * crash cut off), then batch after batch — Kafka acknowledges first, the checkpoint commits
 * second — then mark it COMPLETED.
 */
export async function syncFile(ctx: FileSyncContext, file: SourceFile): Promise<FileResult> {
  const started = Date.now();
  const { store, topic } = ctx;
  const existing = await store.getFile(topic, file.identity);
  if (existing?.status === 'COMPLETED') {
    const changed = await completedFileChange(ctx.jobs, existing, file.uri);
    if (changed) throw completedFileChanged(existing, changed);
    ctx.emit({ type: 'file-skipped', topic, file: file.identity, reason: 'completed' });
    return result(file, 'SKIPPED', existing.totalRecords ?? 0, 0, 0, existing, started);
  }
  // From here on, the file's own settings (where its dead letters begin) go with every write.
  const { cp, rows, fileCtx, writeFrom, recoveredSent } = await startOrResume(ctx, file, existing);
  let batch: BatchCursor = { index: (await store.listBatches(topic, file.identity)).length, position: cp.recordsProcessed, offsets: writeFrom };
  const firstPosition = batch.position;
  let batches = 0;
  while (batch.position < rows) {
    if (ctx.signal?.aborted) throw stoppedAt(ctx.signal.reason, file.identity, batch.position);
    batch = await syncBatch(fileCtx, file, batch, rows);
    batches++;
  }
  if (ctx.keys.keyFields) await assertNaturalRowsAccounted(ctx, file, rows);
  await store.completeFile(topic, file.identity);
  const completed = (await store.getFile(topic, file.identity))!;
  // What this run put into Kafka: the delta of a recovered batch, then its own batches.
  const sentByBatches = ctx.keys.keyFields ? await recordsSentSince(ctx, file, firstPosition) : rows - firstPosition;
  const done = result(file, 'COMPLETED', rows, recoveredSent + sentByBatches, batches, completed, started);
  ctx.emit({ type: 'file-completed', topic, file: file.identity, records: rows, batches, seconds: done.seconds });
  return done;
}

/**
 * A new file starts in one checkpoint transaction at the topic's current end offsets. An
 * IN_PROGRESS one continues only from the same source on the same topic, after the batch a crash
 * cut off (its records sealed into the file's tail when this run began: cut-off-writes.ts) is
 * recovered. Either way its next batch is written at the topic's end offsets (`writeFrom`),
 * which lie past its checkpoint when another file wrote meanwhile.
 */
async function startOrResume(ctx: FileSyncContext, file: SourceFile, cp: FileCheckpoint | undefined): Promise<{ cp: FileCheckpoint; rows: number; fileCtx: FileSyncContext; writeFrom: number[]; recoveredSent: number }> {
  const { store, topic } = ctx;
  if (cp) assertSameFormat(cp, file.format);
  if (cp?.status === 'IN_PROGRESS') {
    assertSameKeyMode(cp, ctx.keys);
    assertSameDeadLetterTopic(cp, ctx.deadLetterTopic);
  }
  await ctx.jobs.describeJobs(`spark-sync: ${file.identity} (counting its rows)`);
  const description = await ctx.jobs.describeFile(file.uri, file.format);
  const fingerprint: SourceFingerprint = { sizeBytes: description.sizeBytes, mtimeMs: description.mtimeMs, rows: description.rows };
  const endOffsets = await ctx.admin.endOffsets(topic);
  const started = { type: 'file-started', topic, file: file.identity, totalRecords: fingerprint.rows, inputSplits: description.inputSplits } as const;
  if (cp?.status === 'IN_PROGRESS') {
    assertSourceUnchanged(cp, fingerprint);
    assertResumableOffsets(cp, ctx.partitions, endOffsets);
    if (ctx.deadLetterTopic && !cp.deadLetterTopic) {
      // Before the first dead letter of the file: where its dead letters begin.
      await store.useDeadLetterTopic(topic, file.identity, { topic: ctx.deadLetterTopic, offsets: await ctx.admin.endOffsets(ctx.deadLetterTopic) });
      cp = (await store.getFile(topic, file.identity))!;
    }
    const resumed = cp;
    const fileCtx = withFileKafkaConf(ctx, resumed);
    ctx.emit({ ...started, recordsProcessed: resumed.recordsProcessed, resumed: true });
    const cut = recordsIn(resumed.tailRanges ?? []) > 0;
    if (!cut) return { cp: resumed, rows: fingerprint.rows, fileCtx, writeFrom: endOffsets, recoveredSent: 0 };
    const recovered = await recoverCutBatch(fileCtx, file, resumed);
    return { cp: recovered.cp, rows: fingerprint.rows, fileCtx, writeFrom: recovered.after, recoveredSent: recovered.sent };
  }
  const found = await checkKeys(ctx, file, { fileIdentity: file.identity, fileRows: fingerprint.rows, batchSize: ctx.batchSize, startOffsets: endOffsets });
  const fresh = await store.startFile(topic, file.identity, {
    sourcePath: file.uri,
    sourceFormat: file.format,
    batchSize: ctx.batchSize,
    startOffsets: endOffsets,
    fingerprint,
    keyFields: ctx.keys.keyFields,
    messageKey: ctx.keys.messageKey,
    duplicateRecords: found.distinctIdentities === null ? 0 : fingerprint.rows - found.distinctIdentities,
    // Replays are counted batch by batch, as they are met (another file may send some meanwhile).
    replayedRecords: 0,
    deadLetters: ctx.deadLetterTopic ? { topic: ctx.deadLetterTopic, offsets: await ctx.admin.endOffsets(ctx.deadLetterTopic) } : null,
  });
  ctx.emit({ ...started, recordsProcessed: 0, resumed: false });
  return { cp: fresh, rows: fingerprint.rows, fileCtx: withFileKafkaConf(ctx, fresh), writeFrom: endOffsets, recoveredSent: 0 };
}

/**
 * The run's Kafka settings for one file's writes: with a dead-letter topic, where the file's dead
 * letters begin there, so a task that may repeat a write finds them and sends none twice.
 */
function withFileKafkaConf(ctx: FileSyncContext, cp: FileCheckpoint): FileSyncContext {
  if (!cp.deadLetterOffsets) return ctx;
  return { ...ctx, kafkaConf: [...ctx.kafkaConf, `spark-sync.dead.letter.start.offsets=${cp.deadLetterOffsets.join(',')}`] };
}

/**
 * A file that has dead letters in one topic keeps them there: its retries and audits look for
 * them in that topic, so a resume naming another (or none) is refused before anything is sent.
 */
function assertSameDeadLetterTopic(cp: FileCheckpoint, deadLetterTopic: string | undefined): void {
  if (!cp.deadLetterTopic || cp.deadLetterTopic === deadLetterTopic) return;
  throw new SparkSyncError('USAGE', `${cp.fileName} sends its too-large rows to the dead-letter topic ${cp.deadLetterTopic}, but this run ${deadLetterTopic ? `names ${deadLetterTopic}` : 'has no --dead-letter-topic'}`, {
    hint: `rerun with --dead-letter-topic ${cp.deadLetterTopic}; nothing was sent`,
  });
}

/** Where a file's next batch starts: its index, first position, and the partitions' offsets. */
interface BatchCursor {
  index: number;
  position: number;
  offsets: number[];
}

/** One batch: marked pending, written by Spark, checked against Kafka's offsets, committed. */
async function syncBatch(ctx: FileSyncContext, file: SourceFile, batch: BatchCursor, rows: number): Promise<BatchCursor> {
  const { store, jobs, topic } = ctx;
  const batchStarted = Date.now();
  const { index, position, offsets } = batch;
  const to = Math.min(position + ctx.batchSize, rows);
  const pendingStarted = Date.now();
  await store.markPending(topic, file.identity, to, offsets);
  const pendingSeconds = (Date.now() - pendingStarted) / 1000;
  await beforeBatchWrite(index, jobs);
  const batches = index + Math.ceil((rows - position) / ctx.batchSize);
  await jobs.describeJobs(`spark-sync: ${file.identity} batch ${index + 1}/${batches} (rows ${rowNumber(position)}–${rowNumber(to)})`);
  const args: BatchArgs = {
    path: file.uri, format: file.format, fileIdentity: file.identity, from: position, to, topic,
    batchSize: ctx.batchSize, fileRows: rows, kafkaConf: ctx.kafkaConf, startOffsets: offsets, keys: ctx.keys,
  };
  const writes = await jobs.writeBatch(args);
  // Natural-key mode drops duplicates and replays: the file's total is checked at its end instead.
  if (!ctx.keys.keyFields) assertRowsAccounted(topic, file.identity, position, to, writes);
  const counts = countsByPartition(writes, offsets.length);
  const after = await ctx.admin.endOffsets(topic);
  assertOffsetsAdvancedBy(topic, offsets, counts, after);
  await crashPoint('after-ack', index, jobs);
  const deadLettered = writes.reduce((n, w) => n + w.deadLettered, 0);
  const records = counts.reduce((n, c) => n + c, 0);
  const replayed = writes.reduce((n, w) => n + w.replayed, 0);
  const commitStarted = Date.now();
  await store.commitBatch(topic, file.identity, { batchIndex: index, firstPosition: position, endPosition: to, partitionCounts: counts, endOffsets: after, deadLettered, replayed });
  const checkpointSeconds = (Date.now() - commitStarted) / 1000;
  const indexedFrom = await indexCommitted(ctx, file, index, [{ from: offsets, to: after }], { batch: args, records, deadLettered });
  ctx.emit({
    type: 'batch-committed', topic, file: file.identity, batchIndex: index, firstPosition: position, endPosition: to,
    records: ctx.keys.keyFields ? records : to - position, skipped: writes.reduce((n, w) => n + w.skipped, 0), deadLettered, recordsProcessed: to, totalRecords: rows, endOffsets: after,
    seconds: (Date.now() - batchStarted) / 1000, checkpointSeconds: checkpointSeconds + pendingSeconds, indexedFrom,
  });
  return { index: index + 1, position: to, offsets: after };
}

/** The stop's reason, told where the run stood: a batch boundary, nothing cut off. */
function stoppedAt(reason: unknown, file: string, position: number): SparkSyncError {
  if (reason instanceof SparkSyncError && reason.code === 'INTERRUPTED') {
    return new SparkSyncError('INTERRUPTED', `stopped on request at record ${position} of ${file}, at a batch boundary`, {
      hint: 'the checkpoint is consistent; rerun the same command to continue',
    });
  }
  return reason instanceof SparkSyncError ? reason : new SparkSyncError('INTERRUPTED', `stopped at record ${position} of ${file}`);
}

function result(file: SourceFile, status: FileResult['status'], totalRecords: number, recordsSent: number, batches: number, cp: FileCheckpoint, started: number): FileResult {
  return {
    file: file.identity, status, totalRecords, recordsSent, batches, deadLettered: cp.deadLettered,
    duplicates: cp.duplicateRecords, replayed: cp.replayedRecords, seconds: (Date.now() - started) / 1000,
  };
}

/** The records a committed batch put into Kafka, over all partitions. */
function recordsOf(batch: BatchCheckpoint): number {
  return batch.partitionCounts.reduce((a, c) => a + c, 0);
}

/** Natural-key mode: what this run's batches (from `position` on) put into Kafka; the rest of their rows were duplicates or replays. */
async function recordsSentSince(ctx: FileSyncContext, file: SourceFile, position: number): Promise<number> {
  const batches = (await ctx.store.listBatches(ctx.topic, file.identity)).filter((b) => b.firstPosition >= position);
  return batches.reduce((n, b) => n + recordsOf(b), 0);
}

/** Key options other than the ones a file started with would key its rest differently: refused. */
function assertSameKeyMode(cp: FileCheckpoint, keys: JobKeys): void {
  const show = (cols: string[] | null, option: string) => (cols ? `${option} ${cols.join(',')}` : `no ${option}`);
  const same = (a: string[] | null, b: string[] | null) => JSON.stringify(a) === JSON.stringify(b);
  if (same(cp.keyFields, keys.keyFields) && same(cp.messageKey, keys.messageKey)) return;
  throw new SparkSyncError('KEY_MODE_CHANGED', `${cp.fileName} was started with ${show(cp.keyFields, '--key-fields')} and ${show(cp.messageKey, '--message-key')}; this run asks for ${show(keys.keyFields, '--key-fields')} and ${show(keys.messageKey, '--message-key')}, which would key its remaining rows differently`, {
    hint: `rerun with the options it started with, or resend it deliberately under the new ones with \`spark-sync reset --file ${cp.fileName}\``,
  });
}

/** Before a file starts: a NULL business key is refused (nothing sent); natural-key mode counts duplicates and replays. */
async function checkKeys(ctx: FileSyncContext, file: SourceFile, firstBatch: Parameters<SparkJobs['checkKeys']>[3]): Promise<{ distinctIdentities: number | null; alreadySent: number | null }> {
  if (!ctx.keys.keyFields && !ctx.keys.messageKey) return { distinctIdentities: null, alreadySent: null };
  await ctx.jobs.describeJobs(`spark-sync: ${file.identity} (checking its keys)`);
  const found = await ctx.jobs.checkKeys(file.uri, file.format, ctx.keys, firstBatch);
  if (found.firstNullMessageKey !== null) {
    throw new SparkSyncError('NULL_MESSAGE_KEY', `the row at position ${found.firstNullMessageKey} of ${file.identity} has NULL in its --message-key column(s) ${ctx.keys.messageKey!.join(',')}; nothing of the file was sent`, {
      hint: 'fill or filter those rows at the source, or choose --message-key columns that are never NULL',
    });
  }
  return found;
}

/**
 * Natural-key mode, before a file completes: every row is in Kafka (its batches' records), in the
 * dead-letter topic, or dropped as a duplicate or a replay, counted when the file started.
 */
async function assertNaturalRowsAccounted(ctx: FileSyncContext, file: SourceFile, rows: number): Promise<void> {
  const cp = (await ctx.store.getFile(ctx.topic, file.identity))!;
  const batches = await ctx.store.listBatches(ctx.topic, file.identity);
  const records = batches.reduce((n, b) => n + recordsOf(b) + b.deadLettered, 0);
  // A recovery's batch counts what it found in its range, foreign records included (kept as unexpected).
  const accounted = records - cp.unexpectedRecords + cp.duplicateRecords + cp.replayedRecords;
  if (accounted !== rows) {
    throw new SparkSyncError('ROWS_UNACCOUNTED', `${file.identity} has ${rows} rows, but its batches put ${records} records into Kafka or the dead-letter topic, and ${cp.duplicateRecords} duplicates and ${cp.replayedRecords} replays were dropped: ${rows - accounted} rows unaccounted for; the file was not completed`, {
      hint: 'the source was read short or changed: check that the file is intact and unchanged, then rerun',
    });
  }
}
