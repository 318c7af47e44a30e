import type { FileCheckpoint } from '../checkpoint/checkpoint-store';
import { SparkSyncError } from '../errors/spark-sync-error';
import type { PartitionWrite } from '../spark/spark-jobs';

/**
 * The offset arithmetic of a sync (DESIGN.md §2): what a batch must have added to each
 * partition, and what a file's checkpoint offsets require of the topic before it continues.
 */

/** Per partition, the records a write put there (0 for a partition it did not touch). */
export function countsByPartition(writes: PartitionWrite[], partitions: number): number[] {
  const counts = new Array<number>(partitions).fill(0);
  for (const w of writes) counts[w.partition] = w.records;
  return counts;
}

/**
 * Every row of a batch is accounted for before it commits: the writing tasks saw exactly the
 * batch's `to - from` rows (each sent now, skipped as already in Kafka, or dead-lettered). Fewer
 * means the reader dropped rows (a corrupt split skipped, a file gone), more a broken plan:
 * committing either would mark rows processed that Kafka never got.
 */
export function assertRowsAccounted(topic: string, file: string, from: number, to: number, writes: PartitionWrite[]): void {
  const sent = writes.reduce((n, w) => n + w.sent, 0);
  const skipped = writes.reduce((n, w) => n + w.skipped, 0);
  const deadLettered = writes.reduce((n, w) => n + w.deadLettered, 0);
  const inKafka = writes.reduce((n, w) => n + w.records, 0);
  if (sent + skipped + deadLettered === to - from && sent + skipped === inKafka) return;
  throw new SparkSyncError('ROWS_UNACCOUNTED', `the batch of rows ${from}–${to} of ${file} has ${to - from} rows, but the writing tasks accounted for ${sent + skipped + deadLettered} (${sent} sent, ${skipped} already in ${topic}, ${deadLettered} dead-lettered); nothing was committed`, {
    hint: 'the source was read short or long: check that the file is intact and unchanged, then rerun (the batch is recovered)',
  });
}

/**
 * After a batch, each partition must have grown by exactly the batch's records there. Anything
 * else means another producer wrote to the topic, and the checkpoint would no longer describe it.
 */
export function assertOffsetsAdvancedBy(topic: string, before: number[], counts: number[], after: number[]): void {
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

/**
 * An IN_PROGRESS file continues only on the topic it started on (DESIGN.md §2, recovery step
 * 2): the same partition count, and no partition ending below the checkpoint's offset.
 */
export function assertResumableOffsets(cp: FileCheckpoint, partitions: number, endOffsets: number[]): void {
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
