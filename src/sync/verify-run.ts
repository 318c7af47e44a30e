import { VerifyConfig } from '../config/verify-config';
import { CheckpointStore } from '../checkpoint/checkpoint-store';
import { SparkSyncError } from '../errors/spark-sync-error';
import { KafkaAdmin } from '../kafka/kafka-admin';
import { Logger } from '../log/logger';
import { FileAudit, SparkJobs } from '../spark/spark-jobs';


/** One file's audit: its keys against the messages in its offset range. */
export interface FileVerification extends FileAudit {
  /** The file's identity, as `status` shows it. */
  file: string;
  /** Its checkpoint status (`COMPLETED`, `IN_PROGRESS`). */
  status: string;
  /** No missing and no duplicated keys. */
  clean: boolean;
}

/** What `verify` found; the CLI prints it as its last stdout line. */
export interface VerifySummary {
  command: 'verify';
  /** No file has missing or duplicated keys (foreign messages are reported, not failed). */
  ok: boolean;
  topic: string;
  files: FileVerification[];
  seconds: number;
}

/**
 * `verify` (DESIGN.md §2, audit): for each file of the topic in the checkpoint, the keys of its
 * committed rows against the keys in its offset range. `ok` is false when any file has missing
 * or duplicated keys; foreign messages are reported but do not fail the audit.
 */
export async function runVerify(config: VerifyConfig, deps: { log: Logger; spark: () => Promise<SparkJobs> }): Promise<VerifySummary> {
  const started = Date.now();
  const store = await CheckpointStore.open(config.checkpoint, { create: false });
  try {
    const files = (await store.listFiles(config.topic)).filter((f) => f.startOffsets !== null);
    if (files.length === 0) {
      throw new SparkSyncError('USAGE', `the checkpoint ${store.file} has no files synced to topic ${config.topic}`, { hint: 'check --topic and --checkpoint' });
    }
    const admin = await KafkaAdmin.connect({ bootstrapServers: config.bootstrapServers, client: config.kafkaClient });
    await admin.close();
    const jobs = await deps.spark();
    const results: FileVerification[] = [];
    for (const f of files) {
      const audit = await jobs.auditFile({
        path: f.sourcePath, format: f.sourceFormat, fileIdentity: f.fileName, rows: f.recordsProcessed, topic: config.topic,
        kafkaConf: config.kafkaConf, from: f.startOffsets!, to: f.partitionOffsets!,
      });
      const result = { file: f.fileName, status: f.status, ...audit, clean: audit.missing === 0 && audit.duplicated === 0 };
      deps.log[result.clean ? 'info' : 'warn']({ file: f.fileName, source_rows: audit.sourceRows, messages: audit.messages, missing: audit.missing, duplicated: audit.duplicated, foreign: audit.foreign }, result.clean ? 'file verified' : 'file has missing or duplicated records');
      results.push(result);
    }
    return { command: 'verify', ok: results.every((r) => r.clean), topic: config.topic, files: results, seconds: (Date.now() - started) / 1000 };
  } finally {
    await store.close();
  }
}
