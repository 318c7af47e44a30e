/**
 * What the checkpoint gives back, and how SQLite rows become it. Column names and their JSON
 * encodings are decoded here and nowhere else, so a reader of a `FileCheckpoint` never sees
 * snake_case or JSON text.
 */
import { FileStatus } from './file-state';
import { OffsetRange } from '../kafka/offset-range';

/** A file's checkpoint: the checkpoint record's fields plus what recovery needs. Offsets are per partition. */
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
  /** The dead-letter topic the file's too-large rows go to, once it has used one; else null. */
  deadLetterTopic: string | null;
  /** That topic's end offsets when the file first used it: the file's dead letters lie past them. */
  deadLetterOffsets: number[] | null;
  /** Records found in the file's offset range that are not its own rows; see `anomalies`. */
  unexpectedRecords: number;
  /** Where and when they were found, one entry per batch that found any. */
  anomalies: Anomaly[];
  /** How many of `unexpectedRecords` an operator has acknowledged (`reset --acknowledge`). */
  unexpectedAcknowledged: number;
  /** Where the file's uncommitted write began, while one may be running or was cut off; else null. */
  openFrom: number[] | null;
  /**
   * The ranges a cut-off write's records were sealed into when a later run took the topic (before
   * any other file wrote); empty when there is none, null in a checkpoint older than this field.
   */
  tailRanges: OffsetRange[] | null;
  /** Natural keys: replays counted batch by batch (`batch`), or once when the file started (`start`, older files). */
  replayAccounting: 'start' | 'batch';
  /** The version of the file's record in the checkpoint topic this state matches; null: never published. */
  kafkaVersion: { epoch: number; seq: number } | null;
  /** Changed here since it was last published to the checkpoint topic (a local-only run, or older than the topic). */
  localChanges: boolean;
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
  /** Where its records lie: one range, or two when another file wrote while it was cut off. */
  ranges: OffsetRange[];
  /** Natural keys: rows of the batch whose identity another file or run had sent. */
  replayed: number;
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
  // Absent in a checkpoint of an older schema opened read-only: read as null.
  dead_letter_topic?: string | null;
  dead_letter_offsets?: string | null;
  unexpected_records: number;
  anomalies: string | null;
  unexpected_acknowledged: number;
  open_from?: string | null;
  tail_ranges?: string | null;
  replay_accounting?: string;
  kafka_version?: string | null;
  local_changes?: number;
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
    deadLetterTopic: r.dead_letter_topic ?? null,
    deadLetterOffsets: r.dead_letter_offsets == null ? null : (JSON.parse(r.dead_letter_offsets) as number[]),
    unexpectedRecords: r.unexpected_records,
    anomalies: r.anomalies === null ? [] : (JSON.parse(r.anomalies) as Anomaly[]),
    unexpectedAcknowledged: r.unexpected_acknowledged,
    openFrom: r.open_from == null ? null : (JSON.parse(r.open_from) as number[]),
    tailRanges: r.tail_ranges == null ? null : (JSON.parse(r.tail_ranges) as OffsetRange[]),
    replayAccounting: r.replay_accounting === 'batch' ? 'batch' : 'start',
    kafkaVersion: r.kafka_version == null ? null : (JSON.parse(r.kafka_version) as { epoch: number; seq: number }),
    localChanges: (r.local_changes ?? 1) !== 0,
    updatedAt: r.updated_at,
  };
}

export function toBatchCheckpoint(r: BatchRow): BatchCheckpoint {
  const partitionCounts = JSON.parse(String(r.partition_counts)) as number[];
  const endOffsets = JSON.parse(String(r.end_offsets)) as number[];
  return {
    batchIndex: Number(r.batch_index),
    firstPosition: Number(r.first_position),
    endPosition: Number(r.end_position),
    partitionCounts,
    endOffsets,
    committedAt: String(r.committed_at),
    deadLettered: Number(r.dead_lettered ?? 0),
    unexpectedRecords: Number(r.unexpected_records ?? 0),
    // Written in one piece unless stored otherwise: the counts just before its end offsets.
    ranges: r.ranges == null ? [{ from: endOffsets.map((end, p) => end - partitionCounts[p]), to: endOffsets }] : (JSON.parse(String(r.ranges)) as OffsetRange[]),
    replayed: Number(r.replayed_records ?? 0),
  };
}

/** A file's checkpoint as a `files` row, every column (restoring it from the checkpoint topic). */
export function toFileRow(cp: FileCheckpoint): Record<string, string | number | null> {
  const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
  return {
    kafka_topic: cp.topic, file_name: cp.fileName, source_path: cp.sourcePath, source_format: cp.sourceFormat, status: cp.status,
    start_timestamp: cp.startTimestamp, completion_timestamp: cp.completionTimestamp, partition_count: cp.partitionCount,
    batch_size: cp.batchSize, start_offsets: json(cp.startOffsets), partition_offsets: json(cp.partitionOffsets),
    records_processed: cp.recordsProcessed, total_records: cp.totalRecords, hash_algorithm: cp.hashAlgorithm,
    key_fields: json(cp.keyFields), message_key: json(cp.messageKey), duplicate_records: cp.duplicateRecords, replayed_records: cp.replayedRecords,
    source_size: cp.sourceSizeBytes, source_mtime_ms: cp.sourceMtimeMs, pending_end_position: cp.pendingEndPosition,
    dead_lettered: cp.deadLettered, dead_letter_topic: cp.deadLetterTopic, dead_letter_offsets: json(cp.deadLetterOffsets),
    unexpected_records: cp.unexpectedRecords, anomalies: cp.anomalies.length ? JSON.stringify(cp.anomalies) : null,
    unexpected_acknowledged: cp.unexpectedAcknowledged, open_from: json(cp.openFrom), tail_ranges: json(cp.tailRanges),
    replay_accounting: cp.replayAccounting, kafka_version: json(cp.kafkaVersion), local_changes: cp.localChanges ? 1 : 0, updated_at: cp.updatedAt,
  };
}

/** A committed batch as a `batches` row. */
export function toBatchRow(topic: string, fileName: string, b: BatchCheckpoint): Record<string, string | number | null> {
  return {
    kafka_topic: topic, file_name: fileName, batch_index: b.batchIndex, first_position: b.firstPosition, end_position: b.endPosition,
    partition_counts: JSON.stringify(b.partitionCounts), end_offsets: JSON.stringify(b.endOffsets), committed_at: b.committedAt,
    dead_lettered: b.deadLettered, unexpected_records: b.unexpectedRecords, ranges: JSON.stringify(b.ranges), replayed_records: b.replayed,
  };
}
