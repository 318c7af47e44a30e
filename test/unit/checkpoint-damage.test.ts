/**
 * The checkpoint under damage (issue 13, part 7). Real checkpoints, made by CheckpointStore and
 * then damaged: cut short, a garbled page, a newer schema, rows in impossible states, a -wal
 * journal beside a file in a read-only folder. Each is refused through the CLI (`status`, and the
 * writer `reset`) and through a writable CheckpointStore.open with exit 2 (CHECKPOINT_INVALID)
 * and one line on stderr, and the file (and its -wal, when it has one) is byte for byte as before.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sqlite3 from 'sqlite3';
import { CheckpointStore, FileStart } from '../../src/checkpoint/checkpoint-store';
import { SCHEMA_VERSION } from '../../src/checkpoint/schema';
import { SparkSyncError } from '../../src/index';
import { CliResult, runCli } from '../helpers/cli';
import { mountReadOnly, mountSkipReason } from '../helpers/mounts';

const TOPIC = 't';
/** A lease holder on this host whose process is gone: stale at once, so `reset` is not held off. */
const OWNER = { id: 'damage-test', host: os.hostname(), pid: 2 ** 22 + 12345 };
const STORE_JS = path.resolve(__dirname, '..', '..', 'src', 'checkpoint', 'checkpoint-store.js');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-damage-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

function fileStart(rows: number): FileStart {
  return {
    sourcePath: 'file:///data/a.parquet',
    sourceFormat: 'parquet',
    batchSize: 10,
    startOffsets: [0, 0],
    fingerprint: { sizeBytes: 100, mtimeMs: 1_700_000_000_000, rows },
    keyFields: null, messageKey: null,
  };
}

const batch = (i: number) => ({ batchIndex: i, firstPosition: i * 10, endPosition: i * 10 + 10, partitionCounts: [4, 6], endOffsets: [4 * (i + 1), 6 * (i + 1)] });

/**
 * A checkpoint as a sync leaves it: a.parquet IN_PROGRESS with `batches` batches of 10 committed
 * of `rows` and the next batch pending, b.parquet COMPLETED (20 rows, 2 batches). Closed cleanly,
 * so the file holds everything and has no -wal.
 */
async function makeCheckpoint(file: string, batches: number, rows = batches * 10 + 50): Promise<void> {
  const store = await CheckpointStore.open(file, { create: true });
  try {
    await store.acquireLease(TOPIC, OWNER, 60_000);
    await store.startFile(TOPIC, 'b.parquet', fileStart(20));
    for (const i of [0, 1]) await store.commitBatch(TOPIC, 'b.parquet', batch(i));
    await store.completeFile(TOPIC, 'b.parquet');
    await store.startFile(TOPIC, 'a.parquet', fileStart(rows));
    for (let i = 0; i < batches; i++) await store.commitBatch(TOPIC, 'a.parquet', batch(i));
    await store.markPending(TOPIC, 'a.parquet', batches * 10 + 10, [0, 0]);
  } finally {
    await store.close();
  }
  assert.equal(fs.existsSync(`${file}-wal`), false, 'a clean close leaves no -wal');
}

/** Runs SQL on the file with a plain SQLite connection (no spark-sync checks), closing cleanly. */
function sql(file: string, statements: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READWRITE, (err) => {
      if (err) return reject(err);
      db.exec(statements, (execErr) => db.close((closeErr) => (execErr || closeErr ? reject(execErr ?? closeErr) : resolve())));
    });
  });
}

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The file's hash and its -wal's (undefined when it has none). */
function snapshot(file: string): { db: string; wal?: string } {
  return { db: sha256(file), wal: fs.existsSync(`${file}-wal`) ? sha256(`${file}-wal`) : undefined };
}

