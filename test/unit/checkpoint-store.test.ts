import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CheckpointStore, FileStart } from '../../src/checkpoint/checkpoint-store';
import { SparkSyncError } from '../../src/index';
import { tempDir } from '../helpers/broker-fixture';

const start: FileStart = {
  sourcePath: 'file:///data/a.parquet',
  sourceFormat: 'parquet',
  batchSize: 10,
  startOffsets: [5, 7],
  fingerprint: { sizeBytes: 100, mtimeMs: 1_700_000_000_000, rows: 25 },
  keyFields: null,
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
    await zombie.markPending('t', 'a.parquet', 10);
    // Its heartbeat lapsed (stale after 0 ms here): the other process takes the lease over.
    const second = await next.acquireLease('t', { id: 'next', host: 'elsewhere', pid: 2 }, 0);
    assert.equal(second.epoch, first.epoch + 1);
    await next.commitBatch('t', 'a.parquet', { batchIndex: 0, firstPosition: 0, endPosition: 10, partitionCounts: [4, 6], endOffsets: [9, 13] });
    await next.markPending('t', 'a.parquet', 20);
    const lost = (e: SparkSyncError) => e.code === 'LEASE_LOST' && e.exitCode === 4 && /epoch 1\b.*pid 2 on elsewhere \(epoch 2/.test(e.message);
    // Every write of the zombie is refused, so it cannot overwrite the new holder's pending batch.
    await assert.rejects(zombie.heartbeat('t'), lost);
    await assert.rejects(zombie.markPending('t', 'a.parquet', 10), lost);
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
