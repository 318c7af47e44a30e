import { createHash } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CheckpointStore, FileCheckpoint } from '../checkpoint/checkpoint-store';
import { SparkSyncError } from '../errors/spark-sync-error';
import type { KafkaAdmin } from '../kafka/kafka-admin';
import { OffsetRange, isEmptyRange, recordsIn } from '../kafka/offset-range';
import type { Logger } from '../log/logger';
import type { BatchArgs, SparkJobs } from '../spark/spark-jobs';
import type { FileSyncContext } from './file-sync-context';
import type { SourceFile } from './source';
import { crashPoint } from './test-faults';

/**
 * The identity index of a topic (natural-key mode): the identities its committed batches put into
 * Kafka, one Parquet segment per batch, beside the checkpoint. A replay check anti-joins a file's
 * records against it in Spark, so no run reads the topic's history, and nothing reaches the driver.
 *
 * Why Parquet beside the checkpoint rather than a compacted topic: it is read by column (32 bytes
 * per identity), joined where it lies, and it shares the checkpoint's fate (same disk, same
 * backups, same reset). A compacted topic would be read in full by every run and compacts on the
 * broker's schedule, not ours.
 *
 * Order, for crash safety: Kafka acknowledges the batch, the checkpoint commits it, then its
 * segment is written (whole, by rename): from the batch plan that wrote it when it holds exactly
 * the records the batch's offsets confirmed, else read back from the batch's offset range. A crash in between leaves a committed batch without a
 * segment; every natural-key run first reconciles the index with the checkpoint, rebuilding such
 * segments from the batch's own offset range in Kafka and deleting those of reset files.
 */
export function identityIndexUri(checkpointFile: string, topic: string, location?: string): string {
  if (location) return `${location.startsWith('/') ? pathToFileURL(location).href : location.replace(/\/+$/, '')}/${topic}`;
  return pathToFileURL(path.join(path.dirname(checkpointFile), 'identity-index', topic)).href;
}

/** A batch's segment: a digest of the file identity (any characters, any length), then the batch. */
export function segmentName(fileIdentity: string, batchIndex: number): string {
  return `${createHash('sha256').update(fileIdentity, 'utf8').digest('hex').slice(0, 24)}-${batchIndex}`;
}

/**
 * The segment of a cut-off batch's sealed tail (cut-off-writes.ts): the identities it already put
 * into Kafka, so no other file sends them while the batch waits for its recovery. Named after
 * the batch and its ranges, so a tail that grew gets a new segment and the old one is deleted.
 */
export function tailSegmentName(fileIdentity: string, batchIndex: number, tail: OffsetRange[]): string {
  return `${segmentName(fileIdentity, batchIndex)}-tail-${createHash('sha256').update(JSON.stringify(tail)).digest('hex').slice(0, 8)}`;
}

/** What a segment holds: the identities in its offset ranges, found where the file's mode puts them. */
interface Segment {
  name: string;
  file: FileCheckpoint;
  ranges: OffsetRange[];
}

/** Every committed natural-key batch of the topic that put records into Kafka, and every sealed tail. */
async function expectedSegments(store: CheckpointStore, topic: string): Promise<Segment[]> {
  const segments: Segment[] = [];
  for (const file of await store.listFiles(topic)) {
    if (!file.keyFields) continue;
    const batches = await store.listBatches(topic, file.fileName);
    for (const b of batches) {
      if (recordsIn(b.ranges) === 0) continue;
      segments.push({ name: segmentName(file.fileName, b.batchIndex), file, ranges: b.ranges });
    }
    const tail = file.status === 'IN_PROGRESS' ? (file.tailRanges ?? []) : [];
    if (recordsIn(tail) > 0) segments.push({ name: tailSegmentName(file.fileName, batches.length, tail), file, ranges: tail });
  }
  return segments;
}

