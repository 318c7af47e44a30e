/**
 * A topic's writer lease (DESIGN.md §5): one writer per topic at a time. A live holder keeps it;
 * a stale one (no heartbeat for a while, or its process on this host is gone) can be taken over,
 * so a crashed sync never blocks the topic for good.
 */
import os from 'node:os';
import { SparkSyncError } from '../errors/spark-sync-error';
import { isAlive } from '../util/processes';
import { SqliteDb, Tx } from './sqlite-db';

/**
 * A topic's writer lease is stale this long after its holder's last heartbeat (heartbeats come
 * every 10 s); a holder on this host whose process is gone is stale at once.
 */
export const LEASE_STALE_MS = 60_000;

/** Who holds a topic's writer lease. */
export interface LeaseOwner {
  id: string;
  host: string;
  pid: number;
}

interface LeaseRow {
  owner: string;
  host: string;
  pid: number;
  heartbeat_at: string;
}

export async function acquireLease(db: SqliteDb, topic: string, owner: LeaseOwner, staleAfterMs: number): Promise<void> {
  await db.transaction(async (tx) => {
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

export async function heartbeat(db: SqliteDb, topic: string, ownerId: string): Promise<void> {
  await db.run('UPDATE leases SET heartbeat_at = ? WHERE kafka_topic = ? AND owner = ?', [new Date().toISOString(), topic, ownerId]);
}

export async function releaseLease(db: SqliteDb, topic: string, ownerId: string): Promise<void> {
  await db.run('DELETE FROM leases WHERE kafka_topic = ? AND owner = ?', [topic, ownerId]);
}

/**
 * The topic's lease if a live holder has it, else undefined (no lease, or a stale one). Takes a
 * transaction so the caller's decision and its write see the same lease.
 */
export async function liveLease(tx: Tx, topic: string, staleAfterMs: number): Promise<LeaseRow | undefined> {
  const held = await tx.get<LeaseRow>('SELECT owner, host, pid, heartbeat_at FROM leases WHERE kafka_topic = ?', [topic]);
  return held && !leaseIsStale(held, staleAfterMs) ? held : undefined;
}

function leaseIsStale(held: { host: string; pid: number; heartbeat_at: string }, staleAfterMs: number): boolean {
  if (Date.now() - Date.parse(held.heartbeat_at) > staleAfterMs) return true;
  // Heartbeats cannot tell a killed holder from a slow one for a minute; on this host the pid can.
  return held.host === os.hostname() && !isAlive(held.pid);
}
