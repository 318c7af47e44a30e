/**
 * The checkpoint's one entry point. The concept modules next to it (open-checkpoint.ts, lease.ts,
 * file-checkpoints.ts, batches.ts) are functions over a connection that only this class holds;
 * code outside src/checkpoint imports this file, never them, so every write to the checkpoint
 * passes through here. Each method delegates to one module and adds nothing. The types callers
 * need are re-exported so their imports do not depend on which module a type lives in.
 */
import { BatchCommit, commitBatch, listBatches } from './batches';
import { FileStart, acknowledgeAnomalies, completeFile, getFile, listFiles, markPending, resetFiles, startFile } from './file-checkpoints';
import { LeaseOwner, LeaseToken, acquireLease, heartbeat, releaseLease } from './lease';
import { OpenOptions, integrityCheck, openCheckpoint } from './open-checkpoint';
import { BatchCheckpoint, FileCheckpoint } from './rows';
import { SqliteDb } from './sqlite-db';
import { SparkSyncError } from '../errors/spark-sync-error';

export type { BatchCommit } from './batches';
export type { FileStart, SourceFingerprint } from './file-checkpoints';
export { leaseStaleMs } from './lease';
export type { LeaseOwner, LeaseToken } from './lease';
export type { Anomaly, BatchCheckpoint, FileCheckpoint } from './rows';

/**
 * The checkpoint (DESIGN.md §5): one SQLite file, WAL journal, `synchronous=FULL`, every state
 * change in one transaction. The only way anything writes it.
 *
 * A sync's writes (start, pending, commit, completion) are fenced: they need the topic's writer
 * lease, taken with {@link acquireLease} on this store, and each checks in its own transaction
 * that the lease is still this holder's (LEASE_LOST otherwise).
 */
export class CheckpointStore {
  /** The leases this store holds, by topic. */
  private readonly leases = new Map<string, LeaseToken>();

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
  static async open(file: string, options: OpenOptions): Promise<CheckpointStore> {
    const opened = await openCheckpoint(file, options);
    return new CheckpointStore(opened.db, opened.file);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** SQLite's own check of every page and index: 'ok', or what is damaged. */
  async integrityCheck(): Promise<string> {
    return integrityCheck(this.db);
  }

  async getFile(topic: string, fileName: string): Promise<FileCheckpoint | undefined> {
    return getFile(this.db, topic, fileName);
  }

  async listFiles(topic?: string): Promise<FileCheckpoint[]> {
    return listFiles(this.db, topic);
  }

  async listBatches(topic: string, fileName: string): Promise<BatchCheckpoint[]> {
    return listBatches(this.db, topic, fileName);
  }

  /** NOT_STARTED → IN_PROGRESS: records where the file starts in Kafka and what the source is. */
  async startFile(topic: string, fileName: string, start: FileStart): Promise<FileCheckpoint> {
    return startFile(this.db, this.lease(topic), fileName, start);
  }

  /**
   * Records which rows the next write covers, before it starts, so recovery knows how far a
   * crashed write may have reached. Kafka holds nothing of the batch yet when this commits.
   */
  async markPending(topic: string, fileName: string, endPosition: number): Promise<void> {
    return markPending(this.db, this.lease(topic), fileName, endPosition);
  }

  /**
   * Stores one batch that Kafka has acknowledged, with the partition offsets after it. Refused
   * unless the batch starts exactly where the checkpoint ends, so a batch is never stored twice.
   */
  async commitBatch(topic: string, fileName: string, batch: BatchCommit): Promise<void> {
    return commitBatch(this.db, this.lease(topic), fileName, batch);
  }

  /** IN_PROGRESS → COMPLETED. */
  async completeFile(topic: string, fileName: string): Promise<void> {
    return completeFile(this.db, this.lease(topic), fileName);
  }

  /**
   * Forgets files, so the next submit syncs them from the start (`reset`). Their messages stay in
   * Kafka. Refused while a live sync holds the topic's lease. Returns the files removed.
   */
  async resetFiles(selection: { topic?: string; fileName?: string }, staleAfterMs: number): Promise<FileCheckpoint[]> {
    return resetFiles(this.db, selection, staleAfterMs);
  }

  /**
   * Marks the anomalies of the selected files as seen (`reset --acknowledge`): a submit of them
   * exits 0 again. Refused while a live sync holds a topic's lease. Returns the files changed.
   */
  async acknowledgeAnomalies(selection: { topic?: string; fileName?: string }, staleAfterMs: number): Promise<FileCheckpoint[]> {
    return acknowledgeAnomalies(this.db, selection, staleAfterMs);
  }

  /**
   * Takes the topic's writer lease. A lease held by a live process is refused; one whose holder
   * stopped heartbeating for `staleAfterMs`, or whose process on this host is gone, is taken over.
   */
  async acquireLease(topic: string, owner: LeaseOwner, staleAfterMs: number): Promise<LeaseToken> {
    const token = await acquireLease(this.db, topic, owner, staleAfterMs);
    this.leases.set(topic, token);
    return token;
  }

  /** Renews this store's lease on the topic; LEASE_LOST if another process has taken it. */
  async heartbeat(topic: string): Promise<void> {
    return heartbeat(this.db, this.lease(topic));
  }

  /** Gives up this store's lease on the topic, if it still holds it. */
  async releaseLease(topic: string): Promise<void> {
    const token = this.leases.get(topic);
    if (!token) return;
    this.leases.delete(topic);
    await releaseLease(this.db, token);
  }

  private lease(topic: string): LeaseToken {
    const token = this.leases.get(topic);
    if (!token) throw new SparkSyncError('INTERNAL', `a checkpoint write for topic ${topic} without its writer lease`, { hint: 'this is a bug in spark-sync; the checkpoint was left unchanged' });
    return token;
  }
}