/** Brings the topic's index in line with its checkpoint; run under the lease, before any natural-key file is planned. */
export async function reconcileIdentityIndex(deps: { store: CheckpointStore; jobs: SparkJobs; admin: KafkaAdmin; log: Logger }, topic: string, index: string, kafkaConf: string[]): Promise<void> {
  const expected = await expectedSegments(deps.store, topic);
  const absent = new Set(await deps.jobs.reconcileIdentityIndex(index, expected.map((s) => s.name)));
  const missing = expected.filter((e) => absent.has(e.name));
  if (missing.length > 0) assertStillInKafka(topic, index, missing, await deps.admin.startOffsets(topic));
  for (const s of missing) {
    const started = Date.now();
    await deps.jobs.writeIdentitySegment({ index, segment: s.name, topic, kafkaConf, ranges: s.ranges, messageKey: s.file.messageKey });
    deps.log.warn({ topic, file: s.file.fileName, segment: s.name, identities: recordsIn(s.ranges), seconds: (Date.now() - started) / 1000 },
      s.name.includes('-tail-') ? 'indexed the identities of a cut-off batch\'s sealed tail, so no other file sends them again' : 'the identity index lacked a committed batch (a crash came before its segment was written, or the index is new here); rebuilt it from Kafka');
  }
}

/**
 * A lost segment is rebuilt from its batch's records in Kafka; once retention (or a deletion of
 * records) has removed them, the identities are gone from the topic too. That is a person's
 * decision, not a retry: one line naming the topic, the partitions and offsets, and the ways out.
 */
function assertStillInKafka(topic: string, index: string, missing: Segment[], logStart: number[]): void {
  const lost = missing.flatMap((s) => s.ranges.flatMap((r) => r.from.flatMap((from, p) => (r.to[p] > from && logStart[p] > from ? [{ s, p, from, to: r.to[p] }] : []))));
  if (lost.length === 0) return;
  const files = [...new Set(lost.map((l) => l.s.file.fileName))];
  const where = lost.slice(0, 5).map((l) => `partition ${l.p} offsets ${l.from}–${l.to} (it now starts at ${logStart[l.p]})`).join(', ');
  throw new SparkSyncError('IDENTITY_INDEX_LOST', `the identity index ${index} of topic ${topic} lacks the identities of ${lost.length === 1 ? 'a committed batch' : 'committed batches'} of ${files.join(', ')}, and Kafka no longer holds their records to rebuild them from: ${where}${lost.length > 5 ? `, and ${lost.length - 5} more` : ''}; retention or a deletion of records removed them; nothing was sent`, {
    hint: `restore the index folder from a backup and rerun, or forget those files with \`spark-sync reset --file <name> --topic ${topic} --yes\` (a later replay of their rows would then be sent again); see "Natural keys: a lost index" in the docs`,
  });
}

/** Adds a just-committed batch's identities (in its offset ranges) to the index. */
export async function indexBatch(jobs: SparkJobs, args: { index: string; topic: string; kafkaConf: string[]; file: string; batchIndex: number; messageKey: string[] | null; ranges: OffsetRange[] }): Promise<void> {
  const ranges = args.ranges.filter((r) => !isEmptyRange(r));
  if (ranges.length === 0) return;
  await jobs.writeIdentitySegment({ index: args.index, segment: segmentName(args.file, args.batchIndex), topic: args.topic, kafkaConf: args.kafkaConf, ranges, messageKey: args.messageKey });
}

/**
 * After a batch's checkpoint commit, in natural-key mode: its identities join the topic's index.
 * A batch just written by this run (`written`: its request, the records it put into Kafka and the
 * rows it sent to the dead-letter topic) is indexed from the batch plan that wrote it, which still
 * holds its records; a recovered batch, or one the plan cannot account for exactly, is read back
 * from its offset ranges in Kafka.
 */
export async function indexCommitted(ctx: FileSyncContext, file: SourceFile, batchIndex: number, ranges: OffsetRange[], written?: { batch: BatchArgs; records: number; deadLettered: number }): Promise<'plan' | 'kafka' | undefined> {
  if (!ctx.keys.identityIndex) return undefined;
  await crashPoint('before-index', batchIndex, ctx.jobs);
  await ctx.jobs.describeJobs(`spark-sync: ${file.identity} batch ${batchIndex + 1} (indexing its identities)`);
  const segment = segmentName(file.identity, batchIndex);
  // A dead-lettered row is placed in the plan but is not in Kafka, so the index must not hold it.
  if (written && written.records > 0 && written.deadLettered === 0
    && await ctx.jobs.indexBatchFromPlan({ ...written.batch, segment, identities: written.records })) return 'plan';
  await indexBatch(ctx.jobs, {
    index: ctx.keys.identityIndex, topic: ctx.topic, kafkaConf: ctx.kafkaConf, file: file.identity, batchIndex, messageKey: ctx.keys.messageKey, ranges,
  });
  return 'kafka';
}
