/**
 * An application class-data-sharing archive (AppCDS, JDK 17) of the classes a driver JVM loads, so
 * the suite's many short-lived drivers map Spark's and Kafka's classes instead of parsing and
 * verifying ~15,000 of them each time. A 100,000-row submit on this 2-core machine: 10.9–12.4 s
 * wall and ~13 s of CPU with C1 alone, 7.8–9.9 s wall and 8.8–10.7 s of CPU with C1 and this archive.
 *
 * Built once per classpath and JDK and kept in the temp directory: a training run (`spark-sync
 * demo`, which samples, submits, reruns, verifies and reads status in one JVM) lists the classes it
 * loads, then `java -Xshare:dump` writes the archive. A JVM whose classpath or JDK does not match
 * the archive (a test's own SPARK_HOME, an installed package) starts without it, silently
 * (-Xlog:cds=off): the archive is an accelerator, never a requirement.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveSparkRuntime, SPARK_JAVA17_OPTIONS } from '../src/spark/spark-runtime';

const TRAINING_ROWS = '2000';
const TRAINING_TIMEOUT_MS = 300_000;

/** The JVM options that use the archive, building it first if needed; none if it cannot be built. */
export function driverClassArchiveOptions(c1Only: string, report: (line: string) => void): string[] {
  const started = Date.now();
  try {
    const classpath = driverClasspath();
    const archive = path.join(os.tmpdir(), `spark-sync-test-cds-${archiveKey(classpath)}.jsa`);
    if (!fs.existsSync(archive)) buildArchive(archive, classpath, c1Only);
    report(`# driver class archive ${archive} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return [`-XX:SharedArchiveFile=${archive}`, '-Xlog:cds=off'];
  } catch (err) {
    report(`# driver class archive not used: ${(err as Error).message}`);
    return [];
  }
}

/** The startup classpath's fixed prefix, as src/spark/jvm.ts puts it together. */
function driverClasspath(): string[] {
  const runtime = resolveSparkRuntime();
  return [...runtime.sparkJars, ...runtime.shipJars];
}

/** Changes with any jar of the classpath (path, size, time) and with the JDK. */
function archiveKey(classpath: string[]): string {
  const hash = crypto.createHash('sha256');
  for (const jar of classpath) {
    const stat = fs.statSync(jar);
    hash.update(`${jar}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  hash.update(spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr ?? '');
  return hash.digest('hex').slice(0, 16);
}

function buildArchive(archive: string, classpath: string[], c1Only: string): void {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-test-cds-'));
  try {
    const classList = path.join(work, 'classes.lst');
    const training = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'spark-sync.js'), 'demo', '--rows', TRAINING_ROWS], {
      env: { ...process.env, SPARK_SYNC_HOME: work, SPARK_SYNC_DRIVER_JAVA_OPTIONS: `${c1Only} -XX:DumpLoadedClassList=${classList}` },
      encoding: 'utf8',
      timeout: TRAINING_TIMEOUT_MS,
    });
    if (training.status !== 0 || !fs.existsSync(classList)) {
      throw new Error(`the training run (spark-sync demo) exited ${training.status ?? training.signal}: ${lastLine(training.stderr)}`);
    }
    const partial = `${archive}.${process.pid}.partial`;
    const dump = spawnSync('java', ['-Xshare:dump', `-XX:SharedClassListFile=${classList}`, `-XX:SharedArchiveFile=${partial}`, '-Xlog:cds=off', ...SPARK_JAVA17_OPTIONS, '-cp', classpath.join(path.delimiter)], {
      encoding: 'utf8',
      timeout: TRAINING_TIMEOUT_MS,
    });
    if (dump.status !== 0 || !fs.existsSync(partial)) {
      fs.rmSync(partial, { force: true });
      throw new Error(`java -Xshare:dump exited ${dump.status ?? dump.signal}: ${lastLine(dump.stderr || dump.stdout)}`);
    }
    // Renamed into place whole: a concurrent suite sees either no archive or a complete one.
    fs.renameSync(partial, archive);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function lastLine(text: string | null | undefined): string {
  return (text ?? '').trim().split('\n').pop() ?? '';
}
