#!/usr/bin/env node
// Builds the Spark job jar and fills jars/ with the runtime classpaths (DESIGN.md §1):
//   jars/spark  the job jar + Spark, Hadoop client, Kafka client: the bridge JVM's classpath
//   jars/kafka  Apache Kafka's broker and tools: run only as child JVMs
//   jars/hdfs   Hadoop's MiniDFSCluster, a real HDFS for the tests: run only as a child JVM
// Runs as part of `npm install` / `npm ci` (the package's prepare script). Maven's local
// repository (~/.m2) caches the downloads, so only the first run on a machine is slow.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const modules = [
  { pom: 'spark-jobs/pom.xml', out: 'jars/spark' },
  { pom: 'spark-jobs/dev-services/pom.xml', out: 'jars/kafka' },
  { pom: 'spark-jobs/hdfs-fixture/pom.xml', out: 'jars/hdfs' },
];

const probe = spawnSync('mvn', ['-v'], { stdio: 'ignore' });
if (probe.error || probe.status !== 0) {
  console.error('spark-sync build: Maven (mvn) is not on PATH; install Maven 3.8+ and Java 17, then run `npm run build:jars`.');
  process.exit(2);
}

for (const { pom, out } of modules) {
  // Start from an empty folder so a jar dropped from the build never lingers on the classpath.
  fs.rmSync(path.join(root, out), { recursive: true, force: true });
  const started = Date.now();
  const r = spawnSync('mvn', ['-q', '-B', '-DskipTests', '-f', pom, 'package'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`spark-sync build: Maven failed to build ${pom} (exit ${r.status}); see its output above.`);
    process.exit(r.status || 1);
  }
  const jars = fs.readdirSync(path.join(root, out)).filter((f) => f.endsWith('.jar')).length;
  console.error(`spark-sync build: ${out} has ${jars} jars (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}
