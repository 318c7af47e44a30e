import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { uniqueTopic } from '../helpers/broker-fixture';
import { MiniHdfs, startMiniHdfs } from '../helpers/hdfs-fixture';
import { expectedSampleKeys } from '../helpers/sample-rows';
import { assertKilledOnPurpose } from '../helpers/cli';
import { useSyncFixture } from '../helpers/sync-fixture';
import { readTopic } from '../helpers/topic-reader';

/**
 * `hdfs://` sources against a real HDFS: Hadoop's MiniDFSCluster with two datanodes, in a child
 * JVM. Files are written with replication 2 in 256 KiB blocks, so each spans several blocks and
 * each datanode holds a copy of every block.
 */
const ROWS = 20_000;
const BATCH = 5_000;

const t = useSyncFixture({ partitions: 3, batchSize: BATCH });
let hdfs: MiniHdfs;
let localSample: string;

before(async () => {
  hdfs = await startMiniHdfs(2);
  // Small row groups: the file has several, in several HDFS blocks.
  localSample = await t.sample('sample.parquet', ROWS, 65536);
});

after(async () => {
  await hdfs?.stop();
});

test('an HDFS directory syncs exactly, each file known by its path relative to the directory', async () => {
  const ids = ['dt=2024-01-01/part-00000.parquet', 'dt=2024-01-02/part-00000.parquet'];
  for (const id of ids) await hdfs.put(localSample, `/warehouse/events/${id}`, 2);
  await hdfs.put(localSample, '/warehouse/events/_temporary/0/part-00000.parquet', 2);
  const topic = uniqueTopic('hdfs-dir');
  const run = await t.submit(`${hdfs.uri}/warehouse/events`, topic);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.summary.recordsSent, 2 * ROWS);
  await t.assertExact(topic, new Set(ids.flatMap((id) => expectedSampleKeys(ROWS, id))));
});

test('SIGKILL mid-file on HDFS, then rerun: every row exactly once', async () => {
  await hdfs.put(localSample, '/crash/events.parquet', 2);
  const topic = uniqueTopic('hdfs-crash');
  const source = `${hdfs.uri}/crash/events.parquet`;
  const crashed = await t.submit(source, topic, [], { env: { SPARK_SYNC_TEST_CRASH_AT: 'mid-batch@1' } });
  assertKilledOnPurpose(crashed, 'the crashed run');
  const rerun = await t.submit(source, topic);
  assert.equal(rerun.code, 0, rerun.stderr);
  const rec = rerun.logs.find((l) => l.msg === 'recovered a batch cut off by a crash');
  assert.ok(rec && Number(rec.found_in_kafka) > 0, JSON.stringify(rec));
  await t.assertExact(topic, new Set(expectedSampleKeys(ROWS, 'events.parquet')));
});

test('a datanode stopped mid-sync: the reads fail over to the other replica and the sync is exact', async () => {
  await hdfs.put(localSample, '/failover/events.parquet', 2);
  const topic = uniqueTopic('hdfs-failover');
  let stopped: Promise<void> | undefined;
  let stoppedAt = Infinity;
  // The file is described (footer read) and its first batch marked pending; the pause comes
  // before the batch's plan reads the data, and the datanode stops during it.
  const run = await t.submit(`${hdfs.uri}/failover/events.parquet`, topic, [], {
    env: { SPARK_SYNC_TEST_PAUSE_BEFORE_BATCH: '0:6000' },
    onLog: {
      msg: 'test pause',
      run: () => {
        stopped = hdfs.stopDatanode(0).then(() => {
          stoppedAt = Date.now();
        });
      },
    },
  });
  assert.ok(stopped, 'the sync paused before its first batch');
  await stopped;
  const pause = run.logs.find((l) => l.msg === 'test pause')!;
  assert.ok(stoppedAt < Date.parse(String(pause.time)) + Number(pause.ms), 'the datanode was down before the pause ended and the file was read');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.summary.recordsSent, ROWS);
  await t.assertExact(topic, new Set(expectedSampleKeys(ROWS, 'events.parquet')));
});

