import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SparkSyncError } from '../errors/spark-sync-error';
import { HASH_ALGORITHM } from '../hash/hash-key';
import { isAlive } from '../util/processes';
import { FileStatus, assertTransition } from './file-state';
import { APPLICATION_ID, SCHEMA_VERSION, migrate } from './schema';
import { SqliteDb, Tx } from './sqlite-db';

/**
 * A topic's writer lease is stale this long after its holder's last heartbeat (heartbeats come
 * every 10 s); a holder on this host whose process is gone is stale at once.
 */
export const LEASE_STALE_MS = 60_000;

/** A file's checkpoint: the patent's fields plus what recovery needs. Offsets are per partition. */
export interface FileCheckpoint {
  topic: string;
  fileName: string;
  sourcePath: string;
  sourceFormat: string;
  status: FileStatus;
  startTimestamp: string | null;
  completionTimestamp: string | null;
  partitionCount: number | null;
  batchSize: number;
  startOffsets: number[] | null;
  partitionOffsets: number[] | null;
  recordsProcessed: number;
  totalRecords: number | null;
  hashAlgorithm: string;
  keyFields: string[] | null;
  sourceSizeBytes: number | null;
  sourceMtimeMs: number | null;
  /** End position (exclusive) of the batch being written, or null between batches. */
  pendingEndPosition: number | null;
  updatedAt: string;
}

/** One committed batch. */
export interface BatchCheckpoint {
  batchIndex: number;
  firstPosition: number;
  endPosition: number;
  partitionCounts: number[];
  endOffsets: number[];
  committedAt: string;
}

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
  keyFields: string[] | null;
}

export interface BatchCommit {
  batchIndex: number;
  firstPosition: number;
  endPosition: number;
  partitionCounts: number[];
  endOffsets: number[];
}

/** Who holds a topic's writer lease. */
export interface LeaseOwner {
  id: string;
  host: string;
  pid: number;
}

interface FileRow {
  kafka_topic: string;
  file_name: string;
  source_path: string;
  source_format: string;
  status: FileStatus;
  start_timestamp: string | null;
  completion_timestamp: string | null;
  partition_count: number | null;
  batch_size: number;
  start_offsets: string | null;
  partition_offsets: string | null;
  records_processed: number;
  total_records: number | null;
  hash_algorithm: string;
  key_fields: string | null;
  source_size: number | null;
  source_mtime_ms: number | null;
  pending_end_position: number | null;
  updated_at: string;
}

/**
 * The checkpoint (DESIGN.md §5): one SQLite file, WAL journal, `synchronous=FULL`, every state
 * change in one transaction. This is the only module that writes it.
 */
export class CheckpointStore {
  private constructor(
    private readonly db: SqliteDb,
    /** Absolute path of the checkpoint file. */
    readonly file: string,
  ) {}

