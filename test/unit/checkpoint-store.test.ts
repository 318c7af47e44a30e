import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import sqlite3 from 'sqlite3';
import { CheckpointStore, FileStart } from '../../src/checkpoint/checkpoint-store';
import { SCHEMA_VERSION } from '../../src/checkpoint/schema';
import { SparkSyncError } from '../../src/index';
import { tempDir } from '../helpers/broker-fixture';

const start: FileStart = {
  sourcePath: 'file:///data/a.parquet',
  sourceFormat: 'parquet',
  batchSize: 10,
  startOffsets: [5, 7],
  fingerprint: { sizeBytes: 100, mtimeMs: 1_700_000_000_000, rows: 25 },
  keyFields: null,
  messageKey: null,
};

test('a new checkpoint is 0600 in a 0700 folder, in WAL mode', async () => {
  const file = path.join(tempDir(), 'home', 'checkpoint.db');
  const store = await CheckpointStore.open(file, { create: true });
  await store.close();
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
  assert.ok(fs.existsSync(`${file}-wal`) || fs.readFileSync(file).subarray(18, 20).equals(Buffer.from([2, 2])), 'WAL journal');
});

test('batches advance offsets and records; state moves only forward', async () => {
  const store = await CheckpointStore.open(path.join(tempDir(), 'c.db'), { create: true });
  try {
    await store.acquireLease('t', { id: 'me', host: os.hostname(), pid: process.pid }, 60_000);
    await store.startFile('t', 'a.parquet', start);
    await store.commitBatch('t', 'a.parquet', { batchIndex: 0, firstPosition: 0, endPosition: 10, partitionCounts: [4, 6], endOffsets: [9, 13] });
    // The same batch again does not start where the checkpoint ends: refused, nothing changes.
    await assert.rejects(
      store.commitBatch('t', 'a.parquet', { batchIndex: 1, firstPosition: 0, endPosition: 10, partitionCounts: [4, 6], endOffsets: [13, 19] }),
      SparkSyncError,
    );
    let cp = (await store.getFile('t', 'a.parquet'))!;
    assert.equal(cp.status, 'IN_PROGRESS');
    assert.equal(cp.recordsProcessed, 10);
    assert.deepEqual(cp.partitionOffsets, [9, 13]);
    assert.deepEqual(cp.startOffsets, [5, 7]);
    await store.completeFile('t', 'a.parquet');
    cp = (await store.getFile('t', 'a.parquet'))!;
    assert.equal(cp.status, 'COMPLETED');
    assert.ok(cp.completionTimestamp);
    await assert.rejects(store.startFile('t', 'a.parquet', start), /illegal checkpoint transition/);
    assert.equal((await store.listBatches('t', 'a.parquet')).length, 1);
  } finally {
    await store.close();
  }
});

test('a file that is not a spark-sync checkpoint is refused and left byte for byte as it was', async () => {
  const dir = tempDir();
  const garbage = path.join(dir, 'garbage.db');
  fs.writeFileSync(garbage, 'this is not a database, but it is somebody\'s file'.repeat(100));
  const before = fs.readFileSync(garbage);
  await assert.rejects(CheckpointStore.open(garbage, { create: true }), (e: SparkSyncError) => e.code === 'CHECKPOINT_INVALID' && e.exitCode === 2);
  assert.ok(fs.readFileSync(garbage).equals(before));
  assert.equal(fs.existsSync(`${garbage}-wal`), false);

  const missing = path.join(dir, 'missing.db');
  await assert.rejects(CheckpointStore.open(missing, { create: false }), /no checkpoint at/);
  assert.equal(fs.existsSync(missing), false);
});

test('a live lease is refused; a lease whose process is gone is taken over', async () => {
  const store = await CheckpointStore.open(path.join(tempDir(), 'l.db'), { create: true });
  try {
    await store.acquireLease('t', { id: 'me', host: require('node:os').hostname(), pid: process.pid }, 60_000);
    await assert.rejects(
      store.acquireLease('t', { id: 'other', host: 'elsewhere', pid: 1 }, 60_000),
      (e: SparkSyncError) => e.code === 'LEASE_HELD' && e.retriable,
    );
    await store.releaseLease('t');
    // A holder on this host whose pid no longer exists (e.g. SIGKILLed) is stale at once.
    await store.acquireLease('t', { id: 'dead', host: require('node:os').hostname(), pid: 2 ** 22 + 12345 }, 60_000);
    await store.acquireLease('t', { id: 'me', host: require('node:os').hostname(), pid: process.pid }, 60_000);
  } finally {
    await store.close();
  }
});

