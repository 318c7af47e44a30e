/**
 * The local checkpoint file kept in step with its authoritative copy in the checkpoint topic
 * (checkpoint-topic.ts), for one target topic: the lease there, the reconcile on taking it, and
 * the commit hook that publishes every change before the local transaction commits.
 */
import os from 'node:os';
import { SparkSyncError } from '../errors/spark-sync-error';
import { CheckpointTopic, FileRecord, LeaseRecord, StateVersion, TopicRecord, TopicState, fileRecord, leaseRecord, newerThan, publishedMarker } from './checkpoint-topic';
import type { LeaseOwner } from './lease';
import { isAlive } from '../util/processes';
import { BatchRow, FileCheckpoint, FileRow, toBatchCheckpoint, toBatchRow, toFileCheckpoint, toFileRow } from './rows';
import { CommitHook, SqliteDb, Tx } from './sqlite-db';

/** What a reconcile did, for the log. */
export interface ReconcileSummary {
  /** Files whose state came from the checkpoint topic (newer there, or missing here). */
  restored: string[];
  /** Files whose local state went to the checkpoint topic (newer here, or its first use). */
  published: string[];
  /** Files forgotten here because they were reset elsewhere. */
  removed: string[];
  /** Files changed both here (a local-only run) and there since they last matched: the topic's won. */
  conflicts: string[];
}

/**
 * One holder's lease on a target topic in the checkpoint topic. Taking it fences every earlier
 * writer of the topic on any machine (the transactional producer's epoch); every later write of
 * this holder fails with LEASE_LOST once another run takes it in turn.
 */
export class KafkaCopy {
  private seq = 0;

  private constructor(
    readonly log: CheckpointTopic,
    readonly epoch: number,
    private readonly owner: LeaseOwner,
    private readonly acquiredAt: string,
  ) {}

  /**
   * Takes the target topic's lease in the checkpoint topic: refused (LEASE_HELD, nothing written)
   * while another run's lease is live; otherwise every earlier writer is fenced, the lease moves to
   * the next epoch, and the local file is reconciled with the topic's state. `forChange`: an
   * operator's change (reset, acknowledge), released at once but fencing all the same.
   */
  static async take(db: SqliteDb, log: CheckpointTopic, owner: LeaseOwner, staleAfterMs: number, forChange: boolean): Promise<{ copy: KafkaCopy; reconciled: ReconcileSummary }> {
    const seen = await log.read();
    assertNotHeld(log, seen.lease, owner, staleAfterMs, forChange);
    await log.takeOver();
    // Another run may have taken the lease between the read and the fence: then it wins, and
    // this one (having fenced it) backs off, so at most one of them goes on.
    const state = await log.read();
    if (state.lease && JSON.stringify(state.lease) !== JSON.stringify(seen.lease)) assertNotHeld(log, state.lease, owner, staleAfterMs, forChange);
    const now = new Date().toISOString();
    const copy = new KafkaCopy(log, (state.lease?.epoch ?? 0) + 1, owner, now);
    await log.write([leaseRecord(log.target, copy.leaseState(forChange ? now : null))]);
    const reconciled = await copy.reconcile(db, state);
    return { copy, reconciled };
  }

  /** Renews the lease; LEASE_LOST if another run has taken the topic over. */
  async heartbeat(): Promise<void> {
    await this.log.write([leaseRecord(this.log.target, this.leaseState(null))]);
  }

  /** Gives the lease up (best effort: a fenced holder has nothing to give). */
  async release(): Promise<void> {
    await this.log.write([leaseRecord(this.log.target, this.leaseState(new Date().toISOString()))]).catch(() => undefined);
    await this.log.close();
  }

  /** Publishes the files a local transaction changed, before it commits (SqliteDb.onCommit). */
  readonly publish: CommitHook = async (tx, touched) => {
    const records: TopicRecord[] = [];
    for (const { topic, file } of touched) {
      if (topic !== this.log.target) {
        throw new SparkSyncError('INTERNAL', `a checkpoint change of topic ${topic} while publishing ${this.log.target}`, { hint: 'this is a bug in spark-sync; nothing was changed' });
      }
      const record = await fileState(tx, topic, file, this.next());
      records.push(fileRecord(topic, record, file));
      if (record) await markPublished(tx, topic, file, record.version);
    }
    await this.log.write(records);
  };

