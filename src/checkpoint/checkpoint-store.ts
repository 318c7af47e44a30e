/**
 * The checkpoint's one entry point. The concept modules next to it (open-checkpoint.ts, lease.ts,
 * file-checkpoints.ts, batches.ts) are functions over a connection that only this class holds;
 * code outside src/checkpoint imports this file, never them, so every write to the checkpoint
 * passes through here. Each method delegates to one module and adds nothing. The types callers
 * need are re-exported so their imports do not depend on which module a type lives in.
 */
import { BatchCommit, commitBatch, listBatches } from './batches';
import { DeadLetterStart, FileStart, acknowledgeAnomalies, completeFile, getFile, listFiles, markPending, openWrite, resetFiles, sealTail, startFile, useDeadLetterTopic } from './file-checkpoints';
import { OffsetRange } from '../kafka/offset-range';
import { LeaseOwner, LeaseToken, acquireLease, heartbeat, releaseLease } from './lease';
import { OpenOptions, integrityCheck, openCheckpoint } from './open-checkpoint';
import { BatchCheckpoint, FileCheckpoint } from './rows';
import { SqliteDb } from './sqlite-db';
import { SparkSyncError } from '../errors/spark-sync-error';
import { CheckpointTopic } from './checkpoint-topic';
import { KafkaCopy, ReconcileSummary, markLocalChanges } from './kafka-copy';
import { TopicConnection, connectionOf, rememberConnection } from './topic-connections';
import os from 'node:os';

