import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SparkSync, SyncEvent, Table } from '../../src/index';
import { startBroker, tempDir, uniqueTopic } from '../helpers/broker-fixture';
import { expectedSampleKeys, sampleFields } from '../helpers/sample-rows';
import { assertExactTopic } from '../helpers/topic-reader';

// The library as a notebook or a service uses it: Spark in this process's JVM, a real broker,
// typed events, and every result table read from Arrow IPC the JVM wrote.
const ROWS = 12_000;
const BATCH = 5_000;
const FILE = 'orders.parquet';

let broker: Awaited<ReturnType<typeof startBroker>>;
let dir: string;
let sync: SparkSync;

/** A table's rows as plain objects, 64-bit integers as numbers (they are small here). */
function rows(table: Table): Array<Record<string, unknown>> {
  return table.toArray().map((r: { toJSON(): Record<string, unknown> }) =>
    Object.fromEntries(Object.entries(r.toJSON()).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
  );
}

before(async () => {
  broker = await startBroker();
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

  assert.deepEqual(rows(result.fileTable).map(({ seconds, ...r }) => r), [{ file: FILE, status: 'COMPLETED', total_records: ROWS, records_sent: ROWS, duplicates: 0, replayed: 0, batches: 3 }]);
  assert.equal(result.fileTable.schema.fields.find((f) => f.name === 'total_records')?.type.toString(), 'Int64');
  const batches = rows(result.batchTable);
  assert.deepEqual(batches.map((b) => [b.batch, b.first_position, b.end_position, b.records]), [[0, 0, 5_000, 5_000], [1, 5_000, 10_000, 5_000], [2, 10_000, 12_000, 2_000]]);

  const status = rows(await sync.statusTable(checkpoint));
  assert.equal(status.length, 1);
  assert.deepEqual({ file: status[0].file, status: status[0].status, processed: status[0].records_processed, total: status[0].total_records, partitions: status[0].partitions }, { file: FILE, status: 'COMPLETED', processed: ROWS, total: ROWS, partitions: 3 });

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