function assertUntouched(file: string, was: { db: string; wal?: string }): void {
  assert.equal(sha256(file), was.db, `${path.basename(file)} is byte for byte as it was`);
  if (was.wal !== undefined) assert.equal(sha256(`${file}-wal`), was.wal, 'its -wal is byte for byte as it was');
  // A reader may leave an empty -wal behind (SQLite creates it to look for commits): no content.
  else assert.ok(!fs.existsSync(`${file}-wal`) || fs.statSync(`${file}-wal`).size === 0, 'no -wal content appeared');
}

/** Exit `exitCode`, exactly one line on stderr, `spark-sync: error [CODE]: …` matching `expect`. */
function assertOneLineError(r: CliResult, exitCode: number, code: string, expect: RegExp): void {
  assert.equal(r.code, exitCode, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0], new RegExp(`^spark-sync: error \\[${code}\\]: `));
  assert.match(lines[0], expect);
  assert.equal((r.summary.error as { code: string } | undefined)?.code, code, 'the summary on stdout names the code');
}

/**
 * The file is refused by `status`, by `reset` (a writer) and by a writable CheckpointStore.open,
 * each with exit 2 and a message matching `expect`, and is left as it was.
 */
async function assertRefused(file: string, expect: RegExp): Promise<void> {
  const was = snapshot(file);
  assertOneLineError(await runCli(['status', '--checkpoint', file]), 2, 'CHECKPOINT_INVALID', expect);
  assertOneLineError(await runCli(['reset', '--checkpoint', file, '--topic', TOPIC, '--all', '--yes']), 2, 'CHECKPOINT_INVALID', expect);
  await assert.rejects(CheckpointStore.open(file, { create: true }), (e: unknown) => {
    assert.ok(e instanceof SparkSyncError, String(e));
    assert.equal(e.code, 'CHECKPOINT_INVALID');
    assert.equal(e.exitCode, 2);
    assert.match(e.message, expect);
    return true;
  });
  assertUntouched(file, was);
}

/** A copy of `source` in a folder of its own, so each damage starts from the same checkpoint. */
function copyOf(source: string, name: string): string {
  const dir = fs.mkdtempSync(path.join(root, `${name}-`));
  const copy = path.join(dir, 'checkpoint.db');
  fs.copyFileSync(source, copy);
  return copy;
}

/**
 * Commits batches `from`..`to`-1 of a.parquet in a child process that is SIGKILLed right after,
 * before SQLite folds its -wal into the file: the -wal (and -shm) hold those commits.
 */
