/**
 * The benchmark's Spark work, one task per child process: the orchestrator never starts a JVM
 * itself (with a JVM in-process, Node stops reaping its children, so it could not time them).
 * Step (b) runs here too, so it is measured like `spark-sync submit`: the same JVM start, Spark
 * settings and classpath (plus the development jobs' jar, which holds BenchJobs), then Spark's
 * own Kafka sink.
 *
 * Usage: node dist/bench/spark-task.js <task> '<json arguments>'; the result is the last
 * stdout line, as JSON.
 */
import path from 'node:path';
import { sparkKafkaConf } from '../src/config/kafka-client-config';
import { SparkJobs } from '../src/spark/spark-jobs';
import { DEV_JOBS_JAR, benchJobs } from './bench-jobs';

export type SparkTask =
  | { task: 'write-samples'; fullFile: string; rows: number; tailFile: string; tailFirstRow: number }
  | { task: 'write-sample'; file: string; firstRow: number; rows: number }
  | { task: 'plain-sink'; file: string; rows: number; topic: string; bootstrap: string; conf?: string[]; producer?: string[]; master?: string; headers?: boolean }
  | { task: 'check-topic'; file: string; rows: number; topic: string; bootstrap: string; endOffsets: number[] };

async function run(jobs: SparkJobs, t: SparkTask): Promise<Record<string, unknown>> {
  const bench = await benchJobs();
  switch (t.task) {
    case 'write-samples': {
      await jobs.writeSample(t.fullFile, { rows: t.rows });
      await jobs.writeSample(t.tailFile, { rows: t.rows - t.tailFirstRow, firstRow: t.tailFirstRow });
      return { recordBytes: Number(await bench.meanRecordBytes(t.fullFile, 'parquet', path.basename(t.fullFile), t.rows)) };
    }
    case 'write-sample':
      await jobs.writeSample(t.file, { rows: t.rows, firstRow: t.firstRow });
      return {};
    case 'plain-sink':
      await bench.plainSparkSink(t.file, 'parquet', path.basename(t.file), t.rows, t.topic, [...sparkKafkaConf([t.bootstrap]), ...(t.producer ?? [])], !!t.headers);
      return {};
    case 'check-topic': {
      // Counted independently (all messages, distinct keys), then by spark-sync's audit.
      const conf = sparkKafkaConf([t.bootstrap]);
      const [messages, distinctKeys] = (await bench.topicTally(t.topic, conf)).map(Number);
      const a = await jobs.auditFile({ path: t.file, format: 'parquet', fileIdentity: path.basename(t.file), rows: t.rows, topic: t.topic, kafkaConf: conf, from: t.endOffsets.map(() => 0), to: t.endOffsets, messageKey: null });
      return { messages, distinctKeys, missing: a.missing, duplicated: a.duplicated, foreign: a.foreign };
    }
  }
}

async function main(): Promise<void> {
  const task = { task: process.argv[2], ...JSON.parse(process.argv[3] ?? '{}') } as SparkTask;
  const jobs = await SparkJobs.start({
    master: ('master' in task && task.master) || 'local[*]', conf: 'conf' in task ? task.conf ?? [] : [], jars: [DEV_JOBS_JAR],
  });
  const result = await run(jobs, task);
  await jobs.stop();
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench task ${process.argv[2]} failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
