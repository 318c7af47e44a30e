/**
 * The `batches` table: one row per batch Kafka has acknowledged. A batch and the file's advance
 * past it (offsets, records processed, no pending write) commit in one transaction, so the
 * checkpoint never holds a batch without the position after it, or the other way round.
 */
import { SparkSyncError } from '../errors/spark-sync-error';
import { FileStatus, assertTransition } from './file-state';
import { BatchCheckpoint, BatchRow, toBatchCheckpoint } from './rows';
import { SqliteDb } from './sqlite-db';

export interface BatchCommit {
  batchIndex: number;
  firstPosition: number;
  endPosition: number;
  partitionCounts: number[];
  endOffsets: number[];
}

export async function listBatches(db: SqliteDb, topic: string, fileName: string): Promise<BatchCheckpoint[]> {
  const rows = await db.all<BatchRow>(
    'SELECT * FROM batches WHERE kafka_topic = ? AND file_name = ? ORDER BY batch_index',
    [topic, fileName],
  );
  return rows.map(toBatchCheckpoint);
}

export async function commitBatch(db: SqliteDb, topic: string, fileName: string, batch: BatchCommit): Promise<void> {
  await db.transaction(async (tx) => {
    const row = await tx.get<{ status: FileStatus; records_processed: number }>(
      'SELECT status, records_processed FROM files WHERE kafka_topic = ? AND file_name = ?',
      [topic, fileName],
    );
    assertTransition(fileName, row?.status ?? 'NOT_STARTED', 'IN_PROGRESS');
    if (row!.records_processed !== batch.firstPosition) {
      throw new SparkSyncError('INTERNAL', `batch ${batch.batchIndex} of ${fileName} starts at ${batch.firstPosition} but the checkpoint is at ${row!.records_processed}`);
    }
    const now = new Date().toISOString();
    await tx.run(
      `INSERT INTO batches (kafka_topic, file_name, batch_index, first_position, end_position, partition_counts, end_offsets, committed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [topic, fileName, batch.batchIndex, batch.firstPosition, batch.endPosition,
        JSON.stringify(batch.partitionCounts), JSON.stringify(batch.endOffsets), now],
    );
    await tx.run(
      `UPDATE files SET partition_offsets = ?, records_processed = ?, pending_end_position = NULL, updated_at = ?
       WHERE kafka_topic = ? AND file_name = ?`,
      [JSON.stringify(batch.endOffsets), batch.endPosition, now, topic, fileName],
    );
  });
}