function commitThenKill(file: string, from: number, to: number): void {
  const script = `
    const { CheckpointStore } = require(${JSON.stringify(STORE_JS)});
    (async () => {
      const store = await CheckpointStore.open(process.argv[1], { create: true });
      await store.acquireLease(${JSON.stringify(TOPIC)}, ${JSON.stringify(OWNER)}, 60000);
      for (let i = ${from}; i < ${to}; i++) {
        await store.commitBatch(${JSON.stringify(TOPIC)}, 'a.parquet', { batchIndex: i, firstPosition: i * 10, endPosition: i * 10 + 10, partitionCounts: [4, 6], endOffsets: [4 * (i + 1), 6 * (i + 1)] });
      }
      process.kill(process.pid, 'SIGKILL');
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script, file], { encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL', `the writer was killed; stderr: ${r.stderr}`);
  assert.ok(fs.statSync(`${file}-wal`).size > 0, 'its commits are in the -wal');
}

/** `status --json`'s records_processed of a.parquet. */
async function recordsProcessedByStatus(file: string): Promise<number> {
  const r = await runCli(['status', '--checkpoint', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const files = r.summary.files as Array<{ file_name: string; records_processed: number }>;
  return files.find((f) => f.file_name === 'a.parquet')!.records_processed;
}

describe('a damaged checkpoint is refused with exit 2 and never written', () => {
  let small: string;
  let large: string;

  before(async () => {
    small = path.join(root, 'small.db');
    await makeCheckpoint(small, 5, 100);
    // Many batches, so the file has many pages and cutting it in half loses real ones.
    large = path.join(root, 'large.db');
    await makeCheckpoint(large, 1500);
  });

  test('the undamaged checkpoints open (the check has no false alarm on a pending batch or a completed file)', async () => {
    for (const file of [small, large]) {
      const copy = copyOf(file, 'healthy');
      assert.equal(await recordsProcessedByStatus(copy), file === small ? 50 : 15_000);
      const store = await CheckpointStore.open(copy, { create: true });
      try {
        assert.deepEqual((await store.listFiles()).map((f) => [f.fileName, f.status]), [['a.parquet', 'IN_PROGRESS'], ['b.parquet', 'COMPLETED']]);
        assert.equal((await store.getFile(TOPIC, 'a.parquet'))!.pendingEndPosition, file === small ? 60 : 15_010);
      } finally {
        await store.close();
      }
    }
  });

  test('a file cut to half its size', async () => {
    const file = copyOf(large, 'truncated');
    const size = fs.statSync(file).size;
    assert.ok(size / 4096 >= 40, `enough pages that half of them are real data (${size} bytes)`);
    fs.truncateSync(file, Math.floor(size / 2 / 4096) * 4096);
    await assertRefused(file, /damaged.*it was cut short/);
  });

  test('a page in the middle overwritten with garbage', async () => {
    const file = copyOf(large, 'garbled');
    const pages = fs.statSync(file).size / 4096;
    const fd = fs.openSync(file, 'r+');
    try {
      fs.writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, Math.floor(pages / 2) * 4096);
    } finally {
      fs.closeSync(fd);
    }
    await assertRefused(file, /damaged|integrity check failed/);
  });

  test('a schema version newer than this code', async () => {
    const file = copyOf(small, 'newer');
    await sql(file, `PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    await assertRefused(file, new RegExp(`written by a newer spark-sync \\(schema ${SCHEMA_VERSION + 1}, this one reads up to ${SCHEMA_VERSION}\\)`));
  });

  // Rows SQLite finds healthy, in states no sequence of spark-sync's writes can produce. The small
  // checkpoint: a.parquet has 5 batches of 10 (50 of 100 records), b.parquet is COMPLETED.
  const impossible: Array<[string, string, RegExp]> = [
    ['a COMPLETED file short of its total', `UPDATE files SET status = 'COMPLETED' WHERE file_name = 'a.parquet'`, /COMPLETED with 50 of 100 records processed/],
    ['more records processed than the file has', `UPDATE files SET total_records = 40 WHERE file_name = 'a.parquet'`, /50 records processed of 40/],
    ['an IN_PROGRESS file without partition offsets', `UPDATE files SET partition_offsets = NULL WHERE file_name = 'a.parquet'`, /IN_PROGRESS with no partition_offsets/],
    ['partition offsets for another partition count', `UPDATE files SET partition_offsets = '[20,30,0]' WHERE file_name = 'a.parquet'`, /partition_offsets holds 3 offsets for 2 partitions/],
    ['an empty batch', `UPDATE batches SET end_position = first_position WHERE file_name = 'a.parquet' AND batch_index = 4`, /batch 4 covers \[40, 40\), which is empty or backwards/],
    ['a gap between two batches', `UPDATE batches SET first_position = 31 WHERE file_name = 'a.parquet' AND batch_index = 3`, /batches are not contiguous: batch 3 starts at position 31 but the batch before it ends at 30/],
    ['records processed short of the last batch', `UPDATE files SET records_processed = 40 WHERE file_name = 'a.parquet'`, /records_processed is 40 but its last batch ends at 50/],
  ];
  for (const [name, statement, expect] of impossible) {
    test(`a row in an impossible state: ${name}`, async () => {
      const file = copyOf(small, 'impossible');
      await sql(file, statement);
      await assertRefused(file, new RegExp(`impossible state for topic ${TOPIC}, file a\\.parquet: ${expect.source}`));
    });
  }

  test('an impossible state only in the -wal is refused without folding the -wal into the file', async () => {
    const file = copyOf(small, 'impossible-wal');
    const script = `
      const sqlite3 = require(${JSON.stringify(require.resolve('sqlite3'))});
      const db = new sqlite3.Database(process.argv[1]);
      db.run("UPDATE files SET status = 'COMPLETED' WHERE file_name = 'a.parquet'", (err) => {
        if (err) { console.error(err); process.exit(1); }
        process.kill(process.pid, 'SIGKILL');
      });`;
    const r = spawnSync(process.execPath, ['-e', script, file], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    assert.ok(fs.statSync(`${file}-wal`).size > 0, 'the update is in the -wal only');
    await assertRefused(file, /impossible state for topic t, file a\.parquet: COMPLETED with 50 of 100 records processed/);
  });
});