  /**
   * Opens the checkpoint, creating it (0600, in a 0700 folder) when `create` is set; an existing
   * one opens read-only unless `write` is set. A file that is not a spark-sync checkpoint, or
   * fails SQLite's integrity check, is refused and never written to.
   */
  static async open(file: string, options: { create: boolean; write?: boolean }): Promise<CheckpointStore> {
    const writable = options.create || options.write === true;
    const absolute = path.resolve(file);
    if (!fs.existsSync(absolute)) {
      if (!options.create) {
        throw new SparkSyncError('CHECKPOINT_INVALID', `no checkpoint at ${absolute}`, {
          hint: 'pass the --checkpoint a submit used, or set SPARK_SYNC_HOME',
        });
      }
      createPrivateFile(absolute);
    }
    let db: SqliteDb;
    try {
      db = await SqliteDb.open(absolute, writable ? 'readwrite' : 'readonly');
    } catch (err) {
      throw invalid(absolute, `SQLite cannot open it (${(err as Error).message})`, err);
    }
    try {
      await checkIdentity(db, absolute);
      if (writable) {
        await db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
        await migrate(db);
      }
      return new CheckpointStore(db, absolute);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** SQLite's own check of every page and index: 'ok', or what is damaged. */
  async integrityCheck(): Promise<string> {
    const rows = await this.db.all<{ integrity_check: string }>('PRAGMA integrity_check');
    return rows.map((r) => r.integrity_check).join('; ');
  }

  async getFile(topic: string, fileName: string): Promise<FileCheckpoint | undefined> {
    const row = await this.db.get<FileRow>('SELECT * FROM files WHERE kafka_topic = ? AND file_name = ?', [topic, fileName]);
    return row && toFileCheckpoint(row);
  }

  async listFiles(topic?: string): Promise<FileCheckpoint[]> {
    const rows = topic
      ? await this.db.all<FileRow>('SELECT * FROM files WHERE kafka_topic = ? ORDER BY file_name', [topic])
      : await this.db.all<FileRow>('SELECT * FROM files ORDER BY kafka_topic, file_name');
    return rows.map(toFileCheckpoint);
  }

  async listBatches(topic: string, fileName: string): Promise<BatchCheckpoint[]> {
    const rows = await this.db.all<Record<string, string | number>>(
      'SELECT * FROM batches WHERE kafka_topic = ? AND file_name = ? ORDER BY batch_index',
      [topic, fileName],
    );
    return rows.map((r) => ({
      batchIndex: Number(r.batch_index),
      firstPosition: Number(r.first_position),
      endPosition: Number(r.end_position),
      partitionCounts: JSON.parse(String(r.partition_counts)) as number[],
      endOffsets: JSON.parse(String(r.end_offsets)) as number[],
      committedAt: String(r.committed_at),
    }));
  }

  /** NOT_STARTED → IN_PROGRESS: records where the file starts in Kafka and what the source is. */
  async startFile(topic: string, fileName: string, start: FileStart): Promise<FileCheckpoint> {
    await this.db.transaction(async (tx) => {
      const current = await statusIn(tx, topic, fileName);
      assertTransition(fileName, current, 'IN_PROGRESS');
      const now = new Date().toISOString();
      const offsets = JSON.stringify(start.startOffsets);
      await tx.run(
        `INSERT OR REPLACE INTO files (kafka_topic, file_name, source_path, source_format, status, start_timestamp,
           partition_count, batch_size, start_offsets, partition_offsets, records_processed, total_records,
           hash_algorithm, key_fields, source_size, source_mtime_ms, updated_at)
         VALUES (?, ?, ?, ?, 'IN_PROGRESS', ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)`,
        [
          topic, fileName, start.sourcePath, start.sourceFormat, now, start.startOffsets.length, start.batchSize,
          offsets, offsets, start.fingerprint.rows, HASH_ALGORITHM,
          start.keyFields ? JSON.stringify(start.keyFields) : null,
          start.fingerprint.sizeBytes, start.fingerprint.mtimeMs, now,
        ],
      );
    });
    return (await this.getFile(topic, fileName))!;
  }

  /**
   * Records which rows the next write covers, before it starts, so recovery knows how far a
   * crashed write may have reached. Kafka holds nothing of the batch yet when this commits.
   */
  async markPending(topic: string, fileName: string, endPosition: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      assertTransition(fileName, await statusIn(tx, topic, fileName), 'IN_PROGRESS');
      await tx.run('UPDATE files SET pending_end_position = ?, updated_at = ? WHERE kafka_topic = ? AND file_name = ?', [endPosition, new Date().toISOString(), topic, fileName]);
    });
  }