test('issue 24: --index-location on HDFS: a natural-key run on a second machine (its own empty home) finds the identity index there, so a replay sends nothing, without rebuilding it', async () => {
  const topic = uniqueTopic('hdfs-index');
  const csv = path.join(t.dir, 'index-events.csv');
  fs.writeFileSync(csv, ['user,event', ...Array.from({ length: 3_000 }, (_, i) => `u${i},e${i % 7}`)].join('\n') + '\n');
  await hdfs.put(csv, '/landing/day-1/events.csv', 2);
  await hdfs.put(csv, '/landing/day-2/events-again.csv', 2);
  const index = `${hdfs.uri}/spark-sync/index`;
  const args = ['--csv-header', '--key-fields', 'user,event', '--index-location', index];
  const homeA = path.join(t.dir, 'index-home-a');
  const homeB = path.join(t.dir, 'index-home-b');
  const first = await t.submit(`${hdfs.uri}/landing/day-1`, topic, args, { checkpoint: path.join(homeA, 'checkpoint.db'), env: { SPARK_SYNC_HOME: homeA } });
  assert.equal(first.code, 0, first.stderr.slice(-1500));
  assert.equal(first.summary.recordsSent, 3_000);
  assert.ok(!fs.existsSync(path.join(homeA, 'identity-index')), 'the index is not beside the local checkpoint: it lives on HDFS');
  const second = await t.submit(`${hdfs.uri}/landing/day-2`, topic, args, { checkpoint: path.join(homeB, 'checkpoint.db'), env: { SPARK_SYNC_HOME: homeB }, partitions: null });
  assert.equal(second.code, 0, second.stderr.slice(-1500));
  assert.deepEqual({ sent: second.summary.recordsSent, replayed: second.summary.replayed }, { sent: 0, replayed: 3_000 });
  assert.ok(!second.logs.some((l) => String(l.msg).startsWith('the identity index lacked a committed batch')), 'nothing to rebuild: the index was where the checkpoint said');
  const messages = await readTopic(t.broker.bootstrap, topic);
  assert.equal(messages.length, 3_000);
});

test('issue 24: a natural-key run on a new machine without the index rebuilds it from Kafka for the committed batches the checkpoint topic names, and logs what it read and how long it took', async () => {
  const topic = uniqueTopic('hdfs-index-rebuild');
  const csv = path.join(t.dir, 'rebuild-events.csv');
  fs.writeFileSync(csv, ['user,event', ...Array.from({ length: 2_000 }, (_, i) => `r${i},e${i % 5}`)].join('\n') + '\n');
  const args = ['--csv-header', '--key-fields', 'user,event'];
  const homeA = path.join(t.dir, 'rebuild-home-a');
  const homeB = path.join(t.dir, 'rebuild-home-b');
  const first = await t.submit(csv, topic, args, { checkpoint: path.join(homeA, 'checkpoint.db'), env: { SPARK_SYNC_HOME: homeA } });
  assert.equal(first.code, 0, first.stderr.slice(-1500));
  const replay = path.join(t.dir, 'rebuild-again', 'events-again.csv');
  fs.mkdirSync(path.dirname(replay), { recursive: true });
  fs.copyFileSync(csv, replay);
  const second = await t.submit(replay, topic, args, { checkpoint: path.join(homeB, 'checkpoint.db'), env: { SPARK_SYNC_HOME: homeB }, partitions: null });
  assert.equal(second.code, 0, second.stderr.slice(-1500));
  assert.deepEqual({ sent: second.summary.recordsSent, replayed: second.summary.replayed }, { sent: 0, replayed: 2_000 });
  const rebuilt = second.logs.filter((l) => String(l.msg).startsWith('the identity index lacked a committed batch'));
  assert.ok(rebuilt.length > 0, 'machine B rebuilt the index from Kafka');
  assert.equal(rebuilt.reduce((n, l) => n + Number(l.identities), 0), 2_000, 'it read the committed batches\' 2,000 identities');
  assert.ok(rebuilt.every((l) => typeof l.seconds === 'number'), 'and says how long it took');
});
