import os from 'node:os';
import path from 'node:path';

/** The package root (where jars/ lives); this file runs from dist/src/config. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Classpath folders filled by the build (jars/README.md). */
export const SPARK_JARS_DIR = path.join(PACKAGE_ROOT, 'jars', 'spark');
export const KAFKA_JARS_DIR = path.join(PACKAGE_ROOT, 'jars', 'kafka');
/** The development jobs (benchmark, test tables): put on the JVM's classpath only by the bench and tests. */
export const DEV_JOBS_JAR = path.join(PACKAGE_ROOT, 'jars', 'dev', 'spark-sync-dev-jobs.jar');

/**
 * spark-sync's home: `$SPARK_SYNC_HOME`, else `~/.spark-sync`. Never the working directory:
 * Airflow runs each task in a temporary directory that is deleted afterwards.
 */
export function sparkSyncHome(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.SPARK_SYNC_HOME?.trim();
  return path.resolve(configured ? configured : path.join(os.homedir(), '.spark-sync'));
}

export function defaultCheckpointPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(sparkSyncHome(env), 'checkpoint.db');
}
