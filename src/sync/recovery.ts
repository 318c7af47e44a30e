import type { Anomaly, FileCheckpoint } from '../checkpoint/checkpoint-store';
import type { JobKeys, PartitionWrite } from '../spark/spark-jobs';
import { SparkSyncError } from '../errors/spark-sync-error';
import type { FileSyncContext } from './file-sync';
import { rowNumber } from '../util/numbers';
import { assertOffsetsAdvancedBy, assertRowsAccounted, countsByPartition } from './offsets';
import type { SourceFile } from './source';
import { crashPoint } from './test-faults';
import { indexCommitted } from './identity-index';

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
export async function recoverCutBatch(ctx: FileSyncContext, file: SourceFile, cp: FileCheckpoint, endOffsets: number[]): Promise<FileCheckpoint> {
  const started = Date.now();
  const bytesBefore = await ctx.jobs.sourceBytesRead();
  const { store, jobs, topic } = ctx;
  const checkpointOffsets = cp.partitionOffsets!;
  const from = cp.recordsProcessed;
  // The cut-off write covered [from, pending); an older checkpoint without it used batch_size.
  const pending = cp.pendingEndPosition;
  const to = pending !== null && pending > from ? pending : Math.min(from + cp.batchSize, cp.totalRecords!);
  const batchIndex = (await store.listBatches(topic, file.identity)).length;
  await crashPoint('recovery-write', batchIndex, jobs);
  await jobs.describeJobs(`spark-sync: recovery of ${file.identity} batch ${batchIndex + 1} (rows ${rowNumber(from)}–${rowNumber(to)}, ${ctx.recovery})`);
  // Natural-key mode always recovers the window: a full join would count the file's own earlier
  // batches, which its identity index already holds, as unexpected.
  const window = ctx.recovery === 'window' || ctx.keys.keyFields !== null;
  const merged = window ? await mergeCutBatch(ctx, file, cp, to, endOffsets) : undefined;
  const joined = merged ? undefined : await joinCutBatch(ctx, file, cp, to, window);
  const after = merged?.after ?? joined!.after;
  const unexpected = joined && unexpectedRecords(file, to, joined);
  if (unexpected) {
    ctx.log.error({ file: file.identity, topic, unexpected_records: unexpected.records, from_offsets: unexpected.fromOffsets, to_offsets: unexpected.toOffsets },
      `${unexpected.records} record(s) in the offset range of ${file.identity} are not its own rows (duplicates or foreign writes); the file still completes, and the checkpoint keeps the anomaly`);
  }
  const writes = merged?.writes ?? joined!.writes;
  if (merged && !ctx.keys.keyFields) assertRowsAccounted(topic, file.identity, from, to, writes);
  await store.commitBatch(topic, file.identity, {
    batchIndex, firstPosition: from, endPosition: to,
    partitionCounts: after.map((end, p) => end - checkpointOffsets[p]), endOffsets: after,
    deadLettered: writes.reduce((n, w) => n + w.deadLettered, 0),
    ...(unexpected ? { unexpected } : {}),
  });
  await indexCommitted(ctx, file, batchIndex, checkpointOffsets, after);
  const found = endOffsets.reduce((n, end, p) => n + end - checkpointOffsets[p], 0);
  const added = after.reduce((n, end, p) => n + end - checkpointOffsets[p], 0);
  ctx.emit({
    type: 'file-recovered', topic, file: file.identity, mode: ctx.recovery, method: merged ? 'merge' : 'join',
    foundInKafka: found, deltaWritten: added - found, recordsProcessed: to, unexpectedRecords: unexpected?.records ?? 0,
    seconds: (Date.now() - started) / 1000, sourceBytesRead: (await ctx.jobs.sourceBytesRead()) - bytesBefore,
  });
  return (await store.getFile(topic, file.identity))!;
}

/**
 * Whether the Spark job writes a file's batches directly, each reading task to every partition
 * (io.sparksync.jobs.internal.DirectWriter#applies makes the same choice): positional identities
 * as Kafka keys, from Parquet. Otherwise one task writes each partition in position order.
 */
export function writesDirect(format: string, keys: JobKeys): boolean {
  return format === 'parquet' && !keys.keyFields && !keys.messageKey;
}

/**
 * What the anti-join found beyond the rows it recovered. Kafka held `found` records in the range
 * it searched; of the `rows` rows it joined, `delta` were missing and have been written, so
 * `rows - delta` of the found records are the file's own (each key is unique in the file). The
 * rest are duplicates of its keys or foreign records: undefined when there are none.
 */
