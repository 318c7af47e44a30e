import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { hashKey } from '../../src/index';
import { freePort } from '../../src/kafka/dev-broker';
import { isAlive, sleep } from '../../src/util/processes';
import { startBroker, tempDir, uniqueTopic } from '../helpers/broker-fixture';
import { CliResult, runCli } from '../helpers/cli';
import { MiniHdfs, startMiniHdfs } from '../helpers/hdfs-fixture';
import { sampleFields, expectedSampleKeys } from '../helpers/sample-rows';
import { SPARK_DIST, SparkStandalone, startSparkStandalone } from '../helpers/spark-cluster-fixture';
import { assertExactTopic, readTopic, waitForMessages } from '../helpers/topic-reader';

/**
 * spark-sync on a real Spark standalone cluster: a master and two 1-core workers in child JVMs
 * whose SPARK_HOME is Spark 3.5.7's own distribution. The driver stays in the CLI's process
 * (client mode); the executors get the job's classes only from what spark-sync ships. Failures
 * are caused for real: an executor JVM, a whole worker and the driver are SIGKILLed mid-batch.
 */
const ROWS = 30_000;
const PARTITIONS = 3;
/** The failure tests: three batches, each long enough to be caught while it is being written. */
const BIG_ROWS = 600_000;
const BIG_BATCH = 200_000;

let broker: Awaited<ReturnType<typeof startBroker>>;
let cluster: SparkStandalone;
let hdfs: MiniHdfs | undefined;
let dir: string;
let env: Record<string, string>;
let sample: string;
let big: string;

before(async () => {
  broker = await startBroker();
  cluster = await startSparkStandalone(2);
  dir = tempDir();
  env = { SPARK_SYNC_HOME: path.join(dir, 'home'), SPARK_LOCAL_IP: '127.0.0.1' };
  sample = path.join(dir, 'sample.parquet');
  big = path.join(dir, 'big.parquet');
  for (const [file, rows] of [[sample, ROWS], [big, BIG_ROWS]] as const) {
    const r = await runCli(['sample', '--rows', String(rows), '--output', file, '--row-group-bytes', '262144'], env);
    assert.equal(r.code, 0, r.stderr);
  }
});

after(async () => {
  await hdfs?.stop();
  await cluster?.stop();
  await broker.stop();
});

function clusterArgs(extraConf: string[] = []): string[] {
  return ['--master', cluster.masterUrl, ...[...cluster.conf, ...extraConf].flatMap((c) => ['--conf', c])];
}

function submit(source: string, topic: string, args: string[] = [], options: Parameters<typeof runCli>[2] = {}, extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return runCli(
    ['submit', '--source', source, '--topic', topic, '--bootstrap-server', broker.bootstrap, '--checkpoint', path.join(dir, `${topic}.db`), '--create-topic', '--partitions', String(PARTITIONS), ...args],
    { ...env, ...extraEnv },
    { timeoutMs: 240_000, ...options },
  );
}

async function assertVerified(topic: string, extraConf: string[] = []): Promise<void> {
  const v = await runCli(['verify', '--topic', topic, '--bootstrap-server', broker.bootstrap, '--checkpoint', path.join(dir, `${topic}.db`), '--json', ...clusterArgs(extraConf)], env, { timeoutMs: 240_000 });
  assert.equal(v.code, 0, v.stderr.slice(-2000));
  assert.equal(v.summary.ok, true);
}

function session(run: CliResult): Record<string, unknown> {
  const s = run.logs.find((l) => String(l.msg).startsWith('spark session started'));
  assert.ok(s, `no session log: ${run.stderr.slice(-1500)}`);
  return s!;
}

test('a Parquet directory given as a file:// URI syncs exactly on the cluster, with no jar flag', async () => {
  const root = path.join(dir, 'events');
  const ids = ['dt=2024-01-01/part-00000.parquet', 'dt=2024-01-02/part-00000.parquet'];
  for (const id of ids) {
    fs.mkdirSync(path.dirname(path.join(root, id)), { recursive: true });
    fs.copyFileSync(sample, path.join(root, id));
  }
  const topic = uniqueTopic('standalone-dir');
  const run = await submit(`file://${root}`, topic, ['--batch-size', '10000', ...clusterArgs()]);
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  assert.equal(session(run).master, cluster.masterUrl);
  assert.equal(run.summary.recordsSent, 2 * ROWS);
  await assertExactTopic(broker.bootstrap, topic, new Set(ids.flatMap((id) => expectedSampleKeys(ROWS, id))));
  await assertVerified(topic);
});

