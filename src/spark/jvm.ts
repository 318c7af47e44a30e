import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sparkSyncHome } from '../config/paths';
import { ensureCached } from '../install/jar-cache';
import type { Logger } from '../log/logger';
import { isAlive } from '../util/processes';
import { SparkSyncError } from '../errors/spark-sync-error';
import { SPARK_JAVA17_OPTIONS, SparkRuntime, resolveSparkRuntime } from './spark-runtime';

export interface JvmOptions {
  /**
   * Heap of the driver JVM, e.g. `2g` (`--driver-memory`): Spark local mode runs its executors
   * here too. Default 1g, as spark-submit's. The heap is taken whole at start (see
   * {@link heapOptions}).
   */
  driverMemory?: string;
  /** Extra jars (`--jars`), put on the JVM's startup classpath beside Spark's. */
  jars?: string[];
  /** Where fetching an installed package's missing jars is reported (else plain lines on stderr). */
  log?: Logger;
  /** Fetch an installed package's missing jars before starting (default), or fail naming them (doctor). */
  download?: boolean;
}

export const DEFAULT_DRIVER_MEMORY = '1g';

/**
 * A fixed heap, committed and touched at start, as Kafka's and Elasticsearch's launchers do. The
 * live data stays small (under 150 MB at 10M rows), but G1 grows a heap toward its cap in any run
 * longer than a few seconds, so the footprint would depend on how long a file takes rather than
 * on the setting. This way it is --driver-memory plus the JVM's own ~0.4 GB from the first row,
 * what a container or an Airflow worker slot is sized for, and a machine short of memory fails at
 * start instead of mid-file.
 */
export function heapOptions(driverMemory: string = DEFAULT_DRIVER_MEMORY): string[] {
  return [`-Xms${driverMemory}`, `-Xmx${driverMemory}`, '-XX:+AlwaysPreTouch'];
}

/**
 * Extra options of the driver's JVM, as spark-submit's `--driver-java-options`: the driver's JVM
 * starts inside this process, before any Spark setting is read, so `spark.driver.extraJavaOptions`
 * cannot reach it. Whitespace-separated; they come after spark-sync's own, so they win.
 */
export const DRIVER_JAVA_OPTIONS_ENV = 'SPARK_SYNC_DRIVER_JAVA_OPTIONS';

export function driverJavaOptions(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[DRIVER_JAVA_OPTIONS_ENV] ?? '').split(/\s+/).filter(Boolean);
}

let started: SparkRuntime | undefined;
let scratch: string | undefined;

/**
 * This process's scratch folder for Spark (shuffle files, spills) and the JVM's temp files (the
 * native libraries Snappy and LZ4 unpack): `$SPARK_SYNC_HOME/scratch/<host>-<pid>`. A killed run,
 * the case spark-sync exists for, leaves its shuffle files behind, gigabytes for a large file;
 * in /tmp they piled up unseen. Here the first call removes the folders of this host's processes
 * that are gone, and a normal exit removes its own.
 */
export function scratchDir(): string {
  if (scratch) return scratch;
  const root = path.join(sparkSyncHome(), 'scratch');
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const host = os.hostname();
  for (const name of fs.readdirSync(root)) {
    const pid = name.startsWith(`${host}-`) ? Number(name.slice(host.length + 1)) : NaN;
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  }
  const mine = path.join(root, `${host}-${process.pid}`);
  fs.mkdirSync(mine, { recursive: true, mode: 0o700 });
  process.once('exit', () => fs.rmSync(mine, { recursive: true, force: true }));
  scratch = mine;
  return mine;
}

/**
 * Starts the one JVM of this process with the driver's Spark on its startup classpath (Spark's
 * class loaders do not see `appendClasspath`): spark-sync's own jars, or `SPARK_HOME`'s plus the
 * job's (see {@link resolveSparkRuntime}), then `--jars`, then `HADOOP_CONF_DIR` and
 * `YARN_CONF_DIR` so Hadoop's client finds the cluster's *-site.xml, as spark-submit arranges.
 * A second call returns the first one's runtime: a process can never start a second JVM.
 */
export async function ensureJvm(options: JvmOptions = {}): Promise<SparkRuntime> {
  if (started) return started;
  const runtime = resolveSparkRuntime();
  // An installed package's first use: fetch the jars its `npm install` could not.
  if (runtime.cachedJars) await ensureCached(runtime.cachedJars, { log: options.log, download: options.download });
  const bridge = await import('java-bridge');
  // Derby (an embedded Hive metastore) writes derby.log to the working directory unless told.
  // -Xrs: the JVM installs no handlers for SIGTERM, SIGINT and SIGHUP, so they stay Node's. Else
  // a SIGTERM ran the JVM's shutdown (Spark's hook stopped the session under a running batch) and
  // the driver never got to cancel its job, release the lease and print its summary.
  const opts = ['-Xrs', ...SPARK_JAVA17_OPTIONS, '-Djava.awt.headless=true', `-Djava.io.tmpdir=${scratchDir()}`, `-Dderby.stream.error.file=${path.join(scratchDir(), 'derby.log')}`];
  opts.push(...heapOptions(options.driverMemory), ...driverJavaOptions());
  const confDirs = [process.env.HADOOP_CONF_DIR, process.env.YARN_CONF_DIR].filter((d): d is string => !!d?.trim() && fs.existsSync(d));
  try {
    bridge.ensureJvm({ classpath: [...runtime.sparkJars, ...runtime.shipJars, ...(options.jars ?? []), ...new Set(confDirs)], opts });
  } catch (err) {
    throw new SparkSyncError('INSTALL_INCOMPLETE', `the Java VM did not start: ${(err as Error).message}`, {
      cause: err,
      hint: driverJavaOptions().length > 0
        ? `check the options in ${DRIVER_JAVA_OPTIONS_ENV}; spark-sync needs a Java 17 JDK, set JAVA_HOME to it`
        : 'spark-sync needs a Java 17 JDK; set JAVA_HOME to it',
    });
  }
  started = runtime;
  return runtime;
}
