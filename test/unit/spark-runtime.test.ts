import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SPARK_JARS_DIR } from '../../src/config/paths';
import { SparkSyncError } from '../../src/errors/spark-sync-error';
import { SparkRuntime, clusterConf, isLocalMaster, resolveSparkRuntime, yarnArchive } from '../../src/spark/spark-runtime';
import { runCli } from '../helpers/cli';

function fakeSparkHome(coreJar: string): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-fake-spark-'));
  fs.mkdirSync(path.join(home, 'jars'));
  for (const jar of [coreJar, 'scala-library-2.12.18.jar']) fs.writeFileSync(path.join(home, 'jars', jar), '');
  return home;
}

function confMap(conf: string[]): Map<string, string> {
  return new Map(conf.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

test("without SPARK_HOME the driver runs on spark-sync's own Spark, and executors get what Spark's distribution lacks", () => {
  const rt = resolveSparkRuntime({});
  assert.equal(rt.sparkHome, undefined);
  assert.equal(rt.sparkVersion, '3.5.7');
  assert.equal(rt.scalaVersion, '2.12');
  const shipped = rt.shipJars.map((j) => path.basename(j));
  for (const needed of [/^spark-sync-jobs\.jar$/, /^kafka-clients-/, /^spark-sql-kafka-0-10_2\.12-/, /^spark-token-provider-kafka-0-10_2\.12-/, /^commons-pool2-/]) {
    assert.ok(shipped.some((j) => needed.test(j)), `${needed} travels to executors: ${shipped.join(', ')}`);
  }
  assert.ok(!shipped.some((j) => j.startsWith('spark-core_')), 'Spark itself does not travel');
  assert.ok(rt.sparkJars.some((j) => path.basename(j).startsWith('spark-yarn_2.12-')), 'the YARN client is on the driver classpath');
  assert.equal(rt.sparkJars.filter((j) => rt.shipJars.includes(j)).length, 0);
});

test('SPARK_HOME of another Spark line or Scala version is refused before any work, naming both versions', () => {
  for (const [jar, found] of [['spark-core_2.13-3.5.7.jar', 'Spark 3.5.7 with Scala 2.13'], ['spark-core_2.12-3.4.1.jar', 'Spark 3.4.1 with Scala 2.12']]) {
    const home = fakeSparkHome(jar);
    assert.throws(() => resolveSparkRuntime({ SPARK_HOME: home }), (err: SparkSyncError) => {
      assert.equal(err.exitCode, 2);
      assert.ok(err.message.includes(found), err.message);
      assert.ok(err.message.includes('built for Spark 3.5.x with Scala 2.12'), err.message);
      return true;
    });
  }
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-empty-home-'));
  assert.throws(() => resolveSparkRuntime({ SPARK_HOME: empty }), /has no jars\/ folder/);
  const ok = resolveSparkRuntime({ SPARK_HOME: fakeSparkHome('spark-core_2.12-3.5.2.jar') });
  assert.equal(ok.sparkVersion, '3.5.2');
  assert.ok(ok.shipJars.some((j) => j.endsWith('spark-sync-jobs.jar')), 'the job jar joins the installation\'s jars');
});

test('the CLI refuses a mismatched SPARK_HOME with exit 2 and one line, before touching Kafka', async () => {
  const home = fakeSparkHome('spark-core_2.13-3.5.7.jar');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-home-'));
  const source = path.join(dir, 'x.parquet');
  fs.writeFileSync(source, 'PAR1');
  // Port 9 (discard) is never a broker here: had it been contacted first, the error would be exit 3.
  const run = await runCli(['submit', '--source', source, '--topic', 't', '--bootstrap-server', '127.0.0.1:9', '--checkpoint', path.join(dir, 'cp.db')], { SPARK_HOME: home, SPARK_SYNC_HOME: dir });
  assert.equal(run.code, 2, run.stderr);
  const errors = run.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
  assert.equal(errors.length, 1, run.stderr);
  assert.match(errors[0], /SPARK_HOME=.* is Spark 3\.5\.7 with Scala 2\.13, but spark-sync's job is built for Spark 3\.5\.x with Scala 2\.12/);
  assert.equal(fs.existsSync(path.join(dir, 'cp.db')), false, 'no checkpoint was made');
});

test('a cluster master gets the shipped jars, then --jars, then a --conf spark.jars; Java 17 options for executors and the YARN AM', () => {
  const rt: SparkRuntime = { sparkJars: [], shipJars: ['/j/spark-sync-jobs.jar', '/j/kafka-clients-3.4.1.jar'], sparkVersion: '3.5.7', scalaVersion: '2.12' };
  const conf = confMap(clusterConf('spark://m:7077', rt, ['spark.jars=/u/extra.jar', 'spark.executor.extraJavaOptions=-Dx=1', 'spark.cores.max=2'], ['/u/mine.jar'], {}));
  assert.equal(conf.get('spark.jars'), '/j/spark-sync-jobs.jar,/j/kafka-clients-3.4.1.jar,/u/mine.jar,/u/extra.jar');
  assert.match(conf.get('spark.executor.extraJavaOptions')!, /^--add-opens=java\.base\/java\.lang=ALL-UNNAMED .* -Dx=1$/);
  assert.equal(conf.get('spark.cores.max'), '2');
  assert.equal(conf.has('spark.yarn.archive'), false);
  const yarn = confMap(clusterConf('yarn', rt, ['spark.yarn.archive=hdfs:///libs/spark.zip'], [], {}));
  assert.equal(yarn.get('spark.yarn.archive'), 'hdfs:///libs/spark.zip', 'the user\'s own archive is used as it is');
  assert.match(yarn.get('spark.yarn.am.extraJavaOptions')!, /--add-opens=java\.base\/sun\.nio\.ch=ALL-UNNAMED/);
  assert.equal(isLocalMaster('local[2]'), true);
  assert.equal(isLocalMaster('local-cluster[2,1,1024]'), false);
});

test('the YARN archive of Spark\'s jars is built once per set of jars and reused', () => {
  const jars = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-jars-'));
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-home-'));
  const sparkJars = ['a-1.0.jar', 'b-2.0.jar'].map((j) => path.join(jars, j));
  for (const j of sparkJars) fs.copyFileSync(path.join(SPARK_JARS_DIR, 'spark-sync-jobs.jar'), j);
  const rt: SparkRuntime = { sparkJars, shipJars: [], sparkVersion: '3.5.7', scalaVersion: '2.12' };
  const first = yarnArchive(rt, { SPARK_SYNC_HOME: home });
  const built = fs.statSync(first).mtimeMs;
  assert.equal(yarnArchive(rt, { SPARK_SYNC_HOME: home }), first);
  assert.equal(fs.statSync(first).mtimeMs, built, 'reused, not rebuilt');
  const listing = spawnSync('jar', ['--list', '--file', first]).stdout.toString().split('\n').filter(Boolean).filter((e) => !e.startsWith('META-INF'));
  assert.deepEqual(listing, ['a-1.0.jar', 'b-2.0.jar'], 'the jars sit at the archive\'s root, as Spark\'s YARN client expects');
  fs.appendFileSync(sparkJars[0], 'x');
  assert.notEqual(yarnArchive(rt, { SPARK_SYNC_HOME: home }), first, 'a changed jar makes a new archive');
});

test("the library's Spark settings are checked by the CLI's schema when a SparkSync opens", async () => {
  const { SparkSync } = await import('../../src/index');
  await assert.rejects(SparkSync.open({ master: 'mesos://x' }), (err: SparkSyncError) => err.exitCode === 2 && /--master must be local\[\*\], local\[N\], spark:\/\/…, yarn or k8s:\/\/…/.test(err.message));
  await assert.rejects(SparkSync.open({ jars: '/nonexistent/extra.jar' }), /--jars \/nonexistent\/extra\.jar does not exist/);
  await assert.rejects(SparkSync.open({ conf: ['spark.executor.memory'] }), /--conf takes key=value/);
});
