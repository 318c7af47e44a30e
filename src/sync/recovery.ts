import type { Anomaly, FileCheckpoint } from '../checkpoint/checkpoint-store';
import { CANCEL_WAIT_MS } from '../spark/spark-jobs';
import type { JobKeys, PartitionWrite } from '../spark/spark-jobs';
import { SparkSyncError } from '../errors/spark-sync-error';
import type { KafkaAdmin } from '../kafka/kafka-admin';
import { OffsetRange, countsIn, mergeRanges, recordsIn } from '../kafka/offset-range';
import type { FileSyncContext } from './file-sync-context';
import { rowNumber } from '../util/numbers';
import { assertOffsetsAdvancedBy, assertRowsAccounted, countsByPartition } from './offsets';
import type { SourceFile } from './source';
import { crashPoint } from './test-faults';
import { indexCommitted } from './identity-index';

/**
 * Recovery of a batch cut off by a crash (DESIGN.md §2, step 3). When this run began, the records
 * the crashed write left past the checkpoint were sealed into the file's tail (cut-off-writes.ts);
 * other files may have written after them since.
 * - window: the anti-join of the cut-off batch against the keys in its tail. Where the tail runs
 *   up to the topic's end, it is done as an ordered merge inside each partition's task
 *   (resumeBatch): Kafka must hold a prefix of the partition's share, checked key by key, and the
 *   rest is appended; it shares the file's read and shuffle with the batches after it. Anything
 *   else (a foreign record, another file's records after the tail) goes to the Spark anti-join of
 *   the batch against the keys in the tail, writing what is missing at the topic's end.
 * - full: the Spark anti-join of the whole file so far against the keys of all its ranges.
 * The checkpoint then commits the batch as a whole, with the ranges its records lie in. A crash in
 * here is recovered the same way on the next run: the write is opened first, so its records are
 * sealed into the tail too.
 */
export async function recoverCutBatch(ctx: FileSyncContext, file: SourceFile, cp: FileCheckpoint): Promise<{ cp: FileCheckpoint; after: number[]; sent: number }> {
  const started = Date.now();
  const bytesBefore = await ctx.jobs.sourceBytesRead();
  const { store, jobs, topic } = ctx;
  const checkpointOffsets = cp.partitionOffsets!;
  const tail = cp.tailRanges ?? [];
  const from = cp.recordsProcessed;
  // The cut-off write covered [from, pending); an older checkpoint without it used batch_size.
  const pending = cp.pendingEndPosition;
  const to = pending !== null && pending > from ? pending : Math.min(from + cp.batchSize, cp.totalRecords!);
  const batchIndex = (await store.listBatches(topic, file.identity)).length;
  await crashPoint('recovery-write', batchIndex, jobs);
  await jobs.describeJobs(`spark-sync: recovery of ${file.identity} batch ${batchIndex + 1} (rows ${rowNumber(from)}–${rowNumber(to)}, ${ctx.recovery})`);
  const end = await ctx.admin.endOffsets(topic);
  // Whatever this recovery writes lies from here on, until it commits.
  await store.openWrite(topic, file.identity, end);
  // Natural-key mode always recovers the window: a full join would count the file's own earlier
  // batches, which its identity index already holds, as unexpected.
  const window = ctx.recovery === 'window' || ctx.keys.keyFields !== null;
  const inPlace = tail.length === 1 && tail[0].from.every((f, p) => f === checkpointOffsets[p]) && tail[0].to.every((t, p) => t === end[p]);
  const merged = window && inPlace ? await mergeCutBatch(ctx, file, cp, to, end) : undefined;
  const joined = merged ? undefined : await joinCutBatch(ctx, file, cp, to, window, merged === undefined && window && inPlace ? end : undefined);
  const after = merged?.after ?? joined!.after;
  const unexpected = joined && unexpectedRecords(file, to, joined);
  if (unexpected) {
    ctx.log.error({ file: file.identity, topic, unexpected_records: unexpected.records, from_offsets: unexpected.fromOffsets, to_offsets: unexpected.toOffsets },
      `${unexpected.records} record(s) in the offset range of ${file.identity} are not its own rows (duplicates or foreign writes); the file still completes, and the checkpoint keeps the anomaly`);
  }
  const writes = merged?.writes ?? joined!.writes;
  if (merged && !ctx.keys.keyFields) assertRowsAccounted(topic, file.identity, from, to, writes);
  // The tasks count every row of what they covered that belongs in the dead-letter topic, there
  // already or sent now. A full join covers the committed batches too, whose dead letters the
  // checkpoint has counted already: only the cut-off batch's are new.
  const deadLetteredSeen = writes.reduce((n, w) => n + w.deadLettered, 0);
  const deadLettered = joined && joined.from === 0 && from > 0 ? Math.max(0, deadLetteredSeen - cp.deadLettered) : deadLetteredSeen;
  // The batch's records: what the crashed write left (its tail) and what this one added.
  const ranges = merged ? [{ from: checkpointOffsets, to: after }] : mergeRanges([...joined!.ownRanges, { from: joined!.writeFrom, to: after }]);
  await store.commitBatch(topic, file.identity, {
    batchIndex, firstPosition: from, endPosition: to,
    partitionCounts: countsIn(ranges, after.length), endOffsets: after,
    deadLettered, replayed: writes.reduce((n, w) => n + w.replayed, 0),
    ...(ranges.length > 1 ? { ranges } : {}),
    ...(unexpected ? { unexpected } : {}),
  });
  await indexCommitted(ctx, file, batchIndex, ranges);
  const found = recordsIn(tail);
  const added = recordsIn(ranges) - found;
  ctx.emit({
    type: 'file-recovered', topic, file: file.identity, mode: ctx.recovery, method: merged ? 'merge' : 'join',
    foundInKafka: found, deltaWritten: added, recordsProcessed: to, unexpectedRecords: unexpected?.records ?? 0,
    seconds: (Date.now() - started) / 1000, sourceBytesRead: (await ctx.jobs.sourceBytesRead()) - bytesBefore,
  });
  return { cp: (await store.getFile(topic, file.identity))!, after, sent: added };
}