describe('a checkpoint with a -wal journal in a read-only folder', { skip: mountSkipReason }, () => {
  /** Runs `work` with `dir` mounted read-only, and checks no file in it changed. */
  async function readOnly(dir: string, work: () => Promise<void>): Promise<void> {
    const hashes = () => Object.fromEntries(fs.readdirSync(dir).map((f) => [f, sha256(path.join(dir, f))]));
    const was = hashes();
    const unmount = mountReadOnly(dir);
    try {
      await work();
    } finally {
      unmount();
    }
    assert.deepEqual(hashes(), was, 'every file in the folder is as it was');
  }

  let killed: string;

  before(async () => {
    const dir = fs.mkdtempSync(path.join(root, 'killed-'));
    killed = path.join(dir, 'checkpoint.db');
    await makeCheckpoint(killed, 5, 100);
    commitThenKill(killed, 5, 8);
    assert.ok(fs.existsSync(`${killed}-shm`), 'the killed writer left its -shm');
    // The file alone does not hold the last commits: only the -wal does.
    const fileAlone = copyOf(killed, 'file-alone');
    assert.equal(await recordsProcessedByStatus(fileAlone), 50);
  });

  test('with its -shm: status reads the -wal as it is; a writer is refused', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'ro-with-shm-'));
    const file = path.join(dir, 'checkpoint.db');
    for (const suffix of ['', '-wal', '-shm']) fs.copyFileSync(`${killed}${suffix}`, `${file}${suffix}`);
    await readOnly(dir, async () => {
      assert.equal(await recordsProcessedByStatus(file), 80, 'the commits in the -wal are read');
      assertOneLineError(await runCli(['reset', '--checkpoint', file, '--topic', TOPIC, '--all', '--yes']), 2, 'CHECKPOINT_INVALID', /cannot be written: its folder .* is read-only \(EROFS\)/);
    });
  });

  test('without its -shm: status refuses in one line, saying why and what to do', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'ro-no-shm-'));
    const file = path.join(dir, 'checkpoint.db');
    for (const suffix of ['', '-wal']) fs.copyFileSync(`${killed}${suffix}`, `${file}${suffix}`);
    await readOnly(dir, async () => {
      assertOneLineError(
        await runCli(['status', '--checkpoint', file]),
        2,
        'CHECKPOINT_INVALID',
        /cannot be read: its folder .* is read-only \(EROFS\) and its WAL journal checkpoint\.db-wal holds commits not yet in the file, .*checkpoint\.db-shm.*; make the folder writable and rerun, or copy checkpoint\.db and checkpoint\.db-wal together/,
      );
      assertOneLineError(await runCli(['reset', '--checkpoint', file, '--topic', TOPIC, '--all', '--yes']), 2, 'CHECKPOINT_INVALID', /read-only/);
    });
    // Once the folder is writable again, the same files read in full.
    assert.equal(await recordsProcessedByStatus(file), 80);
  });

  test('a cleanly closed checkpoint (no -wal) reads in a read-only folder', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'ro-clean-'));
    const file = path.join(dir, 'checkpoint.db');
    await makeCheckpoint(file, 5, 100);
    await readOnly(dir, async () => {
      assert.equal(await recordsProcessedByStatus(file), 50);
    });
    assert.deepEqual(fs.readdirSync(dir), ['checkpoint.db'], 'no -wal or -shm was created');
  });
});
