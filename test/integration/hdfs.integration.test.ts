import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { uniqueTopic } from '../helpers/broker-fixture';
import { MiniHdfs, startMiniHdfs } from '../helpers/hdfs-fixture';
import { expectedSampleKeys } from '../helpers/sample-rows';
import { assertKilledOnPurpose } from '../helpers/cli';
import { useSyncFixture } from '../helpers/sync-fixture';

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