/**
 * Whether the Spark job writes a file's batches directly, each reading task to every partition
 * (io.sparksync.jobs.internal.DirectWriter#applies makes the same choice): identities (positional
 * or natural) as Kafka keys, from Parquet. Otherwise one task writes each partition in position
 * order.
 */
export function writesDirect(format: string, keys: JobKeys): boolean {
  return format === 'parquet' && !keys.messageKey;
}

/**
 * What the anti-join found beyond the rows it recovered. Kafka held `found` records in the ranges
 * it searched; of the `rows` rows it joined, `delta` were missing and have been written, so
 * `rows - delta` of the found records are the file's own (each key is unique in the file). The
 * rest are duplicates of its keys or foreign records: undefined when there are none.
 */
function unexpectedRecords(file: SourceFile, to: number, joined: JoinResult): Omit<Anomaly, 'batchIndex' | 'foundAt'> | undefined {
  const found = recordsIn(joined.keyRanges);
  const rows = joined.records;
  // Every row not found was written now: into the topic, or (too large) to the dead-letter topic.
  const delta = joined.writes.reduce((n, w) => n + w.records + w.deadLettered, 0);
  const extra = found - (rows - delta);
  if (extra < 0) {
    throw new SparkSyncError('ROWS_UNACCOUNTED', `recovering rows ${joined.from}–${to} of ${file.identity}: Kafka held ${found} records in the range, the join wrote ${delta} of ${rows} rows, so ${-extra} of the file's rows are neither in Kafka nor written; nothing was committed`, {
      hint: 'the source was read short: check that the file is intact and unchanged, then rerun',
    });
  }
  const first = joined.keyRanges[0];
  const last = joined.keyRanges[joined.keyRanges.length - 1];
  return extra > 0 ? { records: extra, fromOffsets: first.from, toOffsets: last.to, foundBy: 'recovery' } : undefined;
}

/**
 * Window recovery as an ordered merge: the crashed run's tasks wrote each partition's share of the
 * batch in position order, so what Kafka holds past the checkpoint (its tail, up to the topic's
 * end) is a prefix of it, checked key by key and skipped. Returns the end offsets after and what
 * each task did, or undefined when a partition holds anything else (RESUME_MISMATCH): the
 * anti-join must recover the batch then.
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
    // The failed job's other tasks may still be sending: the anti-join's key window must hold
    // everything they wrote, so they are stopped, and Kafka allowed to stand still, first.
    const stopped = await ctx.jobs.cancelRunning(CANCEL_WAIT_MS);
    if (!stopped) {
      throw new SparkSyncError('INTERRUPTED', `the resume of rows ${from}–${to} of ${file.identity} failed (${err.message}) and its Spark tasks were still running ${CANCEL_WAIT_MS / 1000} s after being cancelled, so the anti-join could not start; nothing was committed`, {
        hint: 'rerun the same command: the batch is recovered again (safe to retry)',
      });
    }
    ctx.log.warn({ file: file.identity, topic: ctx.topic, reason: err.message, tasks_running_after_stop: await ctx.jobs.runningTasks() }, 'records past the checkpoint are not just the cut-off batch; recovering it with the anti-join');
    return undefined;
  }
}

/**
 * A partition's end offsets once they have stood still for {@link SETTLE_MS} (records a stopped
 * task had in flight land within that): where the anti-join's key window must reach.
 */
