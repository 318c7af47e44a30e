/**
 * A topic's writer lease (DESIGN.md §5): one writer per topic at a time. A live holder keeps it;
 * a stale one (no heartbeat for a while, or its process on this host is gone) can be taken over,
 * so a crashed sync never blocks the topic for good.
 *
 * The lease also fences. Each acquisition gets the topic's next epoch, and every checkpoint write
 * of a sync (start, pending batch, commit, completion, heartbeat) checks, in its own transaction,
 * that the lease row still names its owner and epoch. A holder that was paused (SIGSTOP, a long
 * GC, a frozen VM) and lost its lease to another process meanwhile can therefore write nothing
 * more: its next write fails with LEASE_LOST.
 */
import os from 'node:os';
import { SparkSyncError } from '../errors/spark-sync-error';
import { isAlive } from '../util/processes';
import { SqliteDb, Tx } from './sqlite-db';

/**
 * A topic's writer lease is stale this long after its holder's last heartbeat (heartbeats come
 * every 10 s); a holder on this host whose process is gone is stale at once.
 * `SPARK_SYNC_LEASE_TIMEOUT_MS` changes it (tests use a few seconds).
 */
export function leaseStaleMs(): number {
  return leaseTimeoutFromEnv() ?? 60_000;
}

/** Who holds a topic's writer lease. */
export interface LeaseOwner {
  id: string;
  host: string;
  pid: number;
}

/** What a holder shows with each write: its lease on one topic, at one epoch. */
export interface LeaseToken {
  topic: string;
  owner: string;
  epoch: number;
}

interface LeaseRow {
  owner: string;
  host: string;
  pid: number;
  epoch: number;
  heartbeat_at: string;
  released_at: string | null;
}

export async function acquireLease(db: SqliteDb, topic: string, owner: LeaseOwner, staleAfterMs: number): Promise<LeaseToken> {
  return db.transaction(async (tx) => {
    const previous = await tx.get<LeaseRow>('SELECT owner, host, pid, epoch, heartbeat_at, released_at FROM leases WHERE kafka_topic = ?', [topic]);
    const held = previous && isLive(previous, staleAfterMs) ? previous : undefined;
    if (held && held.owner !== owner.id) {
      throw new SparkSyncError('LEASE_HELD', `topic ${topic} is being synced by another spark-sync (pid ${held.pid} on ${held.host}, last heartbeat ${held.heartbeat_at})`, {
        hint: `wait for it to finish, or stop it; its lease expires ${Math.round(staleAfterMs / 1000)} s after its last heartbeat (safe to retry)`,
      });
    }
    const now = new Date().toISOString();
    const epoch = (previous?.epoch ?? 0) + 1;
    await tx.run(
      `INSERT OR REPLACE INTO leases (kafka_topic, owner, host, pid, acquired_at, heartbeat_at, epoch, released_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)`,
      [topic, owner.id, owner.host, owner.pid, now, now, epoch],
    );
    return { topic, owner: owner.id, epoch };
  });
}

/** Renews the lease; LEASE_LOST if another process took it meanwhile. */
export async function heartbeat(db: SqliteDb, token: LeaseToken): Promise<void> {
  await db.transaction(async (tx) => {
    await assertLeaseHeld(tx, token);
    await tx.run('UPDATE leases SET heartbeat_at = ? WHERE kafka_topic = ?', [new Date().toISOString(), token.topic]);
  });
}

/** Gives the lease up, if this holder still has it; the row stays so that epochs only grow. */
export async function releaseLease(db: SqliteDb, token: LeaseToken): Promise<void> {
  await db.run('UPDATE leases SET released_at = ? WHERE kafka_topic = ? AND owner = ? AND epoch = ? AND released_at IS NULL', [
    new Date().toISOString(), token.topic, token.owner, token.epoch,
  ]);
}

/**
 * The fence: inside a write's transaction, fails with LEASE_LOST unless `token` is still the
 * topic's lease. Staleness does not matter here: a holder whose heartbeats lapsed but whom nobody
 * replaced may go on, since no other process has written meanwhile.
 */
export async function assertLeaseHeld(tx: Tx, token: LeaseToken): Promise<void> {
  const row = await tx.get<LeaseRow>('SELECT owner, host, pid, epoch, heartbeat_at, released_at FROM leases WHERE kafka_topic = ?', [token.topic]);
  if (row && row.owner === token.owner && row.epoch === token.epoch && row.released_at === null) return;
  const by = row && row.owner !== token.owner ? ` to pid ${row.pid} on ${row.host} (epoch ${row.epoch}, since ${row.heartbeat_at})` : '';
  throw new SparkSyncError('LEASE_LOST', `this spark-sync lost its lease on topic ${token.topic} (epoch ${token.epoch})${by}, so it stopped writing: it was paused or cut off longer than the lease timeout`, {
    hint: 'the other run owns the topic now; this one left the checkpoint untouched since; check `spark-sync status` and `spark-sync verify` after the other run',
  });
}

/**
 * For an operator's change outside a sync (`reset`, `reset --acknowledge`), inside its
 * transaction: refused while a live sync holds the topic; otherwise the lease moves to the next
 * epoch, released at once. A holder that was paused past its lease (SIGSTOP, a frozen VM) and
 * resumes after the change then fails its next write with LEASE_LOST instead of committing a batch
 * of a file that is no longer there.
 */
export async function fenceForChange(tx: Tx, topic: string, staleAfterMs: number, what: string): Promise<void> {
  const held = await liveLease(tx, topic, staleAfterMs);
  if (held) {
    throw new SparkSyncError('LEASE_HELD', `topic ${topic} is being synced right now (pid ${held.pid} on ${held.host})`, { hint: `wait for that sync to finish or stop it, then ${what}` });
  }
  const previous = await tx.get<{ epoch: number }>('SELECT epoch FROM leases WHERE kafka_topic = ?', [topic]);
  const now = new Date().toISOString();
  await tx.run(
    `INSERT OR REPLACE INTO leases (kafka_topic, owner, host, pid, acquired_at, heartbeat_at, epoch, released_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [topic, `${what}:${process.pid}`, os.hostname(), process.pid, now, now, (previous?.epoch ?? 0) + 1, now],
  );
}

/**
 * The topic's lease if a live holder has it, else undefined (no lease, a released or a stale one).
 * Takes a transaction so the caller's decision and its write see the same lease.
 */
export async function liveLease(tx: Tx, topic: string, staleAfterMs: number): Promise<LeaseRow | undefined> {
  const held = await tx.get<LeaseRow>('SELECT owner, host, pid, epoch, heartbeat_at, released_at FROM leases WHERE kafka_topic = ?', [topic]);
  return held && isLive(held, staleAfterMs) ? held : undefined;
}

function isLive(held: LeaseRow, staleAfterMs: number): boolean {
  if (held.released_at !== null) return false;
  if (Date.now() - Date.parse(held.heartbeat_at) > staleAfterMs) return false;
  // Heartbeats cannot tell a killed holder from a slow one for a minute; on this host the pid can.
  return !(held.host === os.hostname() && !isAlive(held.pid));
}

function leaseTimeoutFromEnv(): number | undefined {
  const raw = process.env.SPARK_SYNC_LEASE_TIMEOUT_MS;
  if (raw === undefined || raw.trim() === '') return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 1000) {
    throw new SparkSyncError('USAGE', `SPARK_SYNC_LEASE_TIMEOUT_MS=${raw} is not a whole number of milliseconds ≥ 1000`, { hint: 'unset it (default 60000) or give e.g. 30000' });
  }
  return ms;
}
