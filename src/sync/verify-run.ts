import { VerifyConfig, VerifyScope } from '../config/verify-config';
import { CheckpointStore, CheckpointView, FileCheckpoint, readTopicState } from '../checkpoint/checkpoint-store';
import { SparkSyncError } from '../errors/spark-sync-error';
import { KafkaAdmin } from '../kafka/kafka-admin';
import { Logger } from '../log/logger';
import { AuditScope, DeadLetterRange, SparkJobs } from '../spark/spark-jobs';
import { OffsetRange, mergeRanges } from '../kafka/offset-range';


/** One file's audit: its keys against the messages in its offset range. */
export interface FileVerification {
  /** The file's identity, as `status` shows it. */
  file: string;
  /** Rows of the file audited (its committed rows). */
  sourceRows: number;
  /** Messages in the file's offset ranges. */
  messages: number;
  /** Rows with no message (in the topic or, for a dead letter, the dead-letter topic). */
  missing: number;
  /** Rows with more than one message (with the topic scope: anywhere in the topic). */
  duplicated: number;
  /** Messages in the file's ranges whose key is none of its rows'. */
  foreign: number;
  /** With the topic scope: copies of the file's records outside its ranges (counted in `duplicated`). */
  outsideRange: number;
  /** Its checkpoint status (`COMPLETED`, `IN_PROGRESS`). */
  status: string;
  /** Unexpected records the checkpoint holds for the file (found by a recovery), acknowledged or not. */
  unexpectedRecords: number;
  /**
   * Rows found in the file's dead-letter topic by their headers (file, position, topic): each is
   * the row's one copy, so neither missing nor duplicated. A row the checkpoint counts as
   * dead-lettered but the dead-letter topic lacks is missing.
   */
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
  /** Identities neither in the topic nor in the dead-letter topic. */
  missing: number;
  /** Identities with more than one message (with the topic scope: anywhere in the topic). */
  duplicated: number;
  /** Messages whose identity is no row of these files. */
  foreign: number;
  /** Identities found in the files' dead-letter topics. */
  deadLettered: number;
  /** With the topic scope: copies of the identities outside the files' ranges. */
  outsideRange: number;
  clean: boolean;
}

