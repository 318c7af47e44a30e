import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../../src/dev/dev-broker';
import { isAlive } from '../../src/util/processes';
import { uniqueTopic } from '../helpers/broker-fixture';
import { MiniHadoop, startMiniHadoop } from '../helpers/hdfs-fixture';
import { processesUnder } from '../helpers/process-leaks';
import { expectedSampleKeys } from '../helpers/sample-rows';
import { useSyncFixture } from '../helpers/sync-fixture';
import { ExecutorKill, killBusyExecutor } from '../helpers/executor-kill';

/**
 * spark-sync on YARN in client mode: the driver in the CLI's process, the application master
 * and executors in containers of a real MiniYARNCluster (Hadoop 3.3.4, the line Spark 3.5 ships)
 * that also runs the HDFS holding the source. Nothing but HADOOP_CONF_DIR tells the driver about
 * the cluster; no Spark is installed for the containers: spark-sync stages its own jars.
 */
const ROWS = 600_000;
const BATCH = 200_000;

const t = useSyncFixture({ partitions: 3, batchSize: BATCH });
let hadoop: MiniHadoop;

before(async () => {
  hadoop = await startMiniHadoop({ datanodes: 1, nodeManagers: 1 });
  // Written before HADOOP_CONF_DIR joins the environment: with it, the path would name a file in HDFS.
  const local = await t.sample('events.parquet', ROWS, 262144);
  await hadoop.put(local, '/data/events.parquet', 1);
  Object.assign(t.env, { SPARK_LOCAL_IP: '127.0.0.1', HADOOP_CONF_DIR: hadoop.confDir });
});

after(async () => {
  await hadoop?.stop();
});

/** The application master and executors bind loopback too: the hostname resolves elsewhere. */
const YARN_CONF = ['spark.driver.host=127.0.0.1', 'spark.driver.bindAddress=127.0.0.1', 'spark.yarn.appMasterEnv.SPARK_LOCAL_IP=127.0.0.1', 'spark.executorEnv.SPARK_LOCAL_IP=127.0.0.1', 'spark.executor.instances=2', 'spark.executor.cores=1', 'spark.executor.memory=512m', 'spark.yarn.am.memory=256m'];

function yarnArgs(extra: string[] = []): string[] {
  return ['--master', 'yarn', ...[...YARN_CONF, ...extra].flatMap((c) => ['--conf', c])];
}

/** The container logs of every application, for a failure message. */
function containerLogs(): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'stderr') out.push(`${p}:\n${fs.readFileSync(p, 'utf8').slice(-1500)}`);
    }
  };
  hadoop.logDirs.forEach(walk);
  return out.join('\n').slice(-6000);
}

function executorContainers(): Array<{ pid: number; executorId: string }> {
  return processesUnder(path.dirname(hadoop.confDir)).flatMap((pid) => {
    let args: string[] = [];
    try {
      args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      return [];
    }
    if (!args.includes('org.apache.spark.executor.YarnCoarseGrainedExecutorBackend')) return [];
    return [{ pid, executorId: args[args.indexOf('--executor-id') + 1] }];
  });
}

test('--master yarn: an HDFS file syncs exactly, and an executor container SIGKILLed mid-batch changes nothing', async () => {
  const topic = uniqueTopic('yarn');
  const uiPort = await freePort();
  let kill: Promise<ExecutorKill | undefined> = Promise.resolve(undefined);
  const run = await t.submit(`${hadoop.uri}/data/events.parquet`, topic, yarnArgs(['spark.ui.enabled=true', `spark.ui.port=${uiPort}`]), {
    timeoutMs: 480_000,
    onLog: {
      msg: 'batch committed',
      run: () => (kill = killBusyExecutor({ bootstrap: t.broker.bootstrap, topic, batchSize: BATCH, uiPort, executors: executorContainers })),
    },
  });
  const killed = await kill;
  assert.equal(run.code, 0, `${run.stderr.slice(-3000)}\n${containerLogs()}`);
  const session = run.logs.find((l) => String(l.msg).startsWith('spark session started'))!;
  assert.equal(session.master, 'yarn');
  assert.match(String(session.app_id), /^application_\d+_\d+$/, 'a YARN application ran the job');
  assert.ok(killed, `an executor container with a running task was killed: ${run.stderr.slice(-1500)}`);
  assert.equal(isAlive(killed!.pid), false);
  // The batch being written when the executor died: the first committed after the kill, the one
  // the topic's offsets were inside of. Spark saw the executor lost and ran its task again.
  const cut = run.logs.find((l) => l.msg === 'batch committed' && Date.parse(String(l.time)) > killed!.at);
  assert.equal(cut?.batch, Math.floor(killed!.messages / BATCH), `the kill fell inside the batch committed next (${killed!.intoBatch} of its ${BATCH} records were in Kafka): ${JSON.stringify(cut)}`);
  assert.match(run.stderr, new RegExp(`Lost executor ${killed!.executorId} `), 'the driver saw the executor lost');
  await t.assertExact(topic, new Set(expectedSampleKeys(ROWS, 'events.parquet')));
  // Spark's jars reached the containers as spark-sync's cached archive, built once.
  const cache = fs.readdirSync(path.join(t.env.SPARK_SYNC_HOME, 'cache'));
  assert.deepEqual(cache.filter((f) => /^spark-3\.5\.7-libs-[0-9a-f]{16}\.zip$/.test(f)).length, 1, cache.join(', '));

  const verify = await t.verify(topic, yarnArgs(), { timeoutMs: 300_000 });
  assert.equal(verify.code, 0, `${verify.stderr.slice(-2000)}\n${containerLogs()}`);
  assert.equal(verify.summary.ok, true);
});
