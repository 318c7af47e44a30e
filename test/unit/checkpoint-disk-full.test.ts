/**
 * A full disk under the checkpoint (issue 13, part 7): a checkpoint on a 1 MiB tmpfs, the rest of
 * it filled, then commits until one finds no room. That one fails with CHECKPOINT_DISK_FULL
 * (exit 6) in one line, the checkpoint keeps exactly its last good commit, and once there is room
 * again the same commit goes through. Root only: the full file system is a tmpfs mount.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { explainSqliteError, fileSystemFull } from '../../src/checkpoint/checkpoint-errors';
import { CheckpointStore, FileStart } from '../../src/checkpoint/checkpoint-store';
import { SparkSyncError } from '../../src/index';
import { runCli } from '../helpers/cli';
import { mountSkipReason, mountTmpfs } from '../helpers/mounts';

const TOPIC = 't';
/** A lease holder on this host whose process is gone: stale at once, so `reset` is not held off. */
const OWNER = { id: 'disk-full-test', host: os.hostname(), pid: 2 ** 22 + 12345 };

const start: FileStart = {
  sourcePath: 'file:///data/a.parquet',
  sourceFormat: 'parquet',
  batchSize: 10,
  startOffsets: [0, 0],
  fingerprint: { sizeBytes: 100, mtimeMs: 1_700_000_000_000, rows: 10_000 },
  keyFields: null, messageKey: null,
};

const batch = (i: number) => ({ batchIndex: i, firstPosition: i * 10, endPosition: i * 10 + 10, partitionCounts: [4, 6], endOffsets: [4 * (i + 1), 6 * (i + 1)] });

/** Writes `file` until the file system has no byte left (ENOSPC), in smaller and smaller writes. */
function fill(file: string): number {
  const fd = fs.openSync(file, 'w');
  let written = 0;
  try {
    for (const size of [64 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size, 0x5a);
      try {
        for (;;) written += fs.writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return written;
}

function assertDiskFull(e: unknown, file: string): void {
  assert.ok(e instanceof SparkSyncError, `a SparkSyncError, got ${String(e)}`);
  assert.equal(e.code, 'CHECKPOINT_DISK_FULL');
  assert.equal(e.exitCode, 6);
  assert.equal(e.retriable, false);
  const line = e.oneLine();
  assert.doesNotMatch(line, /\n/);
  assert.ok(line.includes(file), `names the file: ${line}`);
  assert.match(line, /its disk is full .*; the checkpoint stays as of its last commit; free space on the file system of .* and rerun the same command$/);
}

describe('a full disk under the checkpoint', { skip: mountSkipReason }, () => {
  test('a commit on a full disk fails with exit 6, the checkpoint keeps its last commit, and commits again once there is room', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-disk-full-'));
    const mnt = path.join(dir, 'mnt');
    fs.mkdirSync(mnt);
    const unmount = mountTmpfs(mnt, '1m');
    try {
      const file = path.join(mnt, 'checkpoint.db');
      const filler = path.join(mnt, 'filler');
      let committed = 1;
      const store = await CheckpointStore.open(file, { create: true });
      try {
        await store.acquireLease(TOPIC, OWNER, 60_000);
        await store.startFile(TOPIC, 'a.parquet', start);
        await store.commitBatch(TOPIC, 'a.parquet', batch(0));
        assert.ok(fill(filler) > 512 * 1024, 'the filler took the rest of the 1 MiB');
        assert.ok(fileSystemFull(file));

        let failure: unknown;
        for (; committed < 200 && failure === undefined; committed++) {
          await store.commitBatch(TOPIC, 'a.parquet', batch(committed)).catch((e: unknown) => (failure = e));
        }
        committed--; // the last try failed
        assert.ok(failure !== undefined, 'a commit found the disk full');
        assertDiskFull(failure, file);
        // The failed transaction rolled back; the connection still reads the last commit.
        assert.equal((await store.getFile(TOPIC, 'a.parquet'))!.recordsProcessed, committed * 10);

        // The CLI: a writer on the full disk prints the one line and exits 6.
        const r = await runCli(['reset', '--checkpoint', file, '--topic', TOPIC, '--all', '--yes']);
        assert.equal(r.code, 6, r.stderr);
        const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
        assert.equal(lines.length, 1, `one line on stderr: ${r.stderr}`);
        assert.match(lines[0], /^spark-sync: error \[CHECKPOINT_DISK_FULL\]: the checkpoint .*checkpoint\.db could not be written: its disk is full/);
        assert.deepEqual(r.summary.error, { code: 'CHECKPOINT_DISK_FULL', exit_code: 6, retriable: false, message: lines[0].replace(/^spark-sync: error \[CHECKPOINT_DISK_FULL\]: /, '') });

        // An I/O error that is not SQLITE_FULL, while the disk has no room, and a raw ENOSPC, say the same.
        assertDiskFull(explainSqliteError(file, Object.assign(new Error('SQLITE_IOERR: disk I/O error'), { code: 'SQLITE_IOERR' })), file);
        assertDiskFull(explainSqliteError(file, Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })), file);
      } finally {
        await store.close();
      }

      // Reopened while the disk is still full: exactly the last good commit.
      const reader = await CheckpointStore.open(file, { create: false });
      try {
        assert.equal((await reader.getFile(TOPIC, 'a.parquet'))!.recordsProcessed, committed * 10);
        assert.equal((await reader.listBatches(TOPIC, 'a.parquet')).length, committed);
        assert.equal(await reader.integrityCheck(), 'ok');
      } finally {
        await reader.close();
      }

      // Room again: the same command goes on from there.
      fs.rmSync(filler);
      assert.equal(fileSystemFull(file), false);
      const writer = await CheckpointStore.open(file, { create: true });
      try {
        await writer.acquireLease(TOPIC, OWNER, 60_000);
        await writer.commitBatch(TOPIC, 'a.parquet', batch(committed));
        assert.equal((await writer.getFile(TOPIC, 'a.parquet'))!.recordsProcessed, (committed + 1) * 10);
        assert.equal((await writer.listBatches(TOPIC, 'a.parquet')).length, committed + 1);
        assert.equal(await writer.integrityCheck(), 'ok');
      } finally {
        await writer.close();
      }
    } finally {
      unmount();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