  /**
   * Stores one batch that Kafka has acknowledged, with the partition offsets after it. Refused
   * unless the batch starts exactly where the checkpoint ends, so a batch is never stored twice.
   */
  async commitBatch(topic: string, fileName: string, batch: BatchCommit): Promise<void> {
    await this.db.transaction(async (tx) => {
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

  /** IN_PROGRESS → COMPLETED. */
  async completeFile(topic: string, fileName: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      assertTransition(fileName, await statusIn(tx, topic, fileName), 'COMPLETED');
      const now = new Date().toISOString();
      await tx.run(
        `UPDATE files SET status = 'COMPLETED', completion_timestamp = ?, updated_at = ? WHERE kafka_topic = ? AND file_name = ?`,
        [now, now, topic, fileName],
      );
    });
  }

  /**
   * Forgets files, so the next submit syncs them from the start (`reset`). Their messages stay in
   * Kafka. Refused while a live sync holds the topic's lease. Returns the files removed.
   */
  async resetFiles(selection: { topic?: string; fileName?: string }, staleAfterMs: number): Promise<FileCheckpoint[]> {
    const matching = (await this.listFiles(selection.topic)).filter((f) => selection.fileName === undefined || f.fileName === selection.fileName);
    await this.db.transaction(async (tx) => {
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
   * Takes the topic's writer lease. A lease held by a live process is refused; one whose holder
   * stopped heartbeating for `staleAfterMs`, or whose process on this host is gone, is taken over.
   */
  async acquireLease(topic: string, owner: LeaseOwner, staleAfterMs: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      const held = await liveLease(tx, topic, staleAfterMs);
      if (held && held.owner !== owner.id) {
        throw new SparkSyncError('LEASE_HELD', `topic ${topic} is being synced by another spark-sync (pid ${held.pid} on ${held.host}, last heartbeat ${held.heartbeat_at})`, {
          hint: `wait for it to finish, or stop it; its lease expires ${Math.round(staleAfterMs / 1000)} s after its last heartbeat (safe to retry)`,
        });
      }
      const now = new Date().toISOString();
      await tx.run(
        `INSERT OR REPLACE INTO leases (kafka_topic, owner, host, pid, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)`,
        [topic, owner.id, owner.host, owner.pid, now, now],
      );
    });
  }

  async heartbeat(topic: string, ownerId: string): Promise<void> {
    await this.db.run('UPDATE leases SET heartbeat_at = ? WHERE kafka_topic = ? AND owner = ?', [new Date().toISOString(), topic, ownerId]);
  }

  async releaseLease(topic: string, ownerId: string): Promise<void> {
    await this.db.run('DELETE FROM leases WHERE kafka_topic = ? AND owner = ?', [topic, ownerId]);
  }
}

function createPrivateFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // An empty file is a valid empty SQLite database; SQLite gives its -wal and -shm files the same mode.
  fs.closeSync(fs.openSync(file, 'wx', 0o600));
}

async function checkIdentity(db: SqliteDb, file: string): Promise<void> {
  let appId: number;
  let version: number;
  let tables: number;
  try {
    appId = (await db.get<{ application_id: number }>('PRAGMA application_id'))!.application_id;
    version = (await db.get<{ user_version: number }>('PRAGMA user_version'))!.user_version;
    tables = (await db.get<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'"))!.n;
  } catch (err) {
    throw invalid(file, `it is not a SQLite database or is damaged (${(err as Error).message})`, err);
  }
  if (tables > 0 && appId !== APPLICATION_ID) {
    throw invalid(file, 'it is a SQLite database of another application, not a spark-sync checkpoint');
  }
  if (version > SCHEMA_VERSION) {
    throw invalid(file, `it was written by a newer spark-sync (schema ${version}, this one reads up to ${SCHEMA_VERSION})`);
  }
  const check = await db.all<{ quick_check: string }>('PRAGMA quick_check');
  if (check.length !== 1 || check[0].quick_check !== 'ok') {
    throw invalid(file, `SQLite's integrity check failed: ${check.map((c) => c.quick_check).slice(0, 3).join('; ')}`);
  }
}

function invalid(file: string, why: string, cause?: unknown): SparkSyncError {
  return new SparkSyncError('CHECKPOINT_INVALID', `the checkpoint ${file} cannot be used: ${why}`, {
    cause,
    hint: 'it was left untouched; restore it from a backup or pass another --checkpoint',
  });
}

async function statusIn(tx: Tx, topic: string, fileName: string): Promise<FileStatus> {
  const row = await tx.get<{ status: FileStatus }>('SELECT status FROM files WHERE kafka_topic = ? AND file_name = ?', [topic, fileName]);
  return row?.status ?? 'NOT_STARTED';
}

interface LeaseRow {
  owner: string;
  host: string;
  pid: number;
  heartbeat_at: string;
}

/** The topic's lease if a live holder has it, else undefined (no lease, or a stale one). */
async function liveLease(tx: Tx, topic: string, staleAfterMs: number): Promise<LeaseRow | undefined> {
  const held = await tx.get<LeaseRow>('SELECT owner, host, pid, heartbeat_at FROM leases WHERE kafka_topic = ?', [topic]);
  return held && !leaseIsStale(held, staleAfterMs) ? held : undefined;
}

function leaseIsStale(held: { host: string; pid: number; heartbeat_at: string }, staleAfterMs: number): boolean {
  if (Date.now() - Date.parse(held.heartbeat_at) > staleAfterMs) return true;
  return held.host === os.hostname() && !isAlive(held.pid);
}


function toFileCheckpoint(r: FileRow): FileCheckpoint {
  const parse = (s: string | null) => (s === null ? null : (JSON.parse(s) as number[]));
  return {
    topic: r.kafka_topic,
    fileName: r.file_name,
    sourcePath: r.source_path,
    sourceFormat: r.source_format,
    status: r.status,
    startTimestamp: r.start_timestamp,
    completionTimestamp: r.completion_timestamp,
    partitionCount: r.partition_count,
    batchSize: r.batch_size,
    startOffsets: parse(r.start_offsets),
    partitionOffsets: parse(r.partition_offsets),
    recordsProcessed: r.records_processed,
    totalRecords: r.total_records,
    hashAlgorithm: r.hash_algorithm,
    keyFields: r.key_fields === null ? null : (JSON.parse(r.key_fields) as string[]),
    sourceSizeBytes: r.source_size,
    sourceMtimeMs: r.source_mtime_ms,
    pendingEndPosition: r.pending_end_position,
    updatedAt: r.updated_at,
  };
}
