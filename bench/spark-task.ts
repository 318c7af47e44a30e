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
import os from 'node:os';
import path from 'node:path';
import { CheckpointStore, CheckpointTopic, DEFAULT_CHECKPOINT_TOPIC } from '../src/checkpoint/checkpoint-store';
import { sparkKafkaConf } from '../src/config/kafka-client-config';
import { KafkaAdmin } from '../src/kafka/kafka-admin';
import { SparkJobs } from '../src/spark/spark-jobs';
import { DEV_JOBS_JAR, benchJobs } from './bench-jobs';

export type SparkTask =
  | { task: 'write-samples'; fullFile: string; rows: number; tailFile: string; tailFirstRow: number }
  | { task: 'write-sample'; file: string; firstRow: number; rows: number }
  | { task: 'plain-sink'; file: string; rows: number; topic: string; bootstrap: string; conf?: string[]; producer?: string[]; master?: string; headers?: boolean; messageKey?: string[] }
  | { task: 'check-topic'; file: string; rows: number; topic: string; bootstrap: string; endOffsets: number[]; messageKey?: string[] }
  /** Writes `files` files' checkpoints (start, one batch, completion each) through the checkpoint topic, as a run would. */
  | { task: 'seed-checkpoints'; checkpoint: string; topic: string; bootstrap: string; files: number }
  /** Takes the topic's lease with a fresh local checkpoint: the restore of its state from the checkpoint topic, timed. */
  | { task: 'restore-checkpoints'; checkpoint: string; topic: string; bootstrap: string };

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
      await bench.plainSparkSink(t.file, 'parquet', path.basename(t.file), t.rows, t.topic, [...sparkKafkaConf([t.bootstrap]), ...(t.producer ?? [])], !!t.headers, t.messageKey ?? []);
      return {};
    case 'check-topic': {
      // Counted independently (all messages, distinct keys), then by spark-sync's audit.
      const conf = sparkKafkaConf([t.bootstrap]);
      const [messages, distinctKeys] = (await bench.topicTally(t.topic, conf)).map(Number);
      const a = await jobs.auditFile({ path: t.file, format: 'parquet', fileIdentity: path.basename(t.file), rows: t.rows, topic: t.topic, kafkaConf: conf, scope: { ranges: [{ from: t.endOffsets.map(() => 0), to: t.endOffsets }], topicStart: null, topicEnd: t.endOffsets }, messageKey: t.messageKey ?? null, deadLetters: null });
      return { messages, distinctKeys, missing: a.missing, duplicated: a.duplicated, foreign: a.foreign };
    }
    case 'seed-checkpoints': {
      const store = await storeWithTopic(t.checkpoint, t.topic, t.bootstrap);
      const started = Date.now();
      await store.acquireLease(t.topic, { id: 'bench-seed', host: os.hostname(), pid: process.pid }, 60_000);
      for (let i = 0; i < t.files; i++) {
        const name = `dt=2024-01-${String(i % 28 + 1).padStart(2, '0')}/part-${String(i).padStart(5, '0')}.parquet`;
        await store.startFile(t.topic, name, { sourcePath: `/bench/${name}`, sourceFormat: 'parquet', batchSize: 1000, startOffsets: [i * 1000, i * 1000], fingerprint: { sizeBytes: 1 << 20, mtimeMs: started, rows: 1000 }, keyFields: null, messageKey: null });
        await store.markPending(t.topic, name, 1000, [i * 1000, i * 1000]);
        await store.commitBatch(t.topic, name, { batchIndex: 0, firstPosition: 0, endPosition: 1000, partitionCounts: [500, 500], endOffsets: [i * 1000 + 500, i * 1000 + 500] });
        await store.completeFile(t.topic, name);
      }
      const seconds = (Date.now() - started) / 1000;
      await store.releaseLease(t.topic);
      await store.close();
      return { files: t.files, seconds, changes: 4 * t.files };
    }
    case 'restore-checkpoints': {
      const store = await storeWithTopic(t.checkpoint, t.topic, t.bootstrap);
      const started = Date.now();
      await store.acquireLease(t.topic, { id: 'bench-restore', host: os.hostname(), pid: process.pid }, 60_000);
      const seconds = (Date.now() - started) / 1000;
      const restored = store.reconcileSummary(t.topic)?.restored.length ?? 0;
      const files = (await store.listFiles(t.topic)).length;
      await store.releaseLease(t.topic);
      await store.close();
      return { restored, files, seconds };
    }
  }
}

/** A fresh or existing local checkpoint kept in step with the default checkpoint topic. */
async function storeWithTopic(checkpoint: string, topic: string, bootstrap: string): Promise<CheckpointStore> {
  const admin = await KafkaAdmin.connect({ bootstrapServers: [bootstrap] });
  try {
    const store = await CheckpointStore.open(checkpoint, { create: true });
    store.useCheckpointTopic(await CheckpointTopic.open({ name: DEFAULT_CHECKPOINT_TOPIC, target: topic, kafkaConf: sparkKafkaConf([bootstrap]), admin, create: true }));
    return store;
  } finally {
    await admin.close();
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