async function settledEndOffsets(admin: KafkaAdmin, topic: string): Promise<number[]> {
  let ends = await admin.endOffsets(topic);
  let stillSince = Date.now();
  const deadline = Date.now() + SETTLE_MAX_MS;
  while (Date.now() - stillSince < SETTLE_MS) {
    if (Date.now() > deadline) {
      throw new SparkSyncError('OFFSET_MISMATCH', `topic ${topic} kept growing for ${SETTLE_MAX_MS / 1000} s after the resume's tasks were stopped: another producer is writing to it`, {
        hint: 'stop the other producer and check the topic before rerunning (nothing was committed)',
      });
    }
    await new Promise((r) => setTimeout(r, 250));
    const now = await admin.endOffsets(topic);
    if (now.some((end, p) => end !== ends[p])) {
      ends = now;
      stillSince = Date.now();
    }
  }
  return ends;
}

/** As the writing tasks' PartitionWriter.SETTLE_MS and SETTLE_MAX_MS. */
const SETTLE_MS = 3_000;
const SETTLE_MAX_MS = 60_000;

/** What the anti-join searched (its rows from `from`, the keys in `keyRanges`) and wrote (at `writeFrom`). */
interface JoinResult {
  from: number;
  /** The records rows `[from, to)` hold: every row, or in natural-key mode the first of each new identity. */
  records: number;
  keyRanges: OffsetRange[];
  /** Of those, the cut-off batch's own: its tail, and what a merge that gave up had appended. */
  ownRanges: OffsetRange[];
  writeFrom: number[];
  writes: PartitionWrite[];
  /** The end offsets after the write. */
  after: number[];
}

/**
 * Recovery by Spark's anti-join: the rows of the cut-off batch (window) or of the whole file so
 * far (full) whose keys are not in the batch's tail (window) or in any of the file's ranges
 * (full) are appended at the topic's end. `mergedFrom`: where a merge that gave up began
 * appending, so what it wrote counts as found.
 */
async function joinCutBatch(ctx: FileSyncContext, file: SourceFile, cp: FileCheckpoint, to: number, window: boolean, mergedFrom: number[] | undefined): Promise<JoinResult> {
  const full = !window;
  const from = full ? 0 : cp.recordsProcessed;
  // After a merge that gave up, its stopped tasks' last records may still be landing.
  const writeFrom = mergedFrom ? await settledEndOffsets(ctx.admin, ctx.topic) : await ctx.admin.endOffsets(ctx.topic);
  const ownRanges = mergeRanges([...(cp.tailRanges ?? []), ...(mergedFrom ? [{ from: mergedFrom, to: writeFrom }] : [])]);
  const committed = full ? (await ctx.store.listBatches(ctx.topic, file.identity)).flatMap((b) => b.ranges) : [];
  const keyRanges = mergeRanges([...committed, ...ownRanges]);
  const writes = await ctx.jobs.writeDelta({
    path: file.uri, format: file.format, fileIdentity: file.identity, from, to, topic: ctx.topic,
    kafkaConf: ctx.kafkaConf, keyRanges: keyRanges.length ? keyRanges : [{ from: writeFrom, to: writeFrom }], writeFrom, keys: ctx.keys,
  });
  const after = await ctx.admin.endOffsets(ctx.topic);
  assertOffsetsAdvancedBy(ctx.topic, writeFrom, countsByPartition(writes, writeFrom.length), after);
  const records = ctx.keys.keyFields
    ? await ctx.jobs.countRecords({ path: file.uri, format: file.format, fileIdentity: file.identity, from, to, keys: ctx.keys })
    : to - from;
  return { from, records, keyRanges, ownRanges, writeFrom, writes, after };
}
