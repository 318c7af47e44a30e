import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SparkSync, SubmitInput, SyncEvent, Table } from '../../src/index';
import { fileBroker, tempDir, uniqueTopic } from '../helpers/broker-fixture';
import { expectedSampleKeys, sampleFields } from '../helpers/sample-rows';
import { assertExactTopic } from '../helpers/topic-reader';

// The library as a notebook or a service uses it: Spark in this process's JVM, a real broker,
// typed events, and every result table read from Arrow IPC the JVM wrote.
const ROWS = 12_000;
const BATCH = 5_000;
const FILE = 'orders.parquet';

let broker: Awaited<ReturnType<typeof fileBroker>>;
let dir: string;
let sync: SparkSync;

/** A table's rows as plain objects, 64-bit integers as numbers (they are small here). */
function rows(table: Table): Array<Record<string, unknown>> {
  return table.toArray().map((r: { toJSON(): Record<string, unknown> }) =>
    Object.fromEntries(Object.entries(r.toJSON()).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
  );
}

before(async () => {
  broker = await fileBroker();
  dir = tempDir('spark-sync-lib-');
  process.env.SPARK_SYNC_HOME = path.join(dir, 'home');
  sync = await SparkSync.open({ master: 'local[2]' });
  await sync.writeSample(path.join(dir, FILE), { rows: ROWS });
});

after(async () => {
  await sync.close();
  await broker.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('open, submit with typed events, Arrow figures, status, preview, verify', async () => {
  const topic = uniqueTopic('lib');
  const checkpoint = path.join(dir, 'cp.db');
  const events: SyncEvent[] = [];
  const committed: number[] = [];
  sync.on('event', (e) => events.push(e));
  sync.on('batch-committed', (e) => committed.push(e.recordsProcessed));

  const result = await sync.submit({ source: path.join(dir, FILE), topic, bootstrapServer: broker.bootstrap, checkpoint, batchSize: BATCH, createTopic: true, partitions: 3 });
  assert.equal(result.recordsSent, ROWS);
  await assertExactTopic(broker.bootstrap, topic, new Set(expectedSampleKeys(ROWS, FILE)));

  assert.deepEqual(events.map((e) => e.type), ['run-planned', 'file-started', 'batch-committed', 'batch-committed', 'batch-committed', 'file-completed']);
  assert.deepEqual(committed, [5_000, 10_000, 12_000]);

  assert.deepEqual(rows(result.fileTable).map(({ seconds, ...r }) => r), [{ file: FILE, status: 'COMPLETED', totalRecords: ROWS, recordsSent: ROWS, duplicates: 0, replayed: 0, batches: 3 }]);
  assert.equal(result.fileTable.schema.fields.find((f) => f.name === 'totalRecords')?.type.toString(), 'Int64');
  const batches = rows(result.batchTable);
  assert.deepEqual(batches.map((b) => [b.batch, b.firstPosition, b.endPosition, b.records]), [[0, 0, 5_000, 5_000], [1, 5_000, 10_000, 5_000], [2, 10_000, 12_000, 2_000]]);

  const status = rows(await sync.statusTable(checkpoint));
  assert.equal(status.length, 1);
  assert.deepEqual({ file: status[0].file, status: status[0].status, processed: status[0].recordsProcessed, total: status[0].totalRecords, partitions: status[0].partitions }, { file: FILE, status: 'COMPLETED', processed: ROWS, total: ROWS, partitions: 3 });
  const [state] = await sync.status(checkpoint);
  assert.deepEqual({ topic: state.topic, file: state.file, status: state.status, recordsProcessed: state.recordsProcessed, sourceCheck: state.sourceCheck }, { topic, file: FILE, status: 'COMPLETED', recordsProcessed: ROWS, sourceCheck: 'unchanged' });

  // The preview's keys are the keys in the topic: the hash of the fields, the file and the position.
  const preview = await sync.preview({ source: path.join(dir, FILE), rows: 4 });
  const shown = rows(preview);
  assert.deepEqual(preview.schema.fields.map((f) => f.name), ['position', 'key', 'id', 'customer', 'amount', 'quantity', 'ts']);
  assert.deepEqual(shown.map((r) => r.position), [0, 1, 2, 3]);
  assert.deepEqual(shown.map((r) => r.key), expectedSampleKeys(4, FILE));
  assert.deepEqual(Object.values(shown[2]).slice(2), sampleFields(2));

  const verify = await sync.verify({ topic, bootstrapServer: broker.bootstrap, checkpoint });
  assert.equal(verify.ok, true);
  assert.deepEqual(verify.files.map((f) => [f.missing, f.duplicated, f.foreign, f.messages]), [[0, 0, 0, ROWS]]);
});

test('a bad input rejects with a SparkSyncError carrying the CLI\'s exit code', async () => {
  await assert.rejects(sync.submit({ source: path.join(dir, 'missing.parquet'), topic: 't', bootstrapServer: broker.bootstrap }), (err: Error & { exitCode?: number; code?: string }) => {
    assert.equal(err.name, 'SparkSyncError');
    assert.equal(err.exitCode, 2);
    assert.equal(err.code, 'SOURCE_UNREADABLE');
    return true;
  });
  // The CLI's schema checks it: the same message as `preview --rows 0`.
  await assert.rejects(sync.preview({ source: path.join(dir, FILE), rows: 0 }), (err: Error & { exitCode?: number }) => /--rows must be at least 1/.test(err.message) && err.exitCode === 2);
});

test('every long operation takes { signal }: aborted, it stops its Spark job and rejects with an AbortError (INTERRUPTED, exit 3); a submit stopped mid-file resumes exactly', async () => {
  const topic = uniqueTopic('lib-abort');
  const checkpoint = path.join(dir, 'abort.db');
  const input = { source: path.join(dir, FILE), topic, bootstrapServer: broker.bootstrap, checkpoint, batchSize: 2_000, createTopic: true, partitions: 3 };
  const controller = new AbortController();
  const stopAfterFirst = () => controller.abort();
  sync.once('batch-committed', stopAfterFirst);
  await assert.rejects(sync.submit(input, { signal: controller.signal }), (err: Error & { code?: string; exitCode?: number }) => {
    assert.equal(err.name, 'AbortError');
    assert.equal(err.code, 'INTERRUPTED');
    assert.equal(err.exitCode, 3);
    return true;
  });
  const resumed = await sync.submit(input);
  assert.ok(resumed.recordsSent < ROWS, `the rerun continued (${resumed.recordsSent} sent)`);
  await assertExactTopic(broker.bootstrap, topic, new Set(expectedSampleKeys(ROWS, FILE)));

  const already = AbortSignal.abort();
  for (const run of [() => sync.verify({ topic, bootstrapServer: broker.bootstrap, checkpoint }, { signal: already }), () => sync.preview({ source: path.join(dir, FILE) }, { signal: already }), () => sync.dryRun(input, { signal: already })]) {
    await assert.rejects(run(), (err: Error & { code?: string }) => err.name === 'AbortError' && err.code === 'INTERRUPTED');
  }
  // Stopped while Spark works: the verify's job is cancelled.
  const during = new AbortController();
  setTimeout(() => during.abort(), 300);
  await assert.rejects(sync.verify({ topic, bootstrapServer: broker.bootstrap, checkpoint }, { signal: during.signal }), (err: Error) => err.name === 'AbortError');
});

test('a second open() with other Spark settings in the same process is refused; the same settings are fine; await using closes it', async () => {
  await assert.rejects(SparkSync.open({ master: 'local[1]' }), (err: Error & { exitCode?: number }) => {
    assert.equal(err.exitCode, 2);
    assert.match(err.message, /already opened spark-sync with other Spark settings \(master local\[2\].*now asked for master local\[1\]/);
    return true;
  });
  const same = await SparkSync.open({ master: 'local[2]' });
  // A Spark setting given to submit (as plain JavaScript can) is refused, not ignored in silence.
  const misplaced = { source: '/nonexistent.parquet', topic: 't', bootstrapServer: '127.0.0.1:1', master: 'local[1]' } as unknown as SubmitInput;
  await assert.rejects(same.submit(misplaced), (err: Error & { exitCode?: number }) => {
    assert.equal(err.exitCode, 2);
    assert.match(err.message, /submit does not take master: the Spark session is set up by SparkSync\.open/);
    return true;
  });
  assert.equal(typeof same[Symbol.asyncDispose], 'function');
  await same[Symbol.asyncDispose]();
});
