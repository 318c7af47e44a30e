/**
 * spark-sync's public API. Everything a library user may rely on is exported here, and only
 * here; other modules are internal. Every type a public signature uses is exported too (a unit
 * test walks the declarations to keep it so).
 */
export { SparkSync } from './spark-sync';
export type { SparkSyncOptions, SparkSyncEvents, SubmitResult, OperationOptions, PreviewInput, ResetInput, ResetSummary, StatusInput } from './spark-sync';
export type { SparkOptionsInput } from './config/spark-options';
export type { Table } from 'apache-arrow';
export type { SubmitInput, RecoveryMode } from './config/submit-config';
export type { SourceInput } from './config/source-config';
export type { VerifyInput, VerifyScope } from './config/verify-config';
export type { SourceFormat, CsvOptions } from './config/source-format';
export type { SubmitSummary } from './sync/submit-run';
export type { DryRunSummary, PlannedFile } from './sync/dry-run';
export type { VerifySummary, FileVerification, NaturalKeyVerification } from './sync/verify-run';
export type { FileResult } from './sync/file-sync';
export type { SyncEvent } from './sync/sync-events';
export type { CheckpointRecord, FileState } from './checkpoint/checkpoint-report';
export type { SourceCheck } from './checkpoint/source-fingerprint';
export type { FileStatus } from './checkpoint/file-state';
export { SparkSyncError, ExitCode } from './errors/spark-sync-error';
export type { ErrorCode, ExitCodeValue, SparkSyncErrorOptions } from './errors/spark-sync-error';
export { hashKey, canonicalText, naturalKey, naturalCanonicalText, escapeField, partitionOfKey, partitionOfMessageKey, HASH_ALGORITHM } from './hash/hash-key';
export { createLogger } from './log/logger';
export type { Logger, LogFormat, LoggerOptions } from './log/logger';
