/**
 * The `files` table: each file's checkpoint, read, and moved NOT_STARTED → IN_PROGRESS →
 * COMPLETED (or forgotten by `reset`). Every move asks `assertTransition` inside the same
 * transaction that writes it, so the state read and the state written cannot drift apart.
 * Committing a batch also advances the file's row; that lives in batches.ts.
 */
import { SparkSyncError } from '../errors/spark-sync-error';
import { HASH_ALGORITHM } from '../hash/hash-key';
import { FileStatus, assertTransition } from './file-state';
import { LeaseToken, assertLeaseHeld, liveLease } from './lease';
import { FileCheckpoint, FileRow, toFileCheckpoint } from './rows';
import { SqliteDb, Tx } from './sqlite-db';

/** What identifies a source file's content without reading it. */
export interface SourceFingerprint {
  sizeBytes: number;
  mtimeMs: number;
  rows: number;
}

export interface FileStart {
  sourcePath: string;
  sourceFormat: string;
  batchSize: number;
  startOffsets: number[];
  fingerprint: SourceFingerprint;
  /** `--key-fields`, or null for the positional identity. */
  keyFields: string[] | null;
  /** `--message-key`, or null when the identity is the Kafka key. */
  messageKey: string[] | null;
  /** Natural-key mode: rows of the file dropped as duplicates of an earlier row of it (default 0). */
  duplicateRecords?: number;
  /** Natural-key mode: rows whose identity the topic already had (default 0). */
  replayedRecords?: number;
}

export async function getFile(db: SqliteDb, topic: string, fileName: string): Promise<FileCheckpoint | undefined> {
  const row = await db.get<FileRow>('SELECT * FROM files WHERE kafka_topic = ? AND file_name = ?', [topic, fileName]);
  return row && toFileCheckpoint(row);
}

export async function listFiles(db: SqliteDb, topic?: string): Promise<FileCheckpoint[]> {
  const rows = topic
    ? await db.all<FileRow>('SELECT * FROM files WHERE kafka_topic = ? ORDER BY file_name', [topic])
    : await db.all<FileRow>('SELECT * FROM files ORDER BY kafka_topic, file_name');
  return rows.map(toFileCheckpoint);
}

export async function startFile(db: SqliteDb, lease: LeaseToken, fileName: string, start: FileStart): Promise<FileCheckpoint> {
  const { topic } = lease;
  await db.transaction(async (tx) => {
    await assertLeaseHeld(tx, lease);
    const current = await statusIn(tx, topic, fileName);
    assertTransition(fileName, current, 'IN_PROGRESS');
    const now = new Date().toISOString();
    const offsets = JSON.stringify(start.startOffsets);
    await tx.run(
      `INSERT OR REPLACE INTO files (kafka_topic, file_name, source_path, source_format, status, start_timestamp,
         partition_count, batch_size, start_offsets, partition_offsets, records_processed, total_records,
         hash_algorithm, key_fields, message_key, duplicate_records, replayed_records, source_size, source_mtime_ms, updated_at)
       VALUES (?, ?, ?, ?, 'IN_PROGRESS', ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        topic, fileName, start.sourcePath, start.sourceFormat, now, start.startOffsets.length, start.batchSize,
        offsets, offsets, start.fingerprint.rows, HASH_ALGORITHM,
        start.keyFields ? JSON.stringify(start.keyFields) : null,
        start.messageKey ? JSON.stringify(start.messageKey) : null,
        start.duplicateRecords ?? 0, start.replayedRecords ?? 0,
        start.fingerprint.sizeBytes, start.fingerprint.mtimeMs, now,
      ],
    );
  });
  return (await getFile(db, topic, fileName))!;
}

export async function markPending(db: SqliteDb, lease: LeaseToken, fileName: string, endPosition: number): Promise<void> {
  const { topic } = lease;
  await db.transaction(async (tx) => {
    await assertLeaseHeld(tx, lease);
    assertTransition(fileName, await statusIn(tx, topic, fileName), 'IN_PROGRESS');
    await tx.run('UPDATE files SET pending_end_position = ?, updated_at = ? WHERE kafka_topic = ? AND file_name = ?', [endPosition, new Date().toISOString(), topic, fileName]);
  });
}

export async function completeFile(db: SqliteDb, lease: LeaseToken, fileName: string): Promise<void> {
  const { topic } = lease;
  await db.transaction(async (tx) => {
    await assertLeaseHeld(tx, lease);
    assertTransition(fileName, await statusIn(tx, topic, fileName), 'COMPLETED');
    const now = new Date().toISOString();
    await tx.run(
      `UPDATE files SET status = 'COMPLETED', completion_timestamp = ?, updated_at = ? WHERE kafka_topic = ? AND file_name = ?`,
      [now, now, topic, fileName],
    );
  });
}

/**
 * Not a transition (file-state.ts): the rows go, so the files are NOT_STARTED again. The lease
 * is checked in the deleting transaction so a sync that takes the topic meanwhile is not undercut.
 */
export async function resetFiles(db: SqliteDb, selection: { topic?: string; fileName?: string }, staleAfterMs: number): Promise<FileCheckpoint[]> {
  const matching = (await listFiles(db, selection.topic)).filter((f) => selection.fileName === undefined || f.fileName === selection.fileName);
  await db.transaction(async (tx) => {
    for (const topic of new Set(matching.map((f) => f.topic))) {
      const held = await liveLease(tx, topic, staleAfterMs);
      if (held) {
        throw new SparkSyncError('LEASE_HELD', `topic ${topic} is being synced right now (pid ${held.pid} on ${held.host})`, { hint: 'wait for that sync to finish or stop it, then reset' });
      }
    }
    for (const f of matching) {
      await tx.run('DELETE FROM batches WHERE kafka_topic = ? AND file_name = ?', [f.topic, f.fileName]);
      await tx.run('DELETE FROM files WHERE kafka_topic = ? AND file_name = ?', [f.topic, f.fileName]);
    }
  });
  return matching;
}

/**
 * Marks the files' anomalies as seen by an operator (`reset --acknowledge`), so submits of them
 * exit 0 again; the anomalies stay listed. Refused while a live sync holds the topic's lease.
 */
export async function acknowledgeAnomalies(db: SqliteDb, selection: { topic?: string; fileName?: string }, staleAfterMs: number): Promise<FileCheckpoint[]> {
  const matching = (await listFiles(db, selection.topic)).filter((f) => (selection.fileName === undefined || f.fileName === selection.fileName) && f.unexpectedRecords > f.unexpectedAcknowledged);
  await db.transaction(async (tx) => {
    for (const topic of new Set(matching.map((f) => f.topic))) {
      const held = await liveLease(tx, topic, staleAfterMs);
      if (held) throw new SparkSyncError('LEASE_HELD', `topic ${topic} is being synced right now (pid ${held.pid} on ${held.host})`, { hint: 'wait for that sync to finish or stop it, then acknowledge' });
    }
    for (const f of matching) {
      await tx.run('UPDATE files SET unexpected_acknowledged = unexpected_records, updated_at = ? WHERE kafka_topic = ? AND file_name = ?', [new Date().toISOString(), f.topic, f.fileName]);
    }
  });
  return matching;
}

/** No row means NOT_STARTED: a file gets its row only when it starts. */
async function statusIn(tx: Tx, topic: string, fileName: string): Promise<FileStatus> {
  const row = await tx.get<{ status: FileStatus }>('SELECT status FROM files WHERE kafka_topic = ? AND file_name = ?', [topic, fileName]);
  return row?.status ?? 'NOT_STARTED';
}
