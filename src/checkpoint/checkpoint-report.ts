import { FileCheckpoint } from './rows';
import { SourceCheck, checkSourceFile } from './source-fingerprint';

/** A file's checkpoint record (snake_case, offsets keyed by partition), plus what recovery keeps. */
export interface CheckpointRecord {
  file_name: string;
  status: string;
  start_timestamp: string | null;
  completion_timestamp: string | null;
  kafka_topic: string;
  partition_offsets: Record<string, number>;
  total_records: number | null;
  records_processed: number;
  hash_algorithm: string;
  start_offsets: Record<string, number>;
  partition_count: number | null;
  batch_size: number;
  source_path: string;
  source_format: string;
  source_fingerprint: { size_bytes: number | null; modification_time: string | null; rows: number | null };
  key_fields: string[] | null;
  /** The columns whose text is the Kafka message key; null when the hash identity is the key. */
  message_key: string[] | null;
  /** Natural-key mode: rows dropped as duplicates of an earlier row of the same file. */
  duplicate_records: number;
  /** Natural-key mode: rows not sent because the topic already had their identity. */
  replayed_records: number;
  /** Rows Kafka refused as too large, sent to the dead-letter topic. */
  dead_lettered: number;
  /** The dead-letter topic the file uses. */
  dead_letter_topic: string | null;
  /** Records in the file's offset range that are not its own rows (duplicates or foreign). */
  unexpected_records: number;
  /** Of those, how many an operator acknowledged (`reset --acknowledge`). */
  unexpected_acknowledged: number;
  /** Where they were found: batch, offset ranges, when. */
  anomalies: Array<{ batch_index: number; records: number; from_offsets: Record<string, number>; to_offsets: Record<string, number>; found_by: string; found_at: string }>;
  /** Not checkpoint content: the source checked against the fingerprint as the status is shown. */
  source_check: SourceCheck;
}

/**
 * A file's checkpoint as the library gives it (`SparkSync.status`): the checkpoint record's fields and what
 * recovery keeps, in camelCase, offsets per partition as arrays. The CLI prints the same as
 * {@link CheckpointRecord}.
 */
export interface FileState {
  topic: string;
  file: string;
  status: string;
  startedAt: string | null;
  completedAt: string | null;
  partitionCount: number | null;
  batchSize: number;
  /** Per partition, the topic's end offset when the file started. */
  startOffsets: number[];
  /** Per partition, the end offset after the file's last committed batch. */
  partitionOffsets: number[];
  recordsProcessed: number;
  totalRecords: number | null;
  hashAlgorithm: string;
  sourcePath: string;
  sourceFormat: string;
  sourceFingerprint: { sizeBytes: number | null; modificationTime: string | null; rows: number | null };
  keyFields: string[] | null;
  messageKey: string[] | null;
  duplicateRecords: number;
  replayedRecords: number;
  deadLettered: number;
  deadLetterTopic: string | null;
  unexpectedRecords: number;
  unexpectedAcknowledged: number;
  anomalies: Array<{ batchIndex: number; records: number; fromOffsets: number[]; toOffsets: number[]; foundBy: string; foundAt: string }>;
  /** Not checkpoint content: the source checked against the fingerprint as the status is read. */
  sourceCheck: SourceCheck;
}

export function toFileState(cp: FileCheckpoint): FileState {
  return {
    topic: cp.topic,
    file: cp.fileName,
    status: cp.status,
    startedAt: cp.startTimestamp,
    completedAt: cp.completionTimestamp,
    partitionCount: cp.partitionCount,
    batchSize: cp.batchSize,
    startOffsets: cp.startOffsets ?? [],
    partitionOffsets: cp.partitionOffsets ?? [],
    recordsProcessed: cp.recordsProcessed,
    totalRecords: cp.totalRecords,
    hashAlgorithm: cp.hashAlgorithm,
    sourcePath: cp.sourcePath,
    sourceFormat: cp.sourceFormat,
    sourceFingerprint: {
      sizeBytes: cp.sourceSizeBytes,
      modificationTime: cp.sourceMtimeMs === null ? null : new Date(cp.sourceMtimeMs).toISOString(),
      rows: cp.totalRecords,
    },
    keyFields: cp.keyFields,
    messageKey: cp.messageKey,
    duplicateRecords: cp.duplicateRecords,
    replayedRecords: cp.replayedRecords,
    deadLettered: cp.deadLettered,
    deadLetterTopic: cp.deadLetterTopic,
    unexpectedRecords: cp.unexpectedRecords,
    unexpectedAcknowledged: cp.unexpectedAcknowledged,
    anomalies: cp.anomalies.map((a) => ({ batchIndex: a.batchIndex, records: a.records, fromOffsets: a.fromOffsets, toOffsets: a.toOffsets, foundBy: a.foundBy, foundAt: a.foundAt })),
    sourceCheck: checkSourceFile(cp),
  };
}

/** The CLI's `status --json` record of a file: the checkpoint record, snake_case, offsets keyed by partition. */
export function checkpointRecord(f: FileState): CheckpointRecord {
  const byPartition = (offsets: number[]) => Object.fromEntries(offsets.map((o, p) => [String(p), o]));
  return {
    file_name: f.file,
    status: f.status,
    start_timestamp: f.startedAt,
    completion_timestamp: f.completedAt,
    kafka_topic: f.topic,
    partition_offsets: byPartition(f.partitionOffsets),
    total_records: f.totalRecords,
    records_processed: f.recordsProcessed,
    hash_algorithm: f.hashAlgorithm,
    start_offsets: byPartition(f.startOffsets),
    partition_count: f.partitionCount,
    batch_size: f.batchSize,
    source_path: f.sourcePath,
    source_format: f.sourceFormat,
    source_fingerprint: { size_bytes: f.sourceFingerprint.sizeBytes, modification_time: f.sourceFingerprint.modificationTime, rows: f.sourceFingerprint.rows },
    key_fields: f.keyFields,
    message_key: f.messageKey,
    duplicate_records: f.duplicateRecords,
    replayed_records: f.replayedRecords,
    dead_lettered: f.deadLettered,
    dead_letter_topic: f.deadLetterTopic,
    unexpected_records: f.unexpectedRecords,
    unexpected_acknowledged: f.unexpectedAcknowledged,
    anomalies: f.anomalies.map((a) => ({
      batch_index: a.batchIndex, records: a.records, from_offsets: byPartition(a.fromOffsets), to_offsets: byPartition(a.toOffsets), found_by: a.foundBy, found_at: a.foundAt,
    })),
    source_check: f.sourceCheck,
  };
}

export function toCheckpointRecord(cp: FileCheckpoint): CheckpointRecord {
  return checkpointRecord(toFileState(cp));
}