test('fencing: a holder whose lease was taken over can write nothing more, and epochs only grow', async () => {
  const file = path.join(tempDir(), 'f.db');
  // Two connections, as two processes have: a paused holder (zombie) and the one that took over.
  const zombie = await CheckpointStore.open(file, { create: true });
  const next = await CheckpointStore.open(file, { create: true });
  try {
    await assert.rejects(zombie.startFile('t', 'a.parquet', start), /without its writer lease/);
    const first = await zombie.acquireLease('t', { id: 'zombie', host: 'elsewhere', pid: 1 }, 60_000);
    await zombie.startFile('t', 'a.parquet', start);
    await zombie.markPending('t', 'a.parquet', 10, [5, 7]);
    // Its heartbeat lapsed (stale after 0 ms here): the other process takes the lease over.
    const second = await next.acquireLease('t', { id: 'next', host: 'elsewhere', pid: 2 }, 0);
    assert.equal(second.epoch, first.epoch + 1);
    await next.commitBatch('t', 'a.parquet', { batchIndex: 0, firstPosition: 0, endPosition: 10, partitionCounts: [4, 6], endOffsets: [9, 13] });
    await next.markPending('t', 'a.parquet', 20, [9, 13]);
    const lost = (e: SparkSyncError) => e.code === 'LEASE_LOST' && e.exitCode === 4 && /epoch 1\b.*pid 2 on elsewhere \(epoch 2/.test(e.message);
    // Every write of the zombie is refused, so it cannot overwrite the new holder's pending batch.
    await assert.rejects(zombie.heartbeat('t'), lost);
    await assert.rejects(zombie.markPending('t', 'a.parquet', 10, [5, 7]), lost);
    await assert.rejects(zombie.commitBatch('t', 'a.parquet', { batchIndex: 1, firstPosition: 10, endPosition: 20, partitionCounts: [5, 5], endOffsets: [14, 18] }), lost);
    await assert.rejects(zombie.completeFile('t', 'a.parquet'), lost);
    // Its release gives up nothing: the lease stays the new holder's.
    await zombie.releaseLease('t');
    const cp = (await next.getFile('t', 'a.parquet'))!;
    assert.equal(cp.recordsProcessed, 10);
    assert.equal(cp.pendingEndPosition, 20);
    await next.heartbeat('t');
    await next.releaseLease('t');
    // A released lease keeps its epoch: the next holder gets a higher one.
    assert.equal((await zombie.acquireLease('t', { id: 'later', host: 'elsewhere', pid: 3 }, 60_000)).epoch, 3);
  } finally {
    await zombie.close();
    await next.close();
  }
});

test('a natural-key file keeps its key fields, message key, duplicates and replays', async () => {
  const store = await CheckpointStore.open(path.join(tempDir(), 'k.db'), { create: true });
  try {
    await store.acquireLease('t', { id: 'me', host: os.hostname(), pid: process.pid }, 60_000);
    await store.startFile('t', 'a.parquet', { ...start, keyFields: ['user', 'event'], messageKey: ['user'], duplicateRecords: 3, replayedRecords: 4 });
    await store.startFile('t', 'b.parquet', start);
    const [a, b] = await store.listFiles('t');
    assert.deepEqual([a.keyFields, a.messageKey, a.duplicateRecords, a.replayedRecords], [['user', 'event'], ['user'], 3, 4]);
    assert.deepEqual([b.keyFields, b.messageKey, b.duplicateRecords, b.replayedRecords], [null, null, 0, 0]);
  } finally {
    await store.close();
  }
});

test('a schema-3 checkpoint reads with no message key and no duplicates, and a writer migrates it', async () => {
  const file = path.join(tempDir(), 'v3.db');
  const store = await CheckpointStore.open(file, { create: true });
  await store.acquireLease('t', { id: 'me', host: os.hostname(), pid: process.pid }, 60_000);
  await store.startFile('t', 'a.parquet', start);
  await store.releaseLease('t');
  await store.close();
  // What spark-sync before business keys wrote: migrations 5 and 4 undone.
  await sql(file, `ALTER TABLE files DROP COLUMN dead_letter_topic; ALTER TABLE files DROP COLUMN dead_letter_offsets;
    ALTER TABLE files DROP COLUMN open_from; ALTER TABLE files DROP COLUMN tail_ranges; ALTER TABLE files DROP COLUMN replay_accounting;
    ALTER TABLE files DROP COLUMN kafka_version; ALTER TABLE files DROP COLUMN local_changes;
    ALTER TABLE batches DROP COLUMN ranges; ALTER TABLE batches DROP COLUMN replayed_records; DROP TABLE topics;
    ALTER TABLE files DROP COLUMN message_key; ALTER TABLE files DROP COLUMN duplicate_records;
    ALTER TABLE files DROP COLUMN replayed_records; PRAGMA user_version = 3`);
  for (const options of [{ create: false }, { create: false, write: true }]) {
    const opened = await CheckpointStore.open(file, options);
    try {
      const cp = (await opened.getFile('t', 'a.parquet'))!;
      assert.deepEqual([cp.messageKey, cp.duplicateRecords, cp.replayedRecords, cp.recordsProcessed], [null, 0, 0, 0]);
    } finally {
      await opened.close();
    }
  }
  assert.equal(await userVersion(file), SCHEMA_VERSION);
});

/** Runs SQL on the file with a plain SQLite connection (no spark-sync checks), closing cleanly. */
function sql(file: string, statements: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READWRITE, (err) => {
      if (err) return reject(err);
      db.exec(statements, (execErr) => db.close((closeErr) => (execErr || closeErr ? reject(execErr ?? closeErr) : resolve())));
    });
  });
}

function userVersion(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => {
      if (err) return reject(err);
      db.get('PRAGMA user_version', (getErr, row: { user_version: number }) => db.close(() => (getErr ? reject(getErr) : resolve(row.user_version))));
    });
  });
}
