import { createHash } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CheckpointStore, FileCheckpoint } from '../checkpoint/checkpoint-store';
import type { Logger } from '../log/logger';
import type { SparkJobs } from '../spark/spark-jobs';
import type { FileSyncContext } from './file-sync';
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
 * segment is written (whole, by rename). A crash in between leaves a committed batch without a
 * segment; every natural-key run first reconciles the index with the checkpoint, rebuilding such
 * segments from the batch's own offset range in Kafka and deleting those of reset files.
 */
export function identityIndexUri(checkpointFile: string, topic: string): string {
  return pathToFileURL(path.join(path.dirname(checkpointFile), 'identity-index', topic)).href;
}

/** A batch's segment: a digest of the file identity (any characters, any length), then the batch. */
export function segmentName(fileIdentity: string, batchIndex: number): string {
  return `${createHash('sha256').update(fileIdentity, 'utf8').digest('hex').slice(0, 24)}-${batchIndex}`;
}

/** What a segment holds: the identities at offsets `[from, to)`, found where the file's mode puts them. */
interface Segment {
  name: string;
  file: FileCheckpoint;
  from: number[];
  to: number[];
}

/** Every committed natural-key batch of the topic that put records into Kafka. */
async function expectedSegments(store: CheckpointStore, topic: string): Promise<Segment[]> {
  const segments: Segment[] = [];
  for (const file of await store.listFiles(topic)) {
    if (!file.keyFields) continue;
    for (const b of await store.listBatches(topic, file.fileName)) {
      if (b.partitionCounts.every((n) => n === 0)) continue;
      segments.push({ name: segmentName(file.fileName, b.batchIndex), file, from: b.endOffsets.map((end, p) => end - b.partitionCounts[p]), to: b.endOffsets });
    }
  }
  return segments;
}

/** Brings the topic's index in line with its checkpoint; run under the lease, before any natural-key file is planned. */
export async function reconcileIdentityIndex(deps: { store: CheckpointStore; jobs: SparkJobs; log: Logger }, topic: string, index: string, kafkaConf: string[]): Promise<void> {
  const expected = await expectedSegments(deps.store, topic);
  const missing = new Set(await deps.jobs.reconcileIdentityIndex(index, expected.map((s) => s.name)));
  for (const s of expected.filter((e) => missing.has(e.name))) {
    deps.log.warn({ topic, file: s.file.fileName, segment: s.name }, 'the identity index lacked a committed batch (a crash came before its segment was written); rebuilding it from Kafka');
    await deps.jobs.writeIdentitySegment({ index, segment: s.name, topic, kafkaConf, from: s.from, to: s.to, messageKey: s.file.messageKey });
  }
}

/** Adds a just-committed batch's identities (at offsets `[from, to)`) to the index. */
export async function indexBatch(jobs: SparkJobs, args: { index: string; topic: string; kafkaConf: string[]; file: string; batchIndex: number; messageKey: string[] | null; from: number[]; to: number[] }): Promise<void> {
  if (args.to.every((end, p) => end === args.from[p])) return;
  await jobs.writeIdentitySegment({ index: args.index, segment: segmentName(args.file, args.batchIndex), topic: args.topic, kafkaConf: args.kafkaConf, from: args.from, to: args.to, messageKey: args.messageKey });
}

/** After a batch's checkpoint commit, in natural-key mode: its identities join the topic's index. */
export async function indexCommitted(ctx: FileSyncContext, file: SourceFile, batchIndex: number, before: number[], after: number[]): Promise<void> {
  if (!ctx.keys.identityIndex) return;
  await crashPoint('before-index', batchIndex, ctx.jobs);
  await indexBatch(ctx.jobs, {
    index: ctx.keys.identityIndex, topic: ctx.topic, kafkaConf: ctx.kafkaConf, file: file.identity, batchIndex, messageKey: ctx.keys.messageKey, from: before, to: after,
  });
}
