import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { hashKey } from '../../src/index';
import { freePort } from '../../src/dev/dev-broker';
import { isAlive, sleep } from '../../src/util/processes';
import { uniqueTopic } from '../helpers/broker-fixture';
import { CliResult } from '../helpers/cli';
import { MiniHdfs, startMiniHdfs } from '../helpers/hdfs-fixture';
import { sampleFields, expectedSampleKeys } from '../helpers/sample-rows';
import { SPARK_DIST, SparkStandalone, startSparkStandalone } from '../helpers/spark-cluster-fixture';
import { useSyncFixture } from '../helpers/sync-fixture';
import { readTopic, waitForMessages } from '../helpers/topic-reader';
import { ExecutorKill, killBusyExecutor } from '../helpers/executor-kill';

/**
 * spark-sync on a real Spark standalone cluster: a master and two 1-core workers in child JVMs
 * whose SPARK_HOME is Spark 3.5.7's own distribution. The driver stays in the CLI's process
 * (client mode); the executors get the job's classes only from what spark-sync ships. Failures
 * are caused for real: an executor JVM, a whole worker and the driver are SIGKILLed mid-batch.
 */
const ROWS = 30_000;
/** The failure tests: three batches, each long enough to be caught while it is being written. */
const BIG_ROWS = 600_000;
const BIG_BATCH = 200_000;

const t = useSyncFixture({ partitions: 3, env: { SPARK_LOCAL_IP: '127.0.0.1' }, timeoutMs: 240_000 });
let cluster: SparkStandalone;
let hdfs: MiniHdfs | undefined;
let sample: string;
let big: string;

before(async () => {
  cluster = await startSparkStandalone(2);
  sample = await t.sample('sample.parquet', ROWS, 262144);
  big = await t.sample('big.parquet', BIG_ROWS, 262144);
});

after(async () => {
  await hdfs?.stop();
  await cluster?.stop();
});

function clusterArgs(extraConf: string[] = []): string[] {
  return ['--master', cluster.masterUrl, ...[...cluster.conf, ...extraConf].flatMap((c) => ['--conf', c])];
}

async function assertVerified(topic: string, extraConf: string[] = []): Promise<void> {
  const v = await t.verify(topic, clusterArgs(extraConf));
  assert.equal(v.code, 0, v.stderr.slice(-2000));
  assert.equal(v.summary.ok, true);
}

function session(run: CliResult): Record<string, unknown> {
  const s = run.logs.find((l) => String(l.msg).startsWith('spark session started'));
  assert.ok(s, `no session log: ${run.stderr.slice(-1500)}`);
  return s!;
}

test('a Parquet directory given as a file:// URI syncs exactly on the cluster, with no jar flag', async () => {
  const root = path.join(t.dir, 'events');
  const ids = ['dt=2024-01-01/part-00000.parquet', 'dt=2024-01-02/part-00000.parquet'];
  for (const id of ids) {
    fs.mkdirSync(path.dirname(path.join(root, id)), { recursive: true });
    fs.copyFileSync(sample, path.join(root, id));
  }
  const topic = uniqueTopic('standalone-dir');
  const run = await t.submit(`file://${root}`, topic, ['--batch-size', '10000', ...clusterArgs()]);
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  assert.equal(session(run).master, cluster.masterUrl);
  assert.equal(run.summary.recordsSent, 2 * ROWS);
  await t.assertExact(topic, new Set(ids.flatMap((id) => expectedSampleKeys(ROWS, id))));
  await assertVerified(topic);
});

test('an HDFS directory syncs exactly on the cluster', async () => {
  hdfs = await startMiniHdfs(1);
  const ids = ['part-00000.parquet', 'part-00001.parquet'];
  for (const id of ids) await hdfs.put(sample, `/cluster/events/${id}`, 1);
  const topic = uniqueTopic('standalone-hdfs');
  const run = await t.submit(`${hdfs.uri}/cluster/events`, topic, ['--batch-size', '10000', ...clusterArgs()]);
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  assert.equal(run.summary.recordsSent, 2 * ROWS);
  await t.assertExact(topic, new Set(ids.flatMap((id) => expectedSampleKeys(ROWS, id))));
  await hdfs.stop();
  hdfs = undefined;
});

test('a CSV file syncs exactly through fixed driver and block manager ports (--conf, as behind NAT)', async () => {
  const fields = Array.from({ length: ROWS }, (_, i) => sampleFields(i));
  const csv = path.join(t.dir, 'events.csv');
  fs.writeFileSync(csv, fields.map((f) => f.map((v) => v ?? '').join(',')).join('\n') + '\n');
  const [driverPort, blockManagerPort] = [await freePort(), await freePort()];
  const topic = uniqueTopic('standalone-csv');
  const run = await t.submit(csv, topic, ['--batch-size', '10000', ...clusterArgs([`spark.driver.port=${driverPort}`, `spark.blockManager.port=${blockManagerPort}`])]);
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  const s = session(run);
  assert.deepEqual([s.driver_host, s.driver_bind_address, s.driver_port, s.block_manager_port], ['127.0.0.1', '127.0.0.1', String(driverPort), String(blockManagerPort)]);
  await t.assertExact(topic, new Set(fields.map((f, i) => hashKey(f, 'events.csv', i))));
});

