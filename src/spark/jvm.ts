import fs from 'node:fs';
import path from 'node:path';
import { SPARK_JARS_DIR } from '../config/paths';
import { SparkSyncError } from '../errors/spark-sync-error';

/** Spark on Java 17 needs these opens; no spark-submit launcher is there to add them. */
export const SPARK_JAVA17_OPTIONS: readonly string[] = [
  'java.lang', 'java.lang.invoke', 'java.lang.reflect', 'java.io', 'java.net', 'java.nio', 'java.util',
  'java.util.concurrent', 'java.util.concurrent.atomic', 'sun.nio.ch', 'sun.nio.cs', 'sun.security.action',
  'sun.util.calendar',
].map((pkg) => `--add-opens=java.base/${pkg}=ALL-UNNAMED`)
  .concat(['-Dio.netty.tryReflectionSetAccessible=true']);

export interface JvmOptions {
  /**
   * Heap of the driver JVM, e.g. `2g` (`--driver-memory`): Spark local mode runs its executors
   * here too. Default 1g, as spark-submit's: Spark spills to disk beyond it, so memory stays flat
   * however large the file (the JVM's own default, a quarter of RAM, grows with the data).
   */
  driverMemory?: string;
}

export const DEFAULT_DRIVER_MEMORY = '1g';

let started: JvmOptions | undefined;

/**
 * Starts the one JVM of this process with every jar of jars/spark on its startup classpath
 * (Spark's class loaders do not see `appendClasspath`). A second call is a no-op: a process can
 * never start a second JVM.
 */
export async function ensureJvm(options: JvmOptions = {}): Promise<void> {
  if (started) return;
  const jars = fs.existsSync(SPARK_JARS_DIR) ? fs.readdirSync(SPARK_JARS_DIR).filter((f) => f.endsWith('.jar')) : [];
  if (!jars.includes('spark-sync-jobs.jar')) {
    throw new SparkSyncError('INSTALL_INCOMPLETE', `the Spark job jars are missing from ${SPARK_JARS_DIR}`, {
      hint: 'run `npm run build:jars` in the spark-sync folder (needs Java 17 and Maven)',
    });
  }
  const bridge = await import('java-bridge');
  const opts = [...SPARK_JAVA17_OPTIONS, '-Djava.awt.headless=true'];
  opts.push(`-Xmx${options.driverMemory ?? DEFAULT_DRIVER_MEMORY}`);
  try {
    bridge.ensureJvm({ classpath: jars.map((j) => path.join(SPARK_JARS_DIR, j)), opts });
  } catch (err) {
    throw new SparkSyncError('INSTALL_INCOMPLETE', `the Java VM did not start: ${(err as Error).message}`, {
      cause: err,
      hint: 'spark-sync needs a Java 17 JDK; set JAVA_HOME to it',
    });
  }
  started = options;
}
