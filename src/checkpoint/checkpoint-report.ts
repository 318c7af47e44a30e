import { FileCheckpoint } from './rows';
import { SourceCheck, checkSourceFile } from './source-fingerprint';

/** A file's checkpoint in the patent's structure (snake_case, offsets keyed by partition), plus what recovery keeps. */
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
  /** Records in the file's offset range that are not its own rows (duplicates or foreign). */
  unexpected_records: number;
  /** Of those, how many an operator acknowledged (`reset --acknowledge`). */
  unexpected_acknowledged: number;
  /** Where they were found: batch, offset ranges, when. */
  anomalies: Array<{ batch_index: number; records: number; from_offsets: Record<string, number>; to_offsets: Record<string, number>; found_by: string; found_at: string }>;
  /** Not checkpoint content: the source checked against the fingerprint as the status is shown. */
  source_check: SourceCheck;
}

export function toCheckpointRecord(cp: FileCheckpoint): CheckpointRecord {
  const byPartition = (offsets: number[] | null) => Object.fromEntries((offsets ?? []).map((o, p) => [String(p), o]));
  return {
    file_name: cp.fileName,
    status: cp.status,
    start_timestamp: cp.startTimestamp,
    completion_timestamp: cp.completionTimestamp,
    kafka_topic: cp.topic,
    partition_offsets: byPartition(cp.partitionOffsets),
    total_records: cp.totalRecords,
    records_processed: cp.recordsProcessed,
    hash_algorithm: cp.hashAlgorithm,
    start_offsets: byPartition(cp.startOffsets),
    partition_count: cp.partitionCount,
    batch_size: cp.batchSize,
    source_path: cp.sourcePath,
    source_format: cp.sourceFormat,
    source_fingerprint: {
      size_bytes: cp.sourceSizeBytes,
      modification_time: cp.sourceMtimeMs === null ? null : new Date(cp.sourceMtimeMs).toISOString(),
      rows: cp.totalRecords,
    },
    key_fields: cp.keyFields,
    message_key: cp.messageKey,
    duplicate_records: cp.duplicateRecords,
    replayed_records: cp.replayedRecords,
    dead_lettered: cp.deadLettered,
    unexpected_records: cp.unexpectedRecords,
    unexpected_acknowledged: cp.unexpectedAcknowledged,
    anomalies: cp.anomalies.map((a) => ({
      batch_index: a.batchIndex, records: a.records, from_offsets: byPartition(a.fromOffsets), to_offsets: byPartition(a.toOffsets), found_by: a.foundBy, found_at: a.foundAt,
    })),
    source_check: checkSourceFile(cp),
  };
}