test("with SPARK_HOME set, the driver runs on that Spark's jars plus the job's, and the sync is exact", async () => {
  const topic = uniqueTopic('standalone-spark-home');
  const run = await t.submit(sample, topic, ['--batch-size', '10000', ...clusterArgs()], { env: { SPARK_HOME: SPARK_DIST } });
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  assert.equal(session(run).spark_home, SPARK_DIST);
  assert.equal(session(run).spark_version, '3.5.7');
  await t.assertExact(topic, new Set(expectedSampleKeys(ROWS, 'sample.parquet')));
});

test('executors without the job\'s jars: one line about the classpath, exit 2, nothing written', async () => {
  const topic = uniqueTopic('standalone-nojars');
  const run = await t.submit(sample, topic, clusterArgs(), { env: { SPARK_SYNC_TEST_SHIP_NO_JARS: '1' } });
  assert.equal(run.code, 2, run.stderr.slice(-2000));
  const errors = run.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
  assert.equal(errors.length, 1, run.stderr);
  assert.match(errors[0], /\[CLASSPATH_INCOMPLETE\]: .*could not load .*the job's jars did not reach it/);
  assert.doesNotMatch(errors[0], /cannot read/);
  assert.deepEqual(await readTopic(t.broker.bootstrap, topic).catch(() => []), [], 'nothing was written');
});

test('SIGKILL an executor that is writing, mid-batch: Spark retries its task elsewhere and the topic is exact', async () => {
  const topic = uniqueTopic('standalone-executor-kill');
  let kill: Promise<ExecutorKill | undefined> = Promise.resolve(undefined);
  const uiPort = await freePort();
  const run = await t.submit(big, topic, ['--batch-size', String(BIG_BATCH), ...clusterArgs(['spark.ui.enabled=true', `spark.ui.port=${uiPort}`])], {
    onLog: {
      msg: 'batch committed',
      run: () => (kill = killBusyExecutor({ bootstrap: t.broker.bootstrap, topic, batchSize: BIG_BATCH, uiPort, executors: (appId) => cluster.executors().filter((e) => e.appId === appId) })),
    },
  });
  const killed = await kill;
  assert.ok(killed, `an executor with a running task was found and killed: ${run.stderr.slice(-1500)}`);
  assert.equal(isAlive(killed!.pid), false);
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  // The batch being written when the executor died: the first committed after the kill.
  // The batch being written when the executor died: the first committed after the kill, the one
  // the topic's offsets were inside of. Spark saw the executor lost and ran its task again.
  const cut = run.logs.find((l) => l.msg === 'batch committed' && Date.parse(String(l.time)) > killed!.at);
  assert.equal(cut?.batch, Math.floor(killed!.messages / BIG_BATCH), `the kill fell inside the batch committed next (${killed!.intoBatch} of its ${BIG_BATCH} records were in Kafka): ${JSON.stringify(cut)}`);
  assert.match(run.stderr, new RegExp(`Lost executor ${killed!.executorId} `), 'the driver saw the executor lost');
  await t.assertExact(topic, new Set(expectedSampleKeys(BIG_ROWS, 'big.parquet')));
  await assertVerified(topic);
});

test('SIGKILL the driver mid-batch, then rerun: exact, and no executor of the dead driver keeps writing', async () => {
  const topic = uniqueTopic('standalone-driver-kill');
  let killedAt = 0;
  let kill: () => void = () => undefined;
  const crashed = await t.submit(big, topic, ['--batch-size', String(BIG_BATCH), ...clusterArgs()], {
    onStart: (k) => (kill = k),
    onLog: {
      msg: 'batch committed',
      run: () => {
        void waitForMessages(t.broker.bootstrap, topic, BIG_BATCH + 5_000).then(() => {
          killedAt = Date.now();
          kill();
        });
      },
    },
  });
  assert.ok(killedAt > 0 && crashed.signal === 'SIGKILL' && !crashed.timedOut, `the driver was killed mid-batch by the test: ${crashed.stderr.slice(-1000)}`);
  const appId = String(session(crashed).app_id);
  for (let i = 0; i < 120 && cluster.executors().some((e) => e.appId === appId); i++) await sleep(250);
  assert.deepEqual(cluster.executors().filter((e) => e.appId === appId), [], 'the cluster stopped the dead driver\'s executors');
  const rerun = await t.submit(big, topic, ['--batch-size', String(BIG_BATCH), ...clusterArgs()]);
  assert.equal(rerun.code, 0, rerun.stderr.slice(-2000));
  const rec = rerun.logs.find((l) => l.msg === 'recovered a batch cut off by a crash');
  assert.ok(rec && Number(rec.found_in_kafka) > 0, `the rerun recovered a batch the crash cut off: ${JSON.stringify(rec)}`);
  await t.assertExact(topic, new Set(expectedSampleKeys(BIG_ROWS, 'big.parquet')));
});

test('SIGKILL a whole worker mid-file: the other worker finishes and the topic is exact', async () => {
  const topic = uniqueTopic('standalone-worker-kill');
  let workerKilledAt = 0;
  const run = await t.submit(big, topic, ['--batch-size', String(BIG_BATCH), ...clusterArgs()], {
    onLog: {
      msg: 'batch committed',
      run: () => {
        void waitForMessages(t.broker.bootstrap, topic, BIG_BATCH + 5_000).then(async () => {
          await cluster.killWorker(0);
          workerKilledAt = Date.now();
        });
      },
    },
  });
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  const completed = run.logs.find((l) => l.msg === 'file completed');
  assert.ok(workerKilledAt > 0 && workerKilledAt < Date.parse(String(completed?.time)), 'the worker was killed before the file completed');
  await t.assertExact(topic, new Set(expectedSampleKeys(BIG_ROWS, 'big.parquet')));
  await assertVerified(topic);
});
