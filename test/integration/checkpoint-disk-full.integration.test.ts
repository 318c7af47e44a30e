import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { uniqueTopic } from '../helpers/broker-fixture';
import { mountSkipReason, mountTmpfs } from '../helpers/mounts';
import { expectedSampleKeys } from '../helpers/sample-rows';
import { useSyncFixture } from '../helpers/sync-fixture';

/**
 * A full disk under the checkpoint, for real: the checkpoint lives on an 8 MB tmpfs, and once the
 * sync has committed a few batches the test fills that file system. The next commit fails: exit 6
 * with one line, the checkpoint as of its last good commit. With space again, the rerun is exact.
 */
const ROWS = 60_000;
const BATCH = 1_000;

const t = useSyncFixture({ partitions: 3, batchSize: BATCH });
let source = '';
let disk = '';
let unmount: (() => void) | undefined;

before(async () => {
  if (mountSkipReason) return;
  source = await t.sample('disk.parquet', ROWS, 262144);
  disk = path.join(t.dir, 'small-disk');
  fs.mkdirSync(disk);
  // Room for the WAL of a whole sync (SQLite checkpoints it only at 1,000 pages), once the filler is gone.
  unmount = mountTmpfs(disk, '8m');
});

after(() => unmount?.());

/** Fills the file system under `dir` with one file until it refuses more (ENOSPC). */
function fill(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

test('the checkpoint\'s disk fills mid-sync: exit 6 with one line, checkpoint as of its last commit; with space again the rerun is exact', { skip: mountSkipReason }, async () => {
  const topic = uniqueTopic('disk-full');
  const checkpoint = path.join(disk, 'cp.db');
  let filler = '';
  const run = await t.submit(source, topic, [], {
    checkpoint,
    onLog: { msg: 'batch committed', run: () => (filler = fill(disk)) },
  });
  assert.ok(filler, 'the disk was filled during the run');
  assert.equal(run.code, 6, run.stderr.slice(-1500));
  const errors = run.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
  assert.equal(errors.length, 1, run.stderr);
  assert.match(errors[0], /\[CHECKPOINT_DISK_FULL\]/);
  assert.equal((run.summary.error as { exit_code: number }).exit_code, 6);
  const committed = run.logs.filter((l) => l.msg === 'batch committed').length;

  // Read back while the disk is still full: it opens, and holds exactly the commits logged.
  const status = await t.cli(['status', '--checkpoint', checkpoint, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const [file] = status.summary.files as Array<{ status: string; records_processed: number }>;
  assert.equal(file.status, 'IN_PROGRESS');
  assert.equal(file.records_processed, committed * BATCH, `${committed} batches were logged as committed`);
  assert.ok(file.records_processed < ROWS);

  fs.rmSync(filler);
  const rerun = await t.submit(source, topic, [], { checkpoint });
  assert.equal(rerun.code, 0, rerun.stderr.slice(-1500));
  await t.assertExact(topic, new Set(expectedSampleKeys(ROWS, 'disk.parquet')));
});
