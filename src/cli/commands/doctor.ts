import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Command } from 'commander';
import { CheckpointStore } from '../../checkpoint/checkpoint-store';
import { KAFKA_JARS_DIR, SPARK_JARS_DIR, defaultCheckpointPath } from '../../config/paths';
import { ExitCode, SparkSyncError, asSparkSyncError } from '../../errors/spark-sync-error';
import { kafkaConnection } from '../../config/kafka-connection';
import { KafkaAdmin } from '../../kafka/kafka-admin';
import { INSTALL_COMMAND, JAR_FOLDERS, corruptJars, distinctJars, incompleteCache, jarCacheDir, jarSource, manifestJars, missingJars } from '../../install/jar-cache';
import { ensureJvm } from '../../spark/jvm';
import { globalOptions } from '../global-options';
import { exitCodesHelp, printSummary } from '../output';
import { addCheckpointOption, addKafkaOptions } from '../shared-options';

interface Check {
  name: string;
  ok: boolean;
  /** What was found, or what is wrong and what to do. */
  detail: string;
  exit_code?: number;
}

/**
 * `doctor`: each thing a sync needs, checked on its own and named when it fails, so an operator
 * sees every problem in one run instead of one per attempt.
 */
export function doctorCommand(): Command {
  const cmd = new Command('doctor').description('check Java, the jars, the JVM bridge, Kafka and the checkpoint, naming each failure');
  addKafkaOptions(cmd, 'Kafka brokers to check, comma-separated');
  return addCheckpointOption(cmd).addHelpText(
    'after',
    `
Example:
  spark-sync doctor --bootstrap-server kafka1:9092 --kafka-config client.properties

Kafka is checked only with --bootstrap-server, the checkpoint only if it exists. A failed check
exits with its own code; the first failure's, when several fail.
${exitCodesHelp([0, 1, 2, 3], { 0: 'every check passed', 2: 'bad usage, or Java, the jars, the bridge, the Kafka settings or the checkpoint failed', 3: 'Kafka unreachable (safe to retry)' })}`,
  ).action(async (opts: { bootstrapServer?: string; kafkaConfig?: string; kafkaProperties?: Record<string, string>; checkpoint?: string }, cmd: Command) => {
    const { log } = globalOptions(cmd);
    const checks: Check[] = [];
    const run = async (name: string, check: () => Promise<string> | string) => {
      try {
        checks.push({ name, ok: true, detail: await check() });
      } catch (err) {
        const e = asSparkSyncError(err);
        checks.push({ name, ok: false, detail: e.oneLine(), exit_code: e.exitCode });
      }
      const c = checks[checks.length - 1];
      (c.ok ? log.info.bind(log) : log.error.bind(log))({ check: c.name, ok: c.ok }, `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    };
    await run('java', javaVersion);
    await run('jars', jarsPresent);
    await run('bridge', async () => {
      await ensureJvm({ driverMemory: '256m', download: false });
      const { importClassAsync } = await import('java-bridge');
      await importClassAsync('io.sparksync.jobs.SparkSyncJobs');
      return 'java-bridge started the JVM and loaded the Spark job classes';
    });
    if (opts.bootstrapServer) {
      await run('kafka', async () => {
        const conn = kafkaConnection({ bootstrapServer: opts.bootstrapServer!, kafkaConfig: opts.kafkaConfig, kafkaProperties: opts.kafkaProperties });
        const admin = await KafkaAdmin.connect({ bootstrapServers: conn.bootstrapServers, client: conn.kafkaClient, connectTimeoutMs: 10_000 });
        try {
          const brokers = await admin.brokerCount();
          const settings = [opts.kafkaConfig, opts.kafkaProperties && 'the -X properties'].filter(Boolean).join(' and ');
          return `${conn.bootstrapServers.join(',')} answered: ${brokers} broker(s)${settings ? `, logged in with ${settings}` : ''}`;
        } finally {
          await admin.close();
        }
      });
    }
    const checkpoint = opts.checkpoint ?? defaultCheckpointPath();
    if (fs.existsSync(checkpoint)) {
      await run('checkpoint', async () => {
        const store = await CheckpointStore.open(checkpoint, { create: false });
        try {
          const integrity = await store.integrityCheck();
          if (integrity !== 'ok') throw new SparkSyncError('CHECKPOINT_INVALID', `${store.file} is damaged: ${integrity}`, { hint: 'restore it from a backup; spark-sync never overwrites it' });
          return `${store.file}: ${(await store.listFiles()).length} file(s), SQLite integrity ok`;
        } finally {
          await store.close();
        }
      });
    }
    const failed = checks.find((c) => !c.ok);
    printSummary({ command: 'doctor', ok: !failed, checks });
    if (failed) process.exitCode = failed.exit_code ?? ExitCode.INTERNAL;
  });
}

function javaVersion(): string {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new SparkSyncError('INSTALL_INCOMPLETE', 'java is not on PATH', { hint: 'install a Java 17 JDK and put it on PATH (or set JAVA_HOME)' });
  }
  // The version line, not the first: with JDK_JAVA_OPTIONS set, the launcher prints a NOTE first.
  const line = r.stderr.split('\n').find((l) => /version "/.test(l))?.trim() ?? r.stderr.trim();
  const major = Number(/version "(\d+)/.exec(line)?.[1]);
  if (!(major >= 17)) throw new SparkSyncError('INSTALL_INCOMPLETE', `${line}: Spark 3.5 here needs Java 17 or later`, { hint: 'install a Java 17 JDK' });
  return line;
}

async function jarsPresent(): Promise<string> {
  const count = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.jar')) : []);
  const spark = count(SPARK_JARS_DIR);
  const kafka = count(KAFKA_JARS_DIR);
  if (!spark.includes('spark-sync-jobs.jar')) {
    throw new SparkSyncError('INSTALL_INCOMPLETE', `the Spark job jar is missing from ${SPARK_JARS_DIR}`, { hint: 'run `npm run build:jars` in the spark-sync folder (needs Java 17 and Maven)' });
  }
  // An installed package: the job jar here, every other jar in the jar cache, checked whole.
  const fromCache = JAR_FOLDERS.filter((f) => jarSource(f) === 'cache');
  if (fromCache.length === 0) return `${spark.length} jars in ${SPARK_JARS_DIR}, ${kafka.length} in ${KAFKA_JARS_DIR}`;
  const jars = manifestJars(fromCache);
  const total = distinctJars(jars).length;
  const missing = missingJars(jars);
  if (missing.length > 0) throw incompleteCache(missing, total, process.env, missing.length === total ? 'not fetched yet' : 'an interrupted or failed download?');
  const corrupt = await corruptJars(jars);
  if (corrupt.length > 0) {
    throw new SparkSyncError('INSTALL_INCOMPLETE', `${corrupt.length} of ${total} jars in the jar cache ${jarCacheDir()} do not match their SHA-1: ${corrupt.slice(0, 3).map((j) => j.file).join(', ')}`, {
      hint: `\`${INSTALL_COMMAND}\` fetches them again`,
    });
  }
  return `the job jar in ${SPARK_JARS_DIR}; ${total} jars (${fromCache.map((f) => `${f}: ${manifestJars([f]).length}`).join(', ')}) in the jar cache ${jarCacheDir()}, each matching its SHA-1`;
}
