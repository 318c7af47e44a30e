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
    const row = await tx.get<{ status: FileStatus; records_processed: number; anomalies: string | null }>(
      'SELECT status, records_processed, anomalies FROM files WHERE kafka_topic = ? AND file_name = ?',
      [topic, fileName],
    );
    assertTransition(fileName, row?.status ?? 'NOT_STARTED', 'IN_PROGRESS');
    if (row!.records_processed !== batch.firstPosition) {
      throw new SparkSyncError('INTERNAL', `batch ${batch.batchIndex} of ${fileName} starts at ${batch.firstPosition} but the checkpoint is at ${row!.records_processed}`);
    }
    const now = new Date().toISOString();
    const deadLettered = batch.deadLettered ?? 0;
    const unexpected = batch.unexpected?.records ?? 0;
    await tx.run(
      `INSERT INTO batches (kafka_topic, file_name, batch_index, first_position, end_position, partition_counts, end_offsets, committed_at,
         dead_lettered, unexpected_records)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [topic, fileName, batch.batchIndex, batch.firstPosition, batch.endPosition,
        JSON.stringify(batch.partitionCounts), JSON.stringify(batch.endOffsets), now, deadLettered, unexpected],
    );
    const anomalies = JSON.parse(row!.anomalies ?? '[]') as Anomaly[];
    if (batch.unexpected && unexpected > 0) anomalies.push({ batchIndex: batch.batchIndex, foundAt: now, ...batch.unexpected });
    await tx.run(
      `UPDATE files SET partition_offsets = ?, records_processed = ?, pending_end_position = NULL, updated_at = ?,
         dead_lettered = dead_lettered + ?, unexpected_records = unexpected_records + ?, anomalies = ?
       WHERE kafka_topic = ? AND file_name = ?`,
      [JSON.stringify(batch.endOffsets), batch.endPosition, now, deadLettered, unexpected,
        anomalies.length ? JSON.stringify(anomalies) : null, topic, fileName],
    );
  });
}
