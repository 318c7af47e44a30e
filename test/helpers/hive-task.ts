/**
 * Runs SQL statements against a Hive metastore in a child process (a process can start only one
 * JVM, and the test runner starts none): `node dist/test/helpers/hive-task.js '<json>'` with
 * `{ conf: string[], statements: string[] }`.
 */
import { DEV_JOBS_JAR } from '../../src/config/paths';
import { SparkJobs } from '../../src/spark/spark-jobs';

/** TestTables ships in the development jobs' jar (spark-jobs/dev-jobs), never on the CLI's classpath. */
async function main(): Promise<void> {
  const { conf, statements } = JSON.parse(process.argv[2]) as { conf: string[]; statements: string[] };
  const jobs = await SparkJobs.start({ master: 'local[2]', conf, jars: [DEV_JOBS_JAR] });
  const { importClassAsync } = await import('java-bridge');
  const tables = (await importClassAsync('io.sparksync.jobs.testing.TestTables')) as unknown as { sql(statements: string[]): Promise<void> };
  await tables.sql(statements);
  await jobs.stop();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`hive task failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
