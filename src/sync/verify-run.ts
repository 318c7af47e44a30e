import { VerifyConfig } from '../config/verify-config';
import { CheckpointStore, FileCheckpoint } from '../checkpoint/checkpoint-store';
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
  /** Unexpected records the checkpoint holds for the file (found by a recovery), acknowledged or not. */
  unexpectedRecords: number;
  /** Rows sent to the dead-letter topic: neither missing nor duplicated. */
  deadLettered: number;
  /** No missing, no duplicated and no foreign keys in its range. */
  clean: boolean;
}

/** What `verify` found; the CLI prints it as its last stdout line. */
export interface VerifySummary {
  command: 'verify';
  /** Every file clean, and no record outside the files' ranges (`unaccounted`). */
  ok: boolean;
  topic: string;
  files: FileVerification[];
  /**
   * Records in the topic, from the first file's start on, that lie in no file's offset range:
   * written between files or after the last commit (by a fenced-off spark-sync, another producer,
   * or a file that was reset and synced again). Records past the checkpoint of an IN_PROGRESS
   * file are its cut-off batch, which the next submit recovers: they are counted in `pending`.
   */
  unaccounted: number;
  pending: number;
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
    let endOffsets: number[];
    try {
      endOffsets = await admin.endOffsets(config.topic);
    } finally {
      await admin.close();
    }
    const jobs = await deps.spark();
    const results: FileVerification[] = [];
    for (const f of files) {
      await jobs.describeJobs(`spark-sync: verify ${f.fileName} against ${config.topic}`);
      const audit = await jobs.auditFile({
        path: f.sourcePath, format: f.sourceFormat, fileIdentity: f.fileName, rows: f.recordsProcessed, topic: config.topic,
        kafkaConf: config.kafkaConf, from: f.startOffsets!, to: f.partitionOffsets!,
      });
      // Dead-lettered rows are not in the topic by design: not missing (the checkpoint counted each
      // as it went to the dead-letter topic).
      const missing = Math.max(0, audit.missing - f.deadLettered);
      const clean = missing === 0 && audit.duplicated === 0 && audit.foreign === 0;
      const result = { file: f.fileName, status: f.status, ...audit, missing, unexpectedRecords: f.unexpectedRecords, deadLettered: f.deadLettered, clean };
      deps.log[clean ? 'info' : 'warn']({ file: f.fileName, source_rows: audit.sourceRows, messages: audit.messages, missing, duplicated: audit.duplicated, foreign: audit.foreign, dead_lettered: f.deadLettered, unexpected_records: f.unexpectedRecords }, clean ? 'file verified' : 'file has missing, duplicated or foreign records');
      results.push(result);
    }
    const outside = recordsOutsideFiles(files, endOffsets);
    if (outside.unaccounted > 0) deps.log.warn({ topic: config.topic, unaccounted: outside.unaccounted }, 'records in the topic that lie in no file\'s offset range');
    return { command: 'verify', ok: results.every((r) => r.clean) && outside.unaccounted === 0, topic: config.topic, files: results, ...outside, seconds: (Date.now() - started) / 1000 };
  } finally {
    await store.close();
  }
}

/**
 * Per partition, the records from the earliest file start to the end offset, less those inside
 * each file's committed range; what lies past an IN_PROGRESS file's checkpoint is `pending`.
 */
function recordsOutsideFiles(files: FileCheckpoint[], endOffsets: number[]): { unaccounted: number; pending: number } {
  let unaccounted = 0;
  let pending = 0;
  for (let p = 0; p < endOffsets.length; p++) {
    const starts = files.map((f) => f.startOffsets?.[p]).filter((o): o is number => o !== undefined);
    if (starts.length === 0) continue;
    let outside = endOffsets[p] - Math.min(...starts);
    for (const f of files) outside -= (f.partitionOffsets?.[p] ?? 0) - (f.startOffsets?.[p] ?? 0);
    const last = files.reduce((a, f) => ((f.partitionOffsets?.[p] ?? -1) > (a.partitionOffsets?.[p] ?? -1) ? f : a));
    // Past the furthest checkpoint of a file still IN_PROGRESS: its cut-off batch, not yet recovered.
    const cut = last.status === 'IN_PROGRESS' ? Math.max(0, endOffsets[p] - last.partitionOffsets![p]) : 0;
    pending += cut;
    unaccounted += Math.max(0, outside - cut);
  }
  return { unaccounted, pending };
}
