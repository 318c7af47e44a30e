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

/**
 * The natural-key audit of a topic's COMPLETED files synced with the same `--key-fields`, taken
 * together: a record is an identity, and a row of one file may have been sent by another.
 */
export interface NaturalKeyVerification {
  keyFields: string[];
  files: string[];
  /** Distinct identities of the files' rows. */
  sourceIdentities: number;
  /** Messages in the files' offset ranges. */
  messages: number;
  /** Identities with no message (less the rows sent to the dead-letter topic). */
  missing: number;
  /** Identities with more than one message. */
  duplicated: number;
  /** Messages whose identity is no row of these files. */
  foreign: number;
  deadLettered: number;
  clean: boolean;
}

/** What `verify` found; the CLI prints it as its last stdout line. */
export interface VerifySummary {
  command: 'verify';
  /** Every file clean, and no record outside the files' ranges (`unaccounted`). */
  ok: boolean;
  topic: string;
  /** Files synced with positional identities, each audited on its own. */
  files: FileVerification[];
  /** Files synced with `--key-fields`, audited by identity across files, one entry per key-field list. */
  naturalKeys: NaturalKeyVerification[];
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
    for (const f of files.filter((file) => !file.keyFields)) {
      await jobs.describeJobs(`spark-sync: verify ${f.fileName} against ${config.topic}`);
      const audit = await jobs.auditFile({
        path: f.sourcePath, format: f.sourceFormat, fileIdentity: f.fileName, rows: f.recordsProcessed, topic: config.topic,
        kafkaConf: config.kafkaConf, from: f.startOffsets!, to: f.partitionOffsets!, messageKey: f.messageKey,
      });
      // Dead-lettered rows are not in the topic by design: not missing (the checkpoint counted each
      // as it went to the dead-letter topic).
      const missing = Math.max(0, audit.missing - f.deadLettered);
      const clean = missing === 0 && audit.duplicated === 0 && audit.foreign === 0;
      const result = { file: f.fileName, status: f.status, ...audit, missing, unexpectedRecords: f.unexpectedRecords, deadLettered: f.deadLettered, clean };
      deps.log[clean ? 'info' : 'warn']({ file: f.fileName, source_rows: audit.sourceRows, messages: audit.messages, missing, duplicated: audit.duplicated, foreign: audit.foreign, dead_lettered: f.deadLettered, unexpected_records: f.unexpectedRecords }, clean ? 'file verified' : 'file has missing, duplicated or foreign records');
      results.push(result);
    }
    const natural = await verifyNaturalKeys(jobs, config, files, deps.log);
    const outside = recordsOutsideFiles(files, endOffsets);
    if (outside.unaccounted > 0) deps.log.warn({ topic: config.topic, unaccounted: outside.unaccounted }, 'records in the topic that lie in no file\'s offset range');
    const ok = results.every((r) => r.clean) && natural.every((n) => n.clean) && outside.unaccounted === 0;
    return { command: 'verify', ok, topic: config.topic, files: results, naturalKeys: natural, ...outside, seconds: (Date.now() - started) / 1000 };
  } finally {
    await store.close();
  }
}

/**
 * Natural-key files, grouped by their key fields: each group's distinct identities against the
 * identities in its files' ranges. A file still IN_PROGRESS is left to `pending` and its next run.
 */
async function verifyNaturalKeys(jobs: SparkJobs, config: VerifyConfig, files: FileCheckpoint[], log: Logger): Promise<NaturalKeyVerification[]> {
  const groups = new Map<string, FileCheckpoint[]>();
  for (const f of files.filter((file) => file.keyFields && file.status === 'COMPLETED')) {
    const key = JSON.stringify(f.keyFields);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const out: NaturalKeyVerification[] = [];
  for (const group of groups.values()) {
    const keyFields = group[0].keyFields!;
    await jobs.describeJobs(`spark-sync: verify ${group.length} file(s) by --key-fields ${keyFields.join(',')} against ${config.topic}`);
    const audit = await jobs.auditNaturalKeys({
      files: group.map((f) => ({ path: f.sourcePath, format: f.sourceFormat, messageKey: f.messageKey, from: f.startOffsets!, to: f.partitionOffsets! })),
      keyFields, topic: config.topic, kafkaConf: config.kafkaConf,
    });
    const deadLettered = group.reduce((n, f) => n + f.deadLettered, 0);
    const missing = Math.max(0, audit.missing - deadLettered);
    const clean = missing === 0 && audit.duplicated === 0 && audit.foreign === 0;
    const result = { keyFields, files: group.map((f) => f.fileName), sourceIdentities: audit.sourceRows, messages: audit.messages, missing, duplicated: audit.duplicated, foreign: audit.foreign, deadLettered, clean };
    log[clean ? 'info' : 'warn']({ key_fields: keyFields, files: group.length, source_identities: audit.sourceRows, messages: audit.messages, missing, duplicated: audit.duplicated, foreign: audit.foreign, dead_lettered: deadLettered },
      clean ? 'natural keys verified' : 'natural keys missing, duplicated or foreign');
    out.push(result);
  }
  return out;
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
