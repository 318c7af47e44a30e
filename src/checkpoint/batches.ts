/**
 * The `batches` table: one row per batch Kafka has acknowledged. A batch and the file's advance
 * past it (offsets, records processed, no pending write) commit in one transaction, so the
 * checkpoint never holds a batch without the position after it, or the other way round.
 */
import { SparkSyncError } from '../errors/spark-sync-error';
import { FileStatus, assertTransition } from './file-state';
import { LeaseToken, assertLeaseHeld } from './lease';
import { Anomaly, BatchCheckpoint, BatchRow, toBatchCheckpoint } from './rows';
import { SqliteDb } from './sqlite-db';
import { OffsetRange } from '../kafka/offset-range';

export interface BatchCommit {
  batchIndex: number;
  firstPosition: number;
  endPosition: number;
  partitionCounts: number[];
  endOffsets: number[];
  /** Rows of the batch Kafka refused as too large, sent to the dead-letter topic instead. */
  deadLettered?: number;
  /**
   * Records found in the batch's offset range that are not its own rows (duplicates of its keys,
   * or foreign records): the batch still commits, and the file keeps the anomaly.
   */
  unexpected?: Omit<Anomaly, 'batchIndex' | 'foundAt'>;
  /**
   * Where the batch's records lie when not in one piece just before `endOffsets` (a recovery that
   * wrote after another file's records); its counts are `partitionCounts` summed.
   */
  ranges?: OffsetRange[];
  /** Natural keys: rows whose identity another file or run had sent, counted, not sent. */
  replayed?: number;
}

export async function listBatches(db: SqliteDb, topic: string, fileName: string): Promise<BatchCheckpoint[]> {
  const rows = await db.all<BatchRow>(
    'SELECT * FROM batches WHERE kafka_topic = ? AND file_name = ? ORDER BY batch_index',
    [topic, fileName],
  );
  return rows.map(toBatchCheckpoint);
}

export async function commitBatch(db: SqliteDb, lease: LeaseToken, fileName: string, batch: BatchCommit): Promise<void> {
  const { topic } = lease;
  await db.transaction(async (tx) => {
    await assertLeaseHeld(tx, lease);
    const row = await tx.get<{ status: FileStatus; records_processed: number; anomalies: string | null; replay_accounting: string }>(
      'SELECT status, records_processed, anomalies, replay_accounting FROM files WHERE kafka_topic = ? AND file_name = ?',
      [topic, fileName],
    );
    assertTransition(fileName, row?.status ?? 'NOT_STARTED', 'IN_PROGRESS');
    if (row!.records_processed !== batch.firstPosition) {
      throw new SparkSyncError('INTERNAL', `batch ${batch.batchIndex} of ${fileName} starts at ${batch.firstPosition} but the checkpoint is at ${row!.records_processed}`);
    }
    const now = new Date().toISOString();
    const deadLettered = batch.deadLettered ?? 0;
    const unexpected = batch.unexpected?.records ?? 0;
    const replayed = batch.replayed ?? 0;
    await tx.run(
      `INSERT INTO batches (kafka_topic, file_name, batch_index, first_position, end_position, partition_counts, end_offsets, committed_at,
         dead_lettered, unexpected_records, ranges, replayed_records)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [topic, fileName, batch.batchIndex, batch.firstPosition, batch.endPosition,
        JSON.stringify(batch.partitionCounts), JSON.stringify(batch.endOffsets), now, deadLettered, unexpected,
        batch.ranges ? JSON.stringify(batch.ranges) : null, replayed],
    );
    const anomalies = JSON.parse(row!.anomalies ?? '[]') as Anomaly[];
    if (batch.unexpected && unexpected > 0) anomalies.push({ batchIndex: batch.batchIndex, foundAt: now, ...batch.unexpected });
    // A file of the older accounting counted its replays once, when it started.
    const addReplayed = row!.replay_accounting === 'batch' ? replayed : 0;
    await tx.run(
      `UPDATE files SET partition_offsets = ?, records_processed = ?, pending_end_position = NULL, open_from = ?, tail_ranges = '[]', updated_at = ?,
         dead_lettered = dead_lettered + ?, unexpected_records = unexpected_records + ?, anomalies = ?, replayed_records = replayed_records + ?
       WHERE kafka_topic = ? AND file_name = ?`,
      // Past its checkpoint the file's own again, until another file starts (open_from).
      [JSON.stringify(batch.endOffsets), batch.endPosition, JSON.stringify(batch.endOffsets), now, deadLettered, unexpected,
        anomalies.length ? JSON.stringify(anomalies) : null, addReplayed, topic, fileName],
    );
    tx.touch(topic, fileName);
  });
}