test('an HDFS directory syncs exactly on the cluster', async () => {
  hdfs = await startMiniHdfs(1);
  const ids = ['part-00000.parquet', 'part-00001.parquet'];
  for (const id of ids) await hdfs.put(sample, `/cluster/events/${id}`, 1);
  const topic = uniqueTopic('standalone-hdfs');
  const run = await submit(`${hdfs.uri}/cluster/events`, topic, ['--batch-size', '10000', ...clusterArgs()]);
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  assert.equal(run.summary.recordsSent, 2 * ROWS);
  await assertExactTopic(broker.bootstrap, topic, new Set(ids.flatMap((id) => expectedSampleKeys(ROWS, id))));
  await hdfs.stop();
  hdfs = undefined;
});

test('a CSV file syncs exactly through fixed driver and block manager ports (--conf, as behind NAT)', async () => {
  const fields = Array.from({ length: ROWS }, (_, i) => sampleFields(i));
  const csv = path.join(dir, 'events.csv');
  fs.writeFileSync(csv, fields.map((f) => f.map((v) => v ?? '').join(',')).join('\n') + '\n');
  const [driverPort, blockManagerPort] = [await freePort(), await freePort()];
  const topic = uniqueTopic('standalone-csv');
  const run = await submit(csv, topic, ['--batch-size', '10000', ...clusterArgs([`spark.driver.port=${driverPort}`, `spark.blockManager.port=${blockManagerPort}`])]);
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  const s = session(run);
  assert.deepEqual([s.driver_host, s.driver_bind_address, s.driver_port, s.block_manager_port], ['127.0.0.1', '127.0.0.1', String(driverPort), String(blockManagerPort)]);
  await assertExactTopic(broker.bootstrap, topic, new Set(fields.map((f, i) => hashKey(f, 'events.csv', i))));
});

test("with SPARK_HOME set, the driver runs on that Spark's jars plus the job's, and the sync is exact", async () => {
  const topic = uniqueTopic('standalone-spark-home');
  const run = await submit(sample, topic, ['--batch-size', '10000', ...clusterArgs()], {}, { SPARK_HOME: SPARK_DIST });
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  assert.equal(session(run).spark_home, SPARK_DIST);
  assert.equal(session(run).spark_version, '3.5.7');
  await assertExactTopic(broker.bootstrap, topic, new Set(expectedSampleKeys(ROWS, 'sample.parquet')));
});

