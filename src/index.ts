/**
 * spark-sync's public API. Everything a library user may rely on is exported here, and only
 * here; other modules are internal.
 */
export { SparkSync } from './spark-sync';
export type { SparkSyncOptions, SubmitResult, PreviewInput } from './spark-sync';
export type { Table } from 'apache-arrow';
export type { SubmitInput } from './config/submit-config';
export type { VerifyInput } from './config/verify-config';
export type { SourceFormat, CsvOptions } from './config/source-format';
export type { SubmitSummary } from './sync/submit-run';
export type { VerifySummary, FileVerification } from './sync/verify-run';
export type { FileResult } from './sync/file-sync';
export type { SyncEvent } from './sync/sync-events';
export type { CheckpointRecord } from './checkpoint/checkpoint-report';
export { SparkSyncError, ExitCode } from './errors/spark-sync-error';
export type { ErrorCode } from './errors/spark-sync-error';
export { hashKey, canonicalText, naturalKey, naturalCanonicalText, escapeField, partitionOfKey, partitionOfMessageKey, HASH_ALGORITHM } from './hash/hash-key';
export { createLogger } from './log/logger';
export type { Logger, LogFormat } from './log/logger';