  /**
   * Brings the local file in line with the topic's state (DESIGN.md §5: the newer wins; a missing
   * local file is rebuilt). Before the topic holds this target's state (its first run here under
   * this version), the local state is published whole and the topic marked.
   */
  private async reconcile(db: SqliteDb, state: TopicState): Promise<ReconcileSummary> {
    const target = this.log.target;
    const summary: ReconcileSummary = { restored: [], published: [], removed: [], conflicts: [] };
    await db.transaction(async (tx) => {
      const local = new Map((await tx.all<FileRow>('SELECT * FROM files WHERE kafka_topic = ?', [target])).map((r) => [r.file_name, toFileCheckpoint(r)] as const));
      const records: TopicRecord[] = [];
      for (const name of new Set([...local.keys(), ...state.files.keys()])) {
        const mine = local.get(name);
        const theirs = state.files.get(name);
        if (state.published && theirs && (!mine || newerThan(theirs.version, mine.kafkaVersion))) {
          if (mine?.localChanges) summary.conflicts.push(name);
          await restore(tx, theirs);
          summary.restored.push(name);
        } else if (mine && (!state.published || mine.localChanges)) {
          const record = await fileState(tx, target, name, this.next());
          records.push(fileRecord(target, record, name));
          await markPublished(tx, target, name, record!.version);
          summary.published.push(name);
        } else if (mine && !theirs) {
          // Published once, gone from the topic since: reset on another machine.
          await tx.run('DELETE FROM batches WHERE kafka_topic = ? AND file_name = ?', [target, name]);
          await tx.run('DELETE FROM files WHERE kafka_topic = ? AND file_name = ?', [target, name]);
          summary.removed.push(name);
        }
      }
      if (!state.published) records.push(publishedMarker(target));
      await this.log.write(records);
    });
    return summary;
  }

  private next(): StateVersion {
    return { epoch: this.epoch, seq: ++this.seq };
  }

  private leaseState(releasedAt: string | null): LeaseRecord {
    return { owner: this.owner.id, host: this.owner.host, pid: this.owner.pid, epoch: this.epoch, acquiredAt: this.acquiredAt, heartbeatAt: new Date().toISOString(), releasedAt };
  }
}

/** In a run without the checkpoint topic: changed rows are marked unpublished, for the next run that has it. */
export const markLocalChanges: CommitHook = async (tx, touched) => {
  for (const { topic, file } of touched) {
    await tx.run('UPDATE files SET local_changes = 1 WHERE kafka_topic = ? AND file_name = ?', [topic, file]);
  }
};

/** LEASE_HELD when another run's lease on the topic is live. */
function assertNotHeld(log: CheckpointTopic, lease: LeaseRecord | null, owner: LeaseOwner, staleAfterMs: number, forChange: boolean): void {
  if (!lease || lease.owner === owner.id || !isLive(lease, staleAfterMs)) return;
  const what = forChange ? 'changed' : 'synced';
  throw new SparkSyncError('LEASE_HELD', `topic ${log.target} is being synced by another spark-sync (pid ${lease.pid} on ${lease.host}, run ${lease.owner}, last heartbeat ${lease.heartbeatAt}; its lease is in ${log.name}), so it cannot be ${what} now`, {
    hint: `wait for it to finish, or stop it; its lease expires ${Math.round(staleAfterMs / 1000)} s after its last heartbeat (safe to retry)`,
  });
}

function isLive(lease: LeaseRecord, staleAfterMs: number): boolean {
  if (lease.releasedAt !== null) return false;
  if (Date.now() - Date.parse(lease.heartbeatAt) > staleAfterMs) return false;
  // Heartbeats cannot tell a killed holder from a slow one for a minute; on this host the pid can.
  return !(lease.host === os.hostname() && !isAlive(lease.pid));
}

/** A file's state as a checkpoint-topic record (null: the file is gone, a tombstone). */
async function fileState(tx: Tx, topic: string, file: string, version: StateVersion): Promise<FileRecord | null> {
  const row = await tx.get<FileRow>('SELECT * FROM files WHERE kafka_topic = ? AND file_name = ?', [topic, file]);
  if (!row) return null;
  const batches = (await tx.all<BatchRow>('SELECT * FROM batches WHERE kafka_topic = ? AND file_name = ? ORDER BY batch_index', [topic, file])).map(toBatchCheckpoint);
  const cp: FileCheckpoint = { ...toFileCheckpoint(row), kafkaVersion: version, localChanges: false };
  return { version, file: cp, batches };
}

async function markPublished(tx: Tx, topic: string, file: string, version: StateVersion): Promise<void> {
  await tx.run('UPDATE files SET kafka_version = ?, local_changes = 0 WHERE kafka_topic = ? AND file_name = ?', [JSON.stringify(version), topic, file]);
}

/** Replaces a file's local rows with its record from the checkpoint topic. */
async function restore(tx: Tx, record: FileRecord): Promise<void> {
  const { file } = record;
  await tx.run('DELETE FROM batches WHERE kafka_topic = ? AND file_name = ?', [file.topic, file.fileName]);
  await tx.run('DELETE FROM files WHERE kafka_topic = ? AND file_name = ?', [file.topic, file.fileName]);
  await insert(tx, 'files', toFileRow({ ...file, kafkaVersion: record.version, localChanges: false }));
  for (const b of record.batches) await insert(tx, 'batches', toBatchRow(file.topic, file.fileName, b));
}

async function insert(tx: Tx, table: 'files' | 'batches', row: Record<string, string | number | null>): Promise<void> {
  const columns = Object.keys(row);
  await tx.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, columns.map((c) => row[c]));
}
