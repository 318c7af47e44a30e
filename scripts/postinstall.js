#!/usr/bin/env node
// npm's `postinstall`. In an installed spark-sync (a tarball or the registry), fetches the Spark,
// Hadoop and Kafka jars that jars/manifest.json lists from Maven Central (SPARK_SYNC_MAVEN_REPO
// names another repository, a URL or a folder) into the jar cache, $SPARK_SYNC_HOME/jars
// (default ~/.spark-sync/jars), shared by every project; each is checked against its SHA-1.
// It never fails the install: what it could not fetch, the first use fetches, or
// `spark-sync install-jars [--from <folder or URL>]` does. SPARK_SYNC_SKIP_JAR_DOWNLOAD=1 skips it.
// In a git clone it does nothing: there `prepare` builds jars/ with Maven.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cacheModule = path.join(root, 'dist', 'src', 'install', 'jar-cache.js');
// A source checkout (its Maven build is here): `prepare`, which npm runs next, builds jars/.
if (fs.existsSync(path.join(root, 'spark-jobs', 'pom.xml'))) process.exit(0);
if (!fs.existsSync(path.join(root, 'jars', 'manifest.json')) || !fs.existsSync(cacheModule)) process.exit(0);

const cache = require(cacheModule);
const folders = cache.JAR_FOLDERS.filter((f) => cache.jarSource(f) === 'cache');
if (folders.length === 0) process.exit(0);
const jars = cache.manifestJars(folders);
const missing = cache.missingJars(jars);
if (missing.length === 0) {
  console.error(`spark-sync: all ${cache.distinctJars(jars).length} jars are in ${cache.jarCacheDir()}`);
  process.exit(0);
}
if (process.env.SPARK_SYNC_SKIP_JAR_DOWNLOAD === '1') {
  console.error(`spark-sync: SPARK_SYNC_SKIP_JAR_DOWNLOAD=1: not fetching ${missing.length} jars now; the first use fetches them, or \`npx spark-sync install-jars\``);
  process.exit(0);
}
// A fetch that stopped without an answer must not pass for a finished one.
process.on('beforeExit', () => {
  console.error(`spark-sync: fetching its jars stopped unfinished; the first use fetches what is missing, or run \`npx spark-sync install-jars\``);
  process.exit(0);
});
cache.fetchJars(missing, { progress: cache.stderrProgress() }).then(
  () => process.exit(0),
  (err) => {
    const text = typeof err.oneLine === 'function' ? err.oneLine() : String(err && err.message);
    console.error(`spark-sync: could not fetch its jars now (${text}); the first use fetches what is missing, or run \`npx spark-sync install-jars [--from <Maven repository folder or URL>]\``);
    process.exit(0);
  },
);
