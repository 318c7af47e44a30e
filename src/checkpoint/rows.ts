/**
 * What the checkpoint gives back, and how SQLite rows become it. Column names and their JSON
 * encodings are decoded here and nowhere else, so a reader of a `FileCheckpoint` never sees
 * snake_case or JSON text.
 */
import { FileStatus } from './file-state';

/** A file's checkpoint: the patent's fields plus what recovery needs. Offsets are per partition. */
export interface FileCheckpoint {
  topic: string;
  fileName: string;
  sourcePath: string;
  sourceFormat: string;
  status: FileStatus;
  startTimestamp: string | null;
  completionTimestamp: string | null;
  partitionCount: number | null;
  batchSize: number;
  startOffsets: number[] | null;
  partitionOffsets: number[] | null;
  recordsProcessed: number;
  totalRecords: number | null;
  hashAlgorithm: string;
  /** The natural-key fields (`--key-fields`), or null: the identity hashes every field, the file and the position. */
  keyFields: string[] | null;
  /** The columns whose text is the Kafka message key (`--message-key`), or null: the identity is the key. */
  messageKey: string[] | null;
  /** Natural-key mode: rows dropped because an earlier row of this file had the same identity. */
  duplicateRecords: number;
  /** Natural-key mode: rows not sent because the topic already had their identity from an earlier file or run. */
  replayedRecords: number;
  sourceSizeBytes: number | null;
  sourceMtimeMs: number | null;
  /** End position (exclusive) of the batch being written, or null between batches. */
  pendingEndPosition: number | null;
  /** Rows Kafka refused as too large, sent to the dead-letter topic instead. */
  deadLettered: number;
  /** Records found in the file's offset range that are not its own rows; see `anomalies`. */
  unexpectedRecords: number;
  /** Where and when they were found, one entry per batch that found any. */
  anomalies: Anomaly[];
  /** How many of `unexpectedRecords` an operator has acknowledged (`reset --acknowledge`). */
  unexpectedAcknowledged: number;
  updatedAt: string;
}

/**
 * Records a batch found in its offset range that are not the file's own missing rows: copies of
 * its keys, or records another producer (or a fenced-off spark-sync) wrote. Kafka cannot take
 * them back; the checkpoint keeps them so `status` and `verify` show them.
 */
export interface Anomaly {
  batchIndex: number;
  /** How many records beyond the batch's own rows. */
  records: number;
  /** Per partition, the range searched: from these offsets … */
  fromOffsets: number[];
  /** … to these (exclusive). */
  toOffsets: number[];
  /** How it was found: the recovery of a cut-off batch. */
  foundBy: 'recovery';
  foundAt: string;
}

/** One committed batch. */
export interface BatchCheckpoint {
  batchIndex: number;
  firstPosition: number;
  endPosition: number;
  partitionCounts: number[];
  endOffsets: number[];
  committedAt: string;
  deadLettered: number;
  unexpectedRecords: number;
}

/** A row of the `files` table as sqlite3 returns it (see schema.ts). */
export interface FileRow {
  kafka_topic: string;
  file_name: string;
  source_path: string;
  source_format: string;
  status: FileStatus;
  start_timestamp: string | null;
  completion_timestamp: string | null;
  partition_count: number | null;
  batch_size: number;
  start_offsets: string | null;
  partition_offsets: string | null;
  records_processed: number;
  total_records: number | null;
  hash_algorithm: string;
  key_fields: string | null;
  // Absent in a schema-3 checkpoint opened read-only (only a writer migrates): read as their defaults.
  message_key?: string | null;
  duplicate_records?: number;
  replayed_records?: number;
  source_size: number | null;
  source_mtime_ms: number | null;
  pending_end_position: number | null;
  dead_lettered: number;
  unexpected_records: number;
  anomalies: string | null;
  unexpected_acknowledged: number;
  updated_at: string;
}

/** A row of the `batches` table, loosely typed: every field is coerced as it is read. */
export type BatchRow = Record<string, string | number>;

export function toFileCheckpoint(r: FileRow): FileCheckpoint {
  const parse = (s: string | null) => (s === null ? null : (JSON.parse(s) as number[]));
  return {
    topic: r.kafka_topic,
    fileName: r.file_name,
    sourcePath: r.source_path,
    sourceFormat: r.source_format,
    status: r.status,
    startTimestamp: r.start_timestamp,
    completionTimestamp: r.completion_timestamp,
    partitionCount: r.partition_count,
    batchSize: r.batch_size,
    startOffsets: parse(r.start_offsets),
    partitionOffsets: parse(r.partition_offsets),
    recordsProcessed: r.records_processed,
    totalRecords: r.total_records,
    hashAlgorithm: r.hash_algorithm,
    keyFields: r.key_fields === null ? null : (JSON.parse(r.key_fields) as string[]),
    messageKey: r.message_key == null ? null : (JSON.parse(r.message_key) as string[]),
    duplicateRecords: r.duplicate_records ?? 0,
    replayedRecords: r.replayed_records ?? 0,
    sourceSizeBytes: r.source_size,
    sourceMtimeMs: r.source_mtime_ms,
    pendingEndPosition: r.pending_end_position,
    deadLettered: r.dead_lettered,
    unexpectedRecords: r.unexpected_records,
    anomalies: r.anomalies === null ? [] : (JSON.parse(r.anomalies) as Anomaly[]),
    unexpectedAcknowledged: r.unexpected_acknowledged,
    updatedAt: r.updated_at,
  };
}

export function toBatchCheckpoint(r: BatchRow): BatchCheckpoint {
  return {
    batchIndex: Number(r.batch_index),
    firstPosition: Number(r.first_position),
    endPosition: Number(r.end_position),
    partitionCounts: JSON.parse(String(r.partition_counts)) as number[],
    endOffsets: JSON.parse(String(r.end_offsets)) as number[],
    committedAt: String(r.committed_at),
    deadLettered: Number(r.dead_lettered ?? 0),
    unexpectedRecords: Number(r.unexpected_records ?? 0),
  };
}