function unexpectedRecords(file: SourceFile, to: number, joined: JoinResult): Omit<Anomaly, 'batchIndex' | 'foundAt'> | undefined {
  const found = joined.keysTo.reduce((n, end, p) => n + end - joined.keysFrom[p], 0);
  const rows = joined.records;
  // Every row not found was written now: into the topic, or (too large) to the dead-letter topic.
  const delta = joined.writes.reduce((n, w) => n + w.records + w.deadLettered, 0);
  const extra = found - (rows - delta);
  if (extra < 0) {
    throw new SparkSyncError('ROWS_UNACCOUNTED', `recovering rows ${joined.from}–${to} of ${file.identity}: Kafka held ${found} records in the range, the join wrote ${delta} of ${rows} rows, so ${-extra} of the file's rows are neither in Kafka nor written; nothing was committed`, {
      hint: 'the source was read short: check that the file is intact and unchanged, then rerun',
    });
  }
  return extra > 0 ? { records: extra, fromOffsets: joined.keysFrom, toOffsets: joined.keysTo, foundBy: 'recovery' } : undefined;
}

/**
 * Window recovery as an ordered merge: the crashed run's tasks wrote each partition's share of the
 * batch in position order, so what Kafka holds past the checkpoint is a prefix of it, checked key
 * by key and skipped. Returns the end offsets after and what each task did, or undefined when a partition holds anything
 * else (RESUME_MISMATCH): the anti-join must recover the batch then.
 */
async function mergeCutBatch(ctx: FileSyncContext, file: SourceFile, cp: FileCheckpoint, to: number, endOffsets: number[]): Promise<{ after: number[]; writes: PartitionWrite[] } | undefined> {
  const from = cp.recordsProcessed;
  const fileRows = cp.totalRecords!;
  const startOffsets = cp.partitionOffsets!;
  // The same batch size as the batches after it, so they share one read and shuffle.
  const batchSize = to === Math.min(from + ctx.batchSize, fileRows) ? ctx.batchSize : to - from;
  try {
    const writes = await ctx.jobs.resumeBatch({
      path: file.uri, format: file.format, fileIdentity: file.identity, from, to, topic: ctx.topic, batchSize, fileRows,
      kafkaConf: ctx.kafkaConf, startOffsets, keys: ctx.keys,
    });
    // A batch written directly: each task found its own rows by their headers. Anything else past
    // the checkpoint (a foreign record) is for the anti-join to find and keep as an anomaly; it
    // adds nothing now, since every row of the batch is in Kafka.
    const found = endOffsets.reduce((n, end, p) => n + end - startOffsets[p], 0);
    const skipped = writes.reduce((n, w) => n + w.skipped, 0);
    if (writesDirect(file.format, ctx.keys) && skipped !== found) {
      throw new SparkSyncError('RESUME_MISMATCH', `${found} records past the checkpoint, of which ${skipped} are the batch's own`);
    }
    const after = await ctx.admin.endOffsets(ctx.topic);
    assertOffsetsAdvancedBy(ctx.topic, startOffsets, countsByPartition(writes, startOffsets.length), after);
    return { after, writes };
  } catch (err) {
    if (!(err instanceof SparkSyncError && err.code === 'RESUME_MISMATCH')) throw err;
    ctx.log.warn({ file: file.identity, topic: ctx.topic, reason: err.message }, 'records past the checkpoint are not just the cut-off batch; recovering it with the anti-join');
    return undefined;
  }
}

/** What the anti-join searched (its rows from `from`, the keys at `[keysFrom, keysTo)`) and wrote. */
interface JoinResult {
  from: number;
  /** The records rows `[from, to)` hold: every row, or in natural-key mode the first of each new identity. */
  records: number;
  keysFrom: number[];
  keysTo: number[];
  writes: PartitionWrite[];
  /** The end offsets after the write. */
  after: number[];
}

/**
 * Recovery by Spark's anti-join: the rows of the cut-off batch (window) or of the whole file so
 * far (full) whose keys are not in the topic between the checkpoint (window) or the file's start
 * offsets (full) and the current end offsets are appended.
 */
async function joinCutBatch(ctx: FileSyncContext, file: SourceFile, cp: FileCheckpoint, to: number, window: boolean): Promise<JoinResult> {
  const full = !window;
  const from = full ? 0 : cp.recordsProcessed;
  const keysFrom = full ? cp.startOffsets! : cp.partitionOffsets!;
  const keysTo = await ctx.admin.endOffsets(ctx.topic);
  const writes = await ctx.jobs.writeDelta({
    path: file.uri, format: file.format, fileIdentity: file.identity, from, to, topic: ctx.topic,
    kafkaConf: ctx.kafkaConf, keysFrom, keysTo, keys: ctx.keys,
  });
  const after = await ctx.admin.endOffsets(ctx.topic);
  assertOffsetsAdvancedBy(ctx.topic, keysTo, countsByPartition(writes, keysTo.length), after);
  const records = ctx.keys.keyFields
    ? await ctx.jobs.countRecords({ path: file.uri, format: file.format, fileIdentity: file.identity, from, to, keys: ctx.keys })
    : to - from;
  return { from, records, keysFrom, keysTo, writes, after };
}