/** What `verify` found; the CLI prints it as its last stdout line. */
export interface VerifySummary {
  command: 'verify';
  /** Every file clean, and no record outside the files' ranges (`unaccounted`). */
  ok: boolean;
  topic: string;
  /** What each file was audited against: its own offset ranges, or every record of the topic. */
  scope: VerifyScope;
  /** Where the checkpoint was read: the checkpoint topic (authoritative), or the local file. */
  checkpoint: string;
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
export async function runVerify(config: VerifyConfig, deps: { log: Logger; spark: () => Promise<SparkJobs>; jvm: () => Promise<void> }): Promise<VerifySummary> {
  const started = Date.now();
  const admin = await KafkaAdmin.connect({ bootstrapServers: config.bootstrapServers, client: config.kafkaClient });
  let store: CheckpointStore | undefined;
  try {
    // The checkpoint topic's state is the authoritative one: what every machine's runs did.
    let view: CheckpointView | undefined;
    if (config.checkpointTopic) {
      await deps.jvm();
      view = await readTopicState({ name: config.checkpointTopic, target: config.topic, kafkaConf: config.kafkaConf, admin });
    }
    if (!view) view = store = await CheckpointStore.open(config.checkpoint, { create: false });
    const files = (await view.listFiles(config.topic)).filter((f) => f.startOffsets !== null);
    if (files.length === 0) {
      throw new SparkSyncError('USAGE', `the checkpoint (${view.where}) has no files synced to topic ${config.topic}`, { hint: 'check --topic, --checkpoint and --checkpoint-topic' });
    }
    const endOffsets = await admin.endOffsets(config.topic);
    const topicStart = config.scope === 'topic' ? await admin.startOffsets(config.topic) : null;
    const jobs = await deps.spark();
    const results: FileVerification[] = [];
    for (const f of files.filter((file) => !file.keyFields)) {
      await jobs.describeJobs(`spark-sync: verify ${f.fileName} against ${config.topic}${config.scope === 'topic' ? ' (whole topic)' : ''}`);
      const scope: AuditScope = { ranges: await fileRanges(view, f), topicStart, topicEnd: endOffsets };
      const audit = await jobs.auditFile({
        path: f.sourcePath, format: f.sourceFormat, fileIdentity: f.fileName, rows: f.recordsProcessed, topic: config.topic,
        kafkaConf: config.kafkaConf, scope, messageKey: f.messageKey, deadLetters: deadLettersOf(f),
      });
      const clean = audit.missing === 0 && audit.duplicated === 0 && audit.foreign === 0;
      const result = { file: f.fileName, status: f.status, ...audit, unexpectedRecords: f.unexpectedRecords, clean };
      deps.log[clean ? 'info' : 'warn']({ file: f.fileName, source_rows: audit.sourceRows, messages: audit.messages, missing: audit.missing, duplicated: audit.duplicated, foreign: audit.foreign, dead_lettered: audit.deadLettered, outside_range: audit.outsideRange, unexpected_records: f.unexpectedRecords }, clean ? 'file verified' : 'file has missing, duplicated or foreign records');
      results.push(result);
    }
    const natural = await verifyNaturalKeys(jobs, view, config, files, deps.log, topicStart, endOffsets);
    const outside = await recordsOutsideFiles(view, files, endOffsets);
    if (outside.unaccounted > 0) deps.log.warn({ topic: config.topic, unaccounted: outside.unaccounted }, 'records in the topic that lie in no file\'s offset range');
    const ok = results.every((r) => r.clean) && natural.every((n) => n.clean) && outside.unaccounted === 0;
    return { command: 'verify', ok, topic: config.topic, scope: config.scope, checkpoint: view.where, files: results, naturalKeys: natural, ...outside, seconds: (Date.now() - started) / 1000 };
  } finally {
    await store?.close();
    await admin.close();
  }
}

/**
 * Natural-key files, grouped by their key fields: each group's distinct identities against the
 * identities in its files' ranges. A file still IN_PROGRESS is left to `pending` and its next run.
 */
async function verifyNaturalKeys(jobs: SparkJobs, store: CheckpointView, config: VerifyConfig, files: FileCheckpoint[], log: Logger, topicStart: number[] | null, topicEnd: number[]): Promise<NaturalKeyVerification[]> {
  const groups = new Map<string, FileCheckpoint[]>();
  for (const f of files.filter((file) => file.keyFields && file.status === 'COMPLETED')) {
    const key = JSON.stringify(f.keyFields);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const out: NaturalKeyVerification[] = [];
  for (const group of groups.values()) {
    const keyFields = group[0].keyFields!;
    await jobs.describeJobs(`spark-sync: verify ${group.length} file(s) by --key-fields ${keyFields.join(',')} against ${config.topic}`);
    const withRanges = await Promise.all(group.map(async (f) => ({ f, ranges: await fileRanges(store, f) })));
    const audit = await jobs.auditNaturalKeys({
      files: withRanges.map(({ f, ranges }) => ({ path: f.sourcePath, format: f.sourceFormat, fileIdentity: f.fileName, messageKey: f.messageKey, ranges, deadLetters: deadLettersOf(f) })),
      keyFields, topic: config.topic, kafkaConf: config.kafkaConf, topicStart, topicEnd,
    });
    const clean = audit.missing === 0 && audit.duplicated === 0 && audit.foreign === 0;
    const result = { keyFields, files: group.map((f) => f.fileName), sourceIdentities: audit.sourceRows, messages: audit.messages, missing: audit.missing, duplicated: audit.duplicated, foreign: audit.foreign, deadLettered: audit.deadLettered, outsideRange: audit.outsideRange, clean };
    log[clean ? 'info' : 'warn']({ key_fields: keyFields, files: group.length, source_identities: audit.sourceRows, messages: audit.messages, missing: audit.missing, duplicated: audit.duplicated, foreign: audit.foreign, dead_lettered: audit.deadLettered, outside_range: audit.outsideRange },
      clean ? 'natural keys verified' : 'natural keys missing, duplicated or foreign');
    out.push(result);
  }
  return out;
}

/**
 * The offset ranges a file's committed records lie in: its batches' ranges, joined where one
 * continues the other (one range, unless another file wrote while it was cut off). A file with
 * no committed record yet has one empty range at its start.
 */
async function fileRanges(store: CheckpointView, f: FileCheckpoint): Promise<OffsetRange[]> {
  const ranges = mergeRanges((await store.listBatches(f.topic, f.fileName)).flatMap((b) => b.ranges));
  return ranges.length ? ranges : [{ from: f.startOffsets!, to: f.startOffsets! }];
}

/** Where a file's dead letters are, if it has used a dead-letter topic. */
function deadLettersOf(f: FileCheckpoint): DeadLetterRange | null {
  return f.deadLetterTopic && f.deadLetterOffsets ? { topic: f.deadLetterTopic, offsets: f.deadLetterOffsets } : null;
}

/**
 * Per partition, the records from the earliest file start to the end offset that lie in no
 * file's committed ranges. Those in an IN_PROGRESS file's tail, or past the checkpoint of the
 * file last written, are its cut-off batch, which its next submit recovers: `pending`.
 */
async function recordsOutsideFiles(store: CheckpointView, files: FileCheckpoint[], endOffsets: number[]): Promise<{ unaccounted: number; pending: number }> {
  const committed: OffsetRange[] = [];
  const cutOff: OffsetRange[] = [];
  for (const f of files) {
    committed.push(...(await store.listBatches(f.topic, f.fileName)).flatMap((b) => b.ranges));
    if (f.status === 'IN_PROGRESS') cutOff.push(...(f.tailRanges ?? []));
  }
  // A write still open (not sealed by a later run): what lies past it is its own, up to the end.
  const open = files.filter((f) => f.status === 'IN_PROGRESS' && (f.openFrom ?? (f.tailRanges === null ? f.partitionOffsets : null)));
  let unaccounted = 0;
  let pending = 0;
  for (let p = 0; p < endOffsets.length; p++) {
    const starts = files.map((f) => f.startOffsets?.[p]).filter((o): o is number => o !== undefined);
    if (starts.length === 0) continue;
    const first = Math.min(...starts);
    const inCommitted = committed.reduce((n, r) => n + Math.max(0, r.to[p] - r.from[p]), 0);
    const inTails = cutOff.reduce((n, r) => n + Math.max(0, r.to[p] - r.from[p]), 0);
    const openFrom = Math.min(...open.map((f) => (f.openFrom ?? f.partitionOffsets!)[p]), Infinity);
    const lastCovered = Math.max(first, ...committed.map((r) => r.to[p]), ...cutOff.map((r) => r.to[p]));
    const openTail = openFrom === Infinity ? 0 : Math.max(0, endOffsets[p] - Math.max(openFrom, lastCovered));
    const outside = endOffsets[p] - first - inCommitted - inTails - openTail;
    pending += inTails + openTail;
    unaccounted += Math.max(0, outside);
  }
  return { unaccounted, pending };
}
