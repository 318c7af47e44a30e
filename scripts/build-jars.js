#!/usr/bin/env node
// Builds the Spark job jar and fills jars/ with the runtime classpaths (DESIGN.md §1):
//   jars/spark       the job jar + Spark, Hadoop client, Kafka client: the bridge JVM's classpath
//   jars/dev         the development jobs' jar (BenchJobs, TestTables): added to that classpath
//                    only by the benchmark's and the Hive tests' JVMs; built against jars/spark
//   jars/kafka       Apache Kafka's broker and tools: run only as child JVMs
//   jars/hdfs        Hadoop's MiniDFSCluster and MiniYARNCluster, for the tests: child JVMs only
//   jars/spark-dist  Spark 3.5.7's own binary distribution (jars/ and bin/), unmodified: the
//                    SPARK_HOME of the test cluster, and the reference for what executors lack
// Runs as part of `npm install` in a clone (the package's prepare script) and of `npm pack`
// (prepack, before scripts/write-manifest.js); an installed package never runs it: it fetches the
// jars jars/manifest.json lists instead (src/install/jar-cache.ts). Maven's local repository
// (~/.m2) and pip's cache keep the downloads, so only the first run on a machine is slow.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const modules = [
  { pom: 'spark-jobs/pom.xml', out: 'jars/spark' },
  { pom: 'spark-jobs/dev-jobs/pom.xml', out: 'jars/dev' },
  { pom: 'spark-jobs/dev-services/pom.xml', out: 'jars/kafka' },
  { pom: 'spark-jobs/hdfs-fixture/pom.xml', out: 'jars/hdfs' },
];

/**
 * Spark's binary distribution of the version the job is built for. PyPI's pyspark source
 * package carries it whole (deps/jars, deps/bin); pip checks the archive against the index's
 * SHA-256. Spark's YARN client (spark-yarn) is taken from it as well: the Maven mirror this
 * project builds against lacks spark-yarn_2.12 3.5.7.
 */
const SPARK_VERSION = '3.5.7';
const SPARK_DIST = 'jars/spark-dist';
/** Jars of the distribution the driver needs for --master yarn (the YARN client, the AM's proxy filter). */
const DRIVER_JARS_FROM_DIST = [/^spark-yarn_2\.12-/, /^hadoop-yarn-server-web-proxy-/];

function fail(message, status = 2) {
  console.error(`spark-sync build: ${message}`);
  process.exit(status);
}

const probe = spawnSync('mvn', ['-v'], { stdio: 'ignore' });
if (probe.error || probe.status !== 0) fail('Maven (mvn) is not on PATH; install Maven 3.8+ and Java 17, then run `npm run build:jars`.');

for (const { pom, out } of modules) {
  // A module this copy does not have (a partial checkout) is skipped.
  if (!fs.existsSync(path.join(root, pom))) continue;
  // Start from an empty folder so a jar dropped from the build never lingers on the classpath.
  fs.rmSync(path.join(root, out), { recursive: true, force: true });
  const started = Date.now();
  const r = spawnSync('mvn', ['-q', '-B', '-DskipTests', '-f', pom, 'package'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail(`Maven failed to build ${pom} (exit ${r.status}); see its output above.`, r.status || 1);
  report(out, started);
}

const started = Date.now();
fillSparkDistribution();
report(SPARK_DIST + '/jars', started);
for (const jar of listJars(path.join(root, SPARK_DIST, 'jars')).filter((j) => DRIVER_JARS_FROM_DIST.some((re) => re.test(j)))) {
  fs.copyFileSync(path.join(root, SPARK_DIST, 'jars', jar), path.join(root, 'jars/spark', jar));
}
writeShipList();

function fillSparkDistribution() {
  const dist = path.join(root, SPARK_DIST);
  if (fs.existsSync(path.join(dist, 'RELEASE')) && fs.readFileSync(path.join(dist, 'RELEASE'), 'utf8').includes(SPARK_VERSION)) return;
  fs.rmSync(dist, { recursive: true, force: true });
  const download = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-dist-'));
  try {
    const python = ['python3', 'python'].find((p) => spawnSync(p, ['-m', 'pip', '--version'], { stdio: 'ignore' }).status === 0);
    if (!python) fail('Python 3 with pip is needed once, to download Spark\'s distribution (PyPI pyspark); install python3-pip, then run `npm run build:jars`.');
    console.error(`spark-sync build: downloading Spark ${SPARK_VERSION}'s distribution (PyPI pyspark, 317 MB) into ${SPARK_DIST}`);
    const pip = spawnSync(python, ['-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:', '--progress-bar', 'on', '-d', download, `pyspark==${SPARK_VERSION}`], { stdio: 'inherit' });
    if (pip.status !== 0) fail(`pip could not download pyspark==${SPARK_VERSION} (exit ${pip.status}); check access to PyPI, then run \`npm run build:jars\`.`);
    const archive = path.join(download, `pyspark-${SPARK_VERSION}.tar.gz`);
    fs.mkdirSync(dist, { recursive: true });
    const tar = spawnSync('tar', ['-xzf', archive, '-C', dist, '--strip-components=2', `pyspark-${SPARK_VERSION}/deps/jars`, `pyspark-${SPARK_VERSION}/deps/bin`], { stdio: 'inherit' });
    if (tar.status !== 0) fail(`could not unpack ${archive} (tar exit ${tar.status})`);
    // spark-class and the Worker's executor launcher look for SPARK_HOME/RELEASE or jars/.
    fs.writeFileSync(path.join(dist, 'RELEASE'), `Spark ${SPARK_VERSION} (Scala 2.12), the jars and bin of PyPI pyspark ${SPARK_VERSION}\n`);
  } finally {
    fs.rmSync(download, { recursive: true, force: true });
  }
}

/**
 * jars/spark/ship-to-executors.txt: the driver's jars that Spark's own distribution lacks (the
 * job jar, the Kafka client and connector and what they pull in), by artifact name. With a
 * cluster master these travel to the executors through spark.jars, so a plain Spark
 * installation on the cluster is enough.
 */
function writeShipList() {
  const artifact = (jar) => jar.replace(/-\d[\w.-]*\.jar$/, '').replace(/\.jar$/, '');
  const inDist = new Set(listJars(path.join(root, SPARK_DIST, 'jars')).map(artifact));
  const ship = listJars(path.join(root, 'jars/spark')).filter((j) => !inDist.has(artifact(j)));
  if (!ship.includes('spark-sync-jobs.jar')) fail('the job jar is missing from jars/spark after the build', 1);
  fs.writeFileSync(path.join(root, 'jars/spark/ship-to-executors.txt'), ship.join('\n') + '\n');
  console.error(`spark-sync build: ${ship.length} jars travel to executors with a cluster master: ${ship.join(', ')}`);
}

function listJars(dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.jar')).sort();
}

function report(out, startedAt) {
  console.error(`spark-sync build: ${out} has ${listJars(path.join(root, out)).length} jars (${((Date.now() - startedAt) / 1000).toFixed(0)} s)`);
}
