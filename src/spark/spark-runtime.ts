import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SPARK_JARS_DIR, sparkSyncHome } from '../config/paths';
import { SparkSyncError } from '../errors/spark-sync-error';
import { ManifestJar, cachedJarPath, jarSource, manifestJars } from '../install/jar-cache';

/** Spark on Java 17 needs these opens; no spark-submit launcher is there to add them. */
export const SPARK_JAVA17_OPTIONS: readonly string[] = [
  'java.lang', 'java.lang.invoke', 'java.lang.reflect', 'java.io', 'java.net', 'java.nio', 'java.util',
  'java.util.concurrent', 'java.util.concurrent.atomic', 'sun.nio.ch', 'sun.nio.cs', 'sun.security.action',
  'sun.util.calendar',
].map((pkg) => `--add-opens=java.base/${pkg}=ALL-UNNAMED`)
  .concat(['-Dio.netty.tryReflectionSetAccessible=true']);

/** The Spark line and Scala version the job jar is compiled against (spark-jobs/pom.xml). */
export const BUILT_FOR = { spark: '3.5', scala: '2.12' } as const;

/** Where the driver's Spark comes from, and what a cluster gets from the driver. */
export interface SparkRuntime {
  /** `SPARK_HOME` when the user's own Spark is used; undefined for spark-sync's own jars. */
  sparkHome?: string;
  /** Spark's own jars (a distribution's `jars/`, or spark-sync's Maven-resolved classpath). */
  sparkJars: string[];
  /**
   * The jars executors need beyond Spark's distribution: the job jar, the Kafka client and
   * connector (jars/spark/ship-to-executors.txt, made by the build).
   */
  shipJars: string[];
  /** The Spark version those jars are, e.g. 3.5.7. */
  sparkVersion: string;
  scalaVersion: string;
  /**
   * An installed package's jars that live in the jar cache ($SPARK_SYNC_HOME/jars), which
   * {@link ensureJvm} fetches when missing; undefined for a git clone's own jars/spark.
   */
  cachedJars?: ManifestJar[];
}

/**
 * The driver's Spark. Without `SPARK_HOME`, spark-sync's own jars: jars/spark in a git clone; in
 * an installed package, its job jar plus the jars of jars/manifest.json in the jar cache
 * (`cachedJars`, which {@link ensureJvm} fetches when missing). With `SPARK_HOME`, that
 * installation's jars plus the jars it lacks, as spark-submit runs an application, so that the
 * driver and a cluster running the same installation agree. A Spark line or Scala version the
 * job was not compiled for is refused here, before any JVM starts.
 */
export function resolveSparkRuntime(env: NodeJS.ProcessEnv = process.env): SparkRuntime {
  if (!listJars(SPARK_JARS_DIR).includes('spark-sync-jobs.jar')) {
    throw new SparkSyncError('INSTALL_INCOMPLETE', `the Spark job jars are missing from ${SPARK_JARS_DIR}`, {
      hint: 'run `npm run build:jars` in the spark-sync folder (needs Java 17 and Maven)',
    });
  }
  // A git clone's jars/spark holds the whole classpath; an installed package's holds the job jar,
  // and jars/manifest.json names the rest, which live in the jar cache.
  const cachedJars = jarSource('spark') === 'cache' ? manifestJars(['spark']) : undefined;
  const where = new Map(listJars(SPARK_JARS_DIR).map((j) => [j, path.join(SPARK_JARS_DIR, j)]));
  for (const jar of cachedJars ?? []) where.set(jar.file, cachedJarPath(jar, env));
  const own = [...where.keys()].sort();
  const shipList = path.join(SPARK_JARS_DIR, 'ship-to-executors.txt');
  const shipNames = fs.existsSync(shipList) ? fs.readFileSync(shipList, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean) : ['spark-sync-jobs.jar'];
  const shipJars = shipNames.map((j) => where.get(j) ?? path.join(SPARK_JARS_DIR, j));
  const sparkHome = env.SPARK_HOME?.trim() ? path.resolve(env.SPARK_HOME.trim()) : undefined;
  if (!sparkHome) {
    const sparkJars = own.filter((j) => !shipNames.includes(j)).map((j) => where.get(j)!);
    return { sparkJars, shipJars, ...versionOf(own, SPARK_JARS_DIR), ...(cachedJars ? { cachedJars } : {}) };
  }
  const homeJars = path.join(sparkHome, 'jars');
  const jars = listJars(homeJars);
  if (jars.length === 0) {
    throw new SparkSyncError('USAGE', `SPARK_HOME=${sparkHome} has no jars/ folder with Spark's jars`, {
      hint: 'point SPARK_HOME to a Spark installation (the folder holding bin/ and jars/), or unset it to use spark-sync\'s own Spark',
    });
  }
  const version = versionOf(jars, homeJars);
  if (version.sparkVersion.split('.').slice(0, 2).join('.') !== BUILT_FOR.spark || version.scalaVersion !== BUILT_FOR.scala) {
    throw new SparkSyncError('USAGE', `SPARK_HOME=${sparkHome} is Spark ${version.sparkVersion} with Scala ${version.scalaVersion}, but spark-sync's job is built for Spark ${BUILT_FOR.spark}.x with Scala ${BUILT_FOR.scala}`, {
      hint: `point SPARK_HOME to a Spark ${BUILT_FOR.spark}.x (Scala ${BUILT_FOR.scala}) installation, or unset it to use spark-sync's own Spark ${BUILT_FOR.spark}`,
    });
  }
  // The shipped jars the cache holds: the Kafka client and connector, beside SPARK_HOME's Spark.
  const shipped = new Set(shipJars);
  const cachedShipJars = cachedJars?.filter((j) => shipped.has(cachedJarPath(j, env)));
  return { sparkHome, sparkJars: jars.map((j) => path.join(homeJars, j)), shipJars, ...version, ...(cachedShipJars ? { cachedJars: cachedShipJars } : {}) };
}

