/**
 * The `files` table: each file's checkpoint, read, and moved NOT_STARTED → IN_PROGRESS →
 * COMPLETED (or forgotten by `reset`). Every move asks `assertTransition` inside the same
 * transaction that writes it, so the state read and the state written cannot drift apart.
 * Committing a batch also advances the file's row; that lives in batches.ts.
 */
import { HASH_ALGORITHM } from '../hash/hash-key';
import { FileStatus, assertTransition } from './file-state';
import { LeaseToken, assertLeaseHeld, fenceForChange } from './lease';
import { FileCheckpoint, FileRow, toFileCheckpoint } from './rows';
import { OffsetRange } from '../kafka/offset-range';
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
  /** The run's dead-letter topic and its end offsets now, if it has one. */
  deadLetters?: DeadLetterStart | null;
}

/** Where a file's dead letters begin: a dead-letter topic and its end offsets when the file first used it. */
export interface DeadLetterStart {
  topic: string;
  offsets: number[];
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
         hash_algorithm, key_fields, message_key, duplicate_records, replayed_records, source_size, source_mtime_ms, updated_at,
         dead_letter_topic, dead_letter_offsets, open_from, tail_ranges, replay_accounting)
       VALUES (?, ?, ?, ?, 'IN_PROGRESS', ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', 'batch')`,
      [
        topic, fileName, start.sourcePath, start.sourceFormat, now, start.startOffsets.length, start.batchSize,
        offsets, offsets, start.fingerprint.rows, HASH_ALGORITHM,
        start.keyFields ? JSON.stringify(start.keyFields) : null,
        start.messageKey ? JSON.stringify(start.messageKey) : null,
        start.duplicateRecords ?? 0, start.replayedRecords ?? 0,
        start.fingerprint.sizeBytes, start.fingerprint.mtimeMs, now,
        start.deadLetters?.topic ?? null, start.deadLetters ? JSON.stringify(start.deadLetters.offsets) : null,
        // What follows the file's start is its own until another file starts: open from there.
        offsets,
      ],
    );
    tx.touch(topic, fileName);
  });
  return (await getFile(db, topic, fileName))!;
}

export async function markPending(db: SqliteDb, lease: LeaseToken, fileName: string, endPosition: number, from: number[]): Promise<void> {
  const { topic } = lease;
  await db.transaction(async (tx) => {
    await assertLeaseHeld(tx, lease);
    assertTransition(fileName, await statusIn(tx, topic, fileName), 'IN_PROGRESS');
    // The write begins at the topic's end offsets `from`: open from there until it commits.
    await tx.run(`UPDATE files SET pending_end_position = ?, open_from = ?, tail_ranges = '[]', updated_at = ? WHERE kafka_topic = ? AND file_name = ?`, [
      endPosition, JSON.stringify(from), new Date().toISOString(), topic, fileName,
    ]);
    tx.touch(topic, fileName);
  });
}

/**
 * Before a recovery writes what a cut-off batch lacks: the write is open from these offsets (the
 * topic's end now), so a crash during it leaves its records findable, like any cut-off write.
 */
export async function openWrite(db: SqliteDb, lease: LeaseToken, fileName: string, from: number[]): Promise<void> {
  const { topic } = lease;
  await db.transaction(async (tx) => {
    await assertLeaseHeld(tx, lease);
    assertTransition(fileName, await statusIn(tx, topic, fileName), 'IN_PROGRESS');
    await tx.run('UPDATE files SET open_from = ?, updated_at = ? WHERE kafka_topic = ? AND file_name = ?', [JSON.stringify(from), new Date().toISOString(), topic, fileName]);
    tx.touch(topic, fileName);
  });
}

/**
 * A run taking the topic closes the cut-off write of an IN_PROGRESS file: its records lie in
 * `tailRanges` (from where it was open to where the next file's, or the topic's end), and no
 * write of it is open any more. Another file may then write; this one's recovery looks for its
 * records in those ranges only.
 */
export async function sealTail(db: SqliteDb, lease: LeaseToken, fileName: string, tailRanges: OffsetRange[]): Promise<void> {
  const { topic } = lease;
  await db.transaction(async (tx) => {
    await assertLeaseHeld(tx, lease);
    assertTransition(fileName, await statusIn(tx, topic, fileName), 'IN_PROGRESS');
    await tx.run('UPDATE files SET open_from = NULL, tail_ranges = ?, updated_at = ? WHERE kafka_topic = ? AND file_name = ?', [JSON.stringify(tailRanges), new Date().toISOString(), topic, fileName]);
    tx.touch(topic, fileName);
  });
}

/**
 * An IN_PROGRESS file that started without a dead-letter topic and now has one: records where its
 * dead letters begin, before any is written. A file keeps the first dead-letter topic it used.
 */
export async function useDeadLetterTopic(db: SqliteDb, lease: LeaseToken, fileName: string, start: DeadLetterStart): Promise<void> {
  const { topic } = lease;
  await db.transaction(async (tx) => {
    await assertLeaseHeld(tx, lease);
    assertTransition(fileName, await statusIn(tx, topic, fileName), 'IN_PROGRESS');
    await tx.run('UPDATE files SET dead_letter_topic = ?, dead_letter_offsets = ?, updated_at = ? WHERE kafka_topic = ? AND file_name = ? AND dead_letter_topic IS NULL', [
      start.topic, JSON.stringify(start.offsets), new Date().toISOString(), topic, fileName,
    ]);
    tx.touch(topic, fileName);
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
    tx.touch(topic, fileName);
  });
}

/**
 * Not a transition (file-state.ts): the rows go, so the files are NOT_STARTED again. The lease
 * is checked and moved on (fenceForChange) in the deleting transaction, so a sync that takes the
 * topic meanwhile is not undercut, and one paused past its lease cannot write after the reset.
 */
export async function resetFiles(db: SqliteDb, selection: { topic?: string; fileName?: string }, staleAfterMs: number): Promise<FileCheckpoint[]> {
  const matching = (await listFiles(db, selection.topic)).filter((f) => selection.fileName === undefined || f.fileName === selection.fileName);
  await db.transaction(async (tx) => {
    for (const topic of new Set(matching.map((f) => f.topic))) await fenceForChange(tx, topic, staleAfterMs, 'reset');
    for (const f of matching) {
      await tx.run('DELETE FROM batches WHERE kafka_topic = ? AND file_name = ?', [f.topic, f.fileName]);
      await tx.run('DELETE FROM files WHERE kafka_topic = ? AND file_name = ?', [f.topic, f.fileName]);
      tx.touch(f.topic, f.fileName);
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
    for (const topic of new Set(matching.map((f) => f.topic))) await fenceForChange(tx, topic, staleAfterMs, 'acknowledge');
    for (const f of matching) {
      await tx.run('UPDATE files SET unexpected_acknowledged = unexpected_records, updated_at = ? WHERE kafka_topic = ? AND file_name = ?', [new Date().toISOString(), f.topic, f.fileName]);
      tx.touch(f.topic, f.fileName);
    }
  });
  return matching;
}

/** No row means NOT_STARTED: a file gets its row only when it starts. */
async function statusIn(tx: Tx, topic: string, fileName: string): Promise<FileStatus> {
  const row = await tx.get<{ status: FileStatus }>('SELECT status FROM files WHERE kafka_topic = ? AND file_name = ?', [topic, fileName]);
  return row?.status ?? 'NOT_STARTED';
}