test('executors without the job\'s jars: one line about the classpath, exit 2, nothing written', async () => {
  const topic = uniqueTopic('standalone-nojars');
  const run = await submit(sample, topic, clusterArgs(), {}, { SPARK_SYNC_TEST_SHIP_NO_JARS: '1' });
  assert.equal(run.code, 2, run.stderr.slice(-2000));
  const errors = run.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
  assert.equal(errors.length, 1, run.stderr);
  assert.match(errors[0], /\[CLASSPATH_INCOMPLETE\]: .*could not load .*the job's jars did not reach it/);
  assert.doesNotMatch(errors[0], /cannot read/);
  assert.deepEqual(await readTopic(broker.bootstrap, topic).catch(() => []), [], 'nothing was written');
});

test('SIGKILL an executor that is writing, mid-batch: Spark retries its task elsewhere and the topic is exact', async () => {
  const topic = uniqueTopic('standalone-executor-kill');
  let killed: { pid: number; executorId: string; activeTasks: number; at: number } | undefined;
  let killError: Error | undefined;
  const uiPort = await freePort();
  const ui = async <T>(p: string) => (await (await fetch(`http://127.0.0.1:${uiPort}/api/v1/applications${p}`)).json()) as T;
  const run = await submit(big, topic, ['--batch-size', String(BIG_BATCH), ...clusterArgs(['spark.ui.enabled=true', `spark.ui.port=${uiPort}`])], {
    onLog: {
      msg: 'batch committed',
      run: () => {
        // Batch 1 is being written once the topic holds more than batch 0. The driver's REST API
        // names an executor with a running task; its JVM is found by its executor id.
        void waitForMessages(broker.bootstrap, topic, BIG_BATCH + 5_000).then(async () => {
          const [app] = await ui<Array<{ id: string }>>('');
          for (let i = 0; i < 100 && !killed; i++) {
            const executors = await ui<Array<{ id: string; activeTasks: number }>>(`/${app.id}/executors`);
            const target = executors.find((e) => e.id !== 'driver' && e.activeTasks > 0);
            const proc = cluster.executors().find((e) => e.appId === app.id && e.executorId === target?.id);
            if (target && proc) {
              process.kill(proc.pid, 'SIGKILL');
              killed = { pid: proc.pid, executorId: target.id, activeTasks: target.activeTasks, at: Date.now() };
            } else {
              await sleep(20);
            }
          }
        }).catch((err: Error) => (killError = err));
      },
    },
  });
  assert.ok(killed, `an executor with a running task was found and killed (${killError?.message}): ${run.stderr.slice(-1500)}`);
  assert.equal(isAlive(killed!.pid), false);
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  // The batch being written when the executor died: the first committed after the kill.
  const cut = run.logs.find((l) => l.msg === 'batch committed' && Date.parse(String(l.time)) > killed!.at);
  assert.ok(cut && Number(cut.skipped) > 0, `the retried task found what the killed attempt had written and skipped it: ${JSON.stringify(cut)}\n${run.stderr.slice(-3000)}`);
  await assertExactTopic(broker.bootstrap, topic, new Set(expectedSampleKeys(BIG_ROWS, 'big.parquet')));
  await assertVerified(topic);
});

test('SIGKILL the driver mid-batch, then rerun: exact, and no executor of the dead driver keeps writing', async () => {
  const topic = uniqueTopic('standalone-driver-kill');
  let killedAt = 0;
  let kill: () => void = () => undefined;
  const crashed = await submit(big, topic, ['--batch-size', String(BIG_BATCH), ...clusterArgs()], {
    onStart: (k) => (kill = k),
    onLog: {
      msg: 'batch committed',
      run: () => {
        void waitForMessages(broker.bootstrap, topic, BIG_BATCH + 5_000).then(() => {
          killedAt = Date.now();
          kill();
        });
      },
    },
  });
  assert.ok(killedAt > 0 && crashed.signal === 'SIGKILL', `the driver was killed mid-batch by the test: ${crashed.stderr.slice(-1000)}`);
  const appId = String(session(crashed).app_id);
  for (let i = 0; i < 120 && cluster.executors().some((e) => e.appId === appId); i++) await sleep(250);
  assert.deepEqual(cluster.executors().filter((e) => e.appId === appId), [], 'the cluster stopped the dead driver\'s executors');
  const rerun = await submit(big, topic, ['--batch-size', String(BIG_BATCH), ...clusterArgs()]);
  assert.equal(rerun.code, 0, rerun.stderr.slice(-2000));
  const rec = rerun.logs.find((l) => l.msg === 'recovered a batch cut off by a crash');
  assert.ok(rec && Number(rec.found_in_kafka) > 0, `the rerun recovered a batch the crash cut off: ${JSON.stringify(rec)}`);
  await assertExactTopic(broker.bootstrap, topic, new Set(expectedSampleKeys(BIG_ROWS, 'big.parquet')));
});

test('SIGKILL a whole worker mid-file: the other worker finishes and the topic is exact', async () => {
  const topic = uniqueTopic('standalone-worker-kill');
  let workerKilledAt = 0;
  const run = await submit(big, topic, ['--batch-size', String(BIG_BATCH), ...clusterArgs()], {
    onLog: {
      msg: 'batch committed',
      run: () => {
        void waitForMessages(broker.bootstrap, topic, BIG_BATCH + 5_000).then(async () => {
          await cluster.killWorker(0);
          workerKilledAt = Date.now();
        });
      },
    },
  });
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  const completed = run.logs.find((l) => l.msg === 'file completed');
  assert.ok(workerKilledAt > 0 && workerKilledAt < Date.parse(String(completed?.time)), 'the worker was killed before the file completed');
  await assertExactTopic(broker.bootstrap, topic, new Set(expectedSampleKeys(BIG_ROWS, 'big.parquet')));
  await assertVerified(topic);
});