function versionOf(jars: string[], dir: string): { sparkVersion: string; scalaVersion: string } {
  for (const jar of jars) {
    const m = /^spark-core_(\d+\.\d+)-(\d+\.\d+\.\d+[\w.-]*)\.jar$/.exec(jar);
    if (m) return { scalaVersion: m[1], sparkVersion: m[2] };
  }
  throw new SparkSyncError('USAGE', `${dir} holds no spark-core jar, so its Spark version is unknown`, {
    hint: 'point SPARK_HOME to a Spark installation, or unset it to use spark-sync\'s own Spark',
  });
}

function listJars(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.jar')).sort() : [];
}

/** `local`, `local[*]`, `local[N]`, `local[N,F]`: Spark runs inside the driver's JVM. */
export function isLocalMaster(master: string): boolean {
  return /^local(\[.*\])?$/.test(master);
}

/**
 * Settings a cluster master needs, before the user's `--conf` (which may extend them):
 * - `spark.jars`: the jars Spark's distribution lacks, then the user's `--jars`, so executors
 *   load the job's classes with nothing but a plain Spark 3.5 on the cluster;
 * - the Java 17 `--add-opens` for executors and a YARN application master, which no
 *   spark-submit launcher adds for an embedded driver;
 * - with `yarn`, Spark's jars for the containers as one cached archive (`spark.yarn.archive`),
 *   unless `--conf` names its own archive or jars.
 * A `--conf` value for one of these keys is appended to spark-sync's, not put in its place.
 */
export function clusterConf(master: string, runtime: SparkRuntime, userConf: string[], userJars: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const user = new Map(userConf.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const merged = (key: string, ours: string, sep: string) => `${key}=${[ours, user.get(key)].filter((v) => v && v.trim()).join(sep)}`;
  // Test-only: leave the executors without the job's jars, to see the error a user would get.
  const ship = env.SPARK_SYNC_TEST_SHIP_NO_JARS === '1' ? [] : runtime.shipJars;
  const opens = SPARK_JAVA17_OPTIONS.join(' ');
  const conf = [
    merged('spark.jars', [...ship, ...userJars].join(','), ','),
    merged('spark.executor.extraJavaOptions', opens, ' '),
  ];
  if (master === 'yarn') {
    if (runtime.cachedJars && !runtime.sparkHome && !runtime.sparkJars.some((j) => path.basename(j).startsWith('spark-yarn_'))) {
      throw new SparkSyncError('USAGE', `this installed spark-sync has no YARN client: spark-yarn_${runtime.scalaVersion} ${runtime.sparkVersion} is not published on Maven Central, where its jars come from`, {
        hint: `set SPARK_HOME to a Spark ${runtime.sparkVersion} (Scala ${runtime.scalaVersion}) installation, whose jars include it, as for spark-submit`,
      });
    }
    conf.push(merged('spark.yarn.am.extraJavaOptions', opens, ' '));
    if (!user.has('spark.yarn.archive') && !user.has('spark.yarn.jars')) conf.push(`spark.yarn.archive=${yarnArchive(runtime)}`);
  }
  const ours = new Set(conf.map((kv) => kv.slice(0, kv.indexOf('='))));
  return [...conf, ...userConf.filter((kv) => !ours.has(kv.slice(0, kv.indexOf('='))))];
}

/**
 * Spark's jars as the one archive YARN localizes for every container (`__spark_libs__`), built
 * once per set of jars in `$SPARK_SYNC_HOME/cache` and reused: without it, Spark's YARN client
 * needs a SPARK_HOME to zip on every submit. Stored, not compressed: jars are compressed already.
 */
export function yarnArchive(runtime: SparkRuntime, env: NodeJS.ProcessEnv = process.env): string {
  const hash = createHash('sha256');
  for (const jar of runtime.sparkJars) {
    const st = fs.statSync(jar);
    hash.update(`${path.basename(jar)}:${st.size}:${st.mtimeMs}\n`);
  }
  const cache = path.join(sparkSyncHome(env), 'cache');
  const archive = path.join(cache, `spark-${runtime.sparkVersion}-libs-${hash.digest('hex').slice(0, 16)}.zip`);
  if (fs.existsSync(archive)) return archive;
  fs.mkdirSync(cache, { recursive: true, mode: 0o700 });
  const partial = `${archive}.${process.pid}.partial`;
  const args = ['--create', '--no-compress', '--file', partial];
  for (const jar of runtime.sparkJars) args.push('-C', path.dirname(jar), path.basename(jar));
  const javaHome = env.JAVA_HOME?.trim();
  const r = spawnSync(javaHome ? path.join(javaHome, 'bin', 'jar') : 'jar', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) {
    fs.rmSync(partial, { force: true });
    throw new SparkSyncError('INSTALL_INCOMPLETE', `could not build the Spark archive for YARN at ${archive}: ${r.error?.message ?? r.stderr.toString().trim()}`, {
      hint: 'spark-sync needs a Java 17 JDK (with its jar tool); or pass --conf spark.yarn.archive=hdfs:///… naming an archive of Spark\'s jars',
    });
  }
  fs.renameSync(partial, archive);
  return archive;
}