export type { BatchCommit } from './batches';
export type { DeadLetterStart, FileStart, SourceFingerprint } from './file-checkpoints';
export { leaseStaleMs } from './lease';
export type { ReconcileSummary } from './kafka-copy';
export type { TopicConnection } from './topic-connections';
export { CheckpointTopic, DEFAULT_CHECKPOINT_TOPIC } from './checkpoint-topic';
export { readTopicState } from './checkpoint-view';
export type { CheckpointView } from './checkpoint-view';
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
  /** The checkpoint topics this store keeps in step with, by target topic (useCheckpointTopic). */
  private readonly topics = new Map<string, CheckpointTopic>();
  /** The leases held there, by target topic. */
  private readonly copies = new Map<string, KafkaCopy>();
  private readonly reconciled = new Map<string, ReconcileSummary>();

  private constructor(
    private readonly db: SqliteDb,
    /** Absolute path of the checkpoint file. */
    readonly file: string,
  ) {
    // Until a checkpoint topic is in use, a change is local only: marked for the next run that has one.
    db.onCommit(markLocalChanges);
  }

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
    for (const topic of [...this.copies.keys()]) await this.releaseCopy(topic);
    for (const log of this.topics.values()) await log.close();
    await this.db.close();
  }

  /**
   * Keeps the target topic's checkpoint in step with its authoritative copy in the checkpoint
   * topic (DESIGN.md §5): taking the topic's lease (acquireLease, or a reset's) takes it there
   * too, fencing earlier writers on any machine, and reconciles this file with it; every change
   * after that is published, acknowledged, before it commits here.
   */
  useCheckpointTopic(log: CheckpointTopic): void {
    this.topics.set(log.target, log);
  }

  /** Records how this submit reached Kafka, for a later reset on this machine. */
  async rememberConnection(topic: string, connection: TopicConnection): Promise<void> {
    return rememberConnection(this.db, topic, connection);
  }

  /** How the topic's last submit here reached Kafka, if known. */
  async connectionOf(topic: string): Promise<TopicConnection | undefined> {
    return connectionOf(this.db, topic);
  }

  /** Where the state is read from, for messages (CheckpointView). */
  get where(): string {
    return this.file;
  }

  /** What the last lease taken on the topic found to reconcile, if a checkpoint topic is in use. */
  reconcileSummary(topic: string): ReconcileSummary | undefined {
    return this.reconciled.get(topic);
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
   * Records which rows the next write covers and the offsets it writes from, before it starts, so
   * recovery knows how far a crashed write may have reached and where its records are. Kafka
   * holds nothing of the batch yet when this commits.
   */
  async markPending(topic: string, fileName: string, endPosition: number, from: number[]): Promise<void> {
    return markPending(this.db, this.lease(topic), fileName, endPosition, from);
  }

  /** Before a recovery writes: the file's write is open from these offsets (see file-checkpoints.ts). */
  async openWrite(topic: string, fileName: string, from: number[]): Promise<void> {
    return openWrite(this.db, this.lease(topic), fileName, from);
  }

  /** Closes an IN_PROGRESS file's cut-off write into its tail ranges, so another file may write. */
  async sealTail(topic: string, fileName: string, tailRanges: OffsetRange[]): Promise<void> {
    return sealTail(this.db, this.lease(topic), fileName, tailRanges);
  }

  /**
   * Stores one batch that Kafka has acknowledged, with the partition offsets after it. Refused
   * unless the batch starts exactly where the checkpoint ends, so a batch is never stored twice.
   */
  async commitBatch(topic: string, fileName: string, batch: BatchCommit): Promise<void> {
    return commitBatch(this.db, this.lease(topic), fileName, batch);
  }

  /** Records where an IN_PROGRESS file's dead letters begin, when it first runs with a dead-letter topic. */
  async useDeadLetterTopic(topic: string, fileName: string, start: DeadLetterStart): Promise<void> {
    return useDeadLetterTopic(this.db, this.lease(topic), fileName, start);
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
    return this.asOperator(selection.topic, staleAfterMs, () => resetFiles(this.db, selection, staleAfterMs));
  }

  /**
   * Marks the anomalies of the selected files as seen (`reset --acknowledge`): a submit of them
   * exits 0 again. Refused while a live sync holds a topic's lease. Returns the files changed.
   */
  async acknowledgeAnomalies(selection: { topic?: string; fileName?: string }, staleAfterMs: number): Promise<FileCheckpoint[]> {
    return this.asOperator(selection.topic, staleAfterMs, () => acknowledgeAnomalies(this.db, selection, staleAfterMs));
  }

  /**
   * Takes the topic's writer lease. A lease held by a live process is refused; one whose holder
   * stopped heartbeating for `staleAfterMs`, or whose process on this host is gone, is taken over.
   */
  async acquireLease(topic: string, owner: LeaseOwner, staleAfterMs: number): Promise<LeaseToken> {
    // The checkpoint topic's lease first: it is the one every machine sees.
    await this.takeCopy(topic, owner, staleAfterMs, false);
    try {
      const token = await acquireLease(this.db, topic, owner, staleAfterMs);
      this.leases.set(topic, token);
      return token;
    } catch (err) {
      await this.releaseCopy(topic);
      throw err;
    }
  }

  /** Renews this store's lease on the topic; LEASE_LOST if another process has taken it. */
  async heartbeat(topic: string): Promise<void> {
    await heartbeat(this.db, this.lease(topic));
    await this.copies.get(topic)?.heartbeat();
  }

  /** Gives up this store's lease on the topic, if it still holds it. */
  async releaseLease(topic: string): Promise<void> {
    await this.releaseCopy(topic);
    const token = this.leases.get(topic);
    if (!token) return;
    this.leases.delete(topic);
    await releaseLease(this.db, token);
  }

  private async takeCopy(topic: string, owner: LeaseOwner, staleAfterMs: number, forChange: boolean): Promise<void> {
    const log = this.topics.get(topic);
    if (!log) return;
    const { copy, reconciled } = await KafkaCopy.take(this.db, log, owner, staleAfterMs, forChange);
    this.copies.set(topic, copy);
    this.reconciled.set(topic, reconciled);
    this.db.onCommit(copy.publish);
  }

  private async releaseCopy(topic: string): Promise<void> {
    const copy = this.copies.get(topic);
    if (!copy) return;
    this.copies.delete(topic);
    this.db.onCommit(markLocalChanges);
    this.topics.delete(topic);
    await copy.release();
  }

  /**
   * An operator's change (reset, acknowledge) of a topic whose checkpoint lives in a checkpoint
   * topic: the lease there moves on first (fencing a paused holder), the change is published with
   * the local one, and the lease is given back.
   */
  private async asOperator<T>(topic: string | undefined, staleAfterMs: number, change: () => Promise<T>): Promise<T> {
    if (topic === undefined || !this.topics.has(topic)) return change();
    await this.takeCopy(topic, { id: `operator-${process.pid}-${Date.now()}`, host: os.hostname(), pid: process.pid }, staleAfterMs, true);
    try {
      return await change();
    } finally {
      await this.releaseCopy(topic);
    }
  }

  private lease(topic: string): LeaseToken {
    const token = this.leases.get(topic);
    if (!token) throw new SparkSyncError('INTERNAL', `a checkpoint write for topic ${topic} without its writer lease`, { hint: 'this is a bug in spark-sync; the checkpoint was left unchanged' });
    return token;
  }
}
