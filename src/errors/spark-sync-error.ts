/** Exit codes for shells and schedulers (DESIGN.md §4). */
export const ExitCode = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  UNAVAILABLE: 3,
  CONSISTENCY: 4,
  VERIFY_FAILED: 5,
  /** The checkpoint's disk is full: the checkpoint stays as of its last commit; free space, then rerun. */
  DISK_FULL: 6,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * The codes a Spark job raises (`io.sparksync.jobs.JobException.Code`), which cross the bridge
 * as a `SPARK_SYNC[CODE]` marker. A unit test reads the Java enum and fails when the two lists
 * differ, so neither side can add or rename one alone.
 */
export const JOB_ERROR_CODES = [
  'USAGE',
  'SOURCE_UNREADABLE',
  'SOURCE_UNAVAILABLE',
  'UNSUPPORTED_FORMAT',
  'OFFSET_MISMATCH',
  'RESUME_MISMATCH',
  'KAFKA_UNAVAILABLE',
  'KAFKA_WRITE_FAILED',
  'RECORD_TOO_LARGE',
  'NULL_MESSAGE_KEY',
  'LEASE_LOST',
  'KAFKA_NOT_AUTHORIZED',
] as const;

/** The codes only the driver raises. */
const DRIVER_ERROR_CODES = [
  'TOPIC_NOT_FOUND',
  'CHECKPOINT_INVALID',
  'INSTALL_INCOMPLETE',
  'CLASSPATH_INCOMPLETE',
  'KAFKA_AUTH_FAILED',
  'KAFKA_TLS_FAILED',
  'LEASE_HELD',
  'INTERRUPTED',
  'RECORDS_UNEXPECTED',
  'ROWS_UNACCOUNTED',
  'CHECKPOINT_DISK_FULL',
  'SOURCE_CHANGED',
  'KEY_MODE_CHANGED',
  'IDENTITY_INDEX_LOST',
  'INTERNAL',
] as const;

/** What went wrong, as a stable code: the driver's own and the Spark job's. */
export type ErrorCode = (typeof JOB_ERROR_CODES)[number] | (typeof DRIVER_ERROR_CODES)[number];

const EXIT_CODE_OF: Record<ErrorCode, ExitCodeValue> = {
  USAGE: ExitCode.USAGE,
  SOURCE_UNREADABLE: ExitCode.USAGE,
  /** An HDFS namenode or datanode that did not answer: retrying later may succeed. */
  SOURCE_UNAVAILABLE: ExitCode.UNAVAILABLE,
  UNSUPPORTED_FORMAT: ExitCode.USAGE,
  TOPIC_NOT_FOUND: ExitCode.USAGE,
  CHECKPOINT_INVALID: ExitCode.USAGE,
  INSTALL_INCOMPLETE: ExitCode.USAGE,
  /** A Spark JVM (an executor on a cluster) lacks the job's classes: a deployment problem. */
  CLASSPATH_INCOMPLETE: ExitCode.USAGE,
  KAFKA_UNAVAILABLE: ExitCode.UNAVAILABLE,
  /** Wrong credentials: a rerun fails the same way until a person fixes them. */
  KAFKA_AUTH_FAILED: ExitCode.USAGE,
  /** The broker's certificate is not trusted: a configuration problem, like wrong credentials. */
  KAFKA_TLS_FAILED: ExitCode.USAGE,
  /** An ACL refuses the principal a topic or transactional id: a person must grant it. */
  KAFKA_NOT_AUTHORIZED: ExitCode.USAGE,
  LEASE_HELD: ExitCode.UNAVAILABLE,
  KAFKA_WRITE_FAILED: ExitCode.UNAVAILABLE,
  /** A record Kafka would refuse as too large, with no dead-letter topic: a retry fails the same way. */
  RECORD_TOO_LARGE: ExitCode.USAGE,
  /** A row whose --message-key column is NULL: refused before anything of its file is sent. */
  NULL_MESSAGE_KEY: ExitCode.USAGE,
  /** An IN_PROGRESS file resumed with other --key-fields or --message-key than it started with. */
  KEY_MODE_CHANGED: ExitCode.USAGE,
  /** Another process took the topic's lease (this one was paused or cut off): it stopped writing. */
  LEASE_LOST: ExitCode.CONSISTENCY,
  /** Records in a file's offset range that are not its own rows (duplicates or foreign), kept in the checkpoint. */
  RECORDS_UNEXPECTED: ExitCode.CONSISTENCY,
  /** A batch's rows written + skipped + dead-lettered do not add up to its size: nothing was committed. */
  ROWS_UNACCOUNTED: ExitCode.CONSISTENCY,
  CHECKPOINT_DISK_FULL: ExitCode.DISK_FULL,
  INTERRUPTED: ExitCode.UNAVAILABLE,
  OFFSET_MISMATCH: ExitCode.CONSISTENCY,
  /** A natural-key index segment is gone and so are its records in Kafka (retention): a person decides. */
  IDENTITY_INDEX_LOST: ExitCode.CONSISTENCY,
  /** Caught by recovery, which falls back to the anti-join; never reaches the operator. */
  RESUME_MISMATCH: ExitCode.CONSISTENCY,
  SOURCE_CHANGED: ExitCode.CONSISTENCY,
  INTERNAL: ExitCode.INTERNAL,
};

export interface SparkSyncErrorOptions {
  /** What the operator can do about it; printed after the message. */
  hint?: string;
  cause?: unknown;
  /** The Java exception class, when the error came across the bridge. */
  javaClass?: string;
}

/**
 * The one error type spark-sync throws on purpose. `exitCode` is what the CLI exits with;
 * `retriable` says whether running the same command again may succeed without a person acting
 * (exit code 3). Messages say what happened and why; `hint` says what to do.
 */
export class SparkSyncError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  readonly retriable: boolean;
  readonly hint?: string;
  readonly javaClass?: string;

  constructor(code: ErrorCode, message: string, options: SparkSyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SparkSyncError';
    this.code = code;
    this.exitCode = EXIT_CODE_OF[code];
    this.retriable = this.exitCode === ExitCode.UNAVAILABLE;
    this.hint = options.hint;
    this.javaClass = options.javaClass;
  }

  /** The one line printed for this error: what, why, and what to do. */
  oneLine(): string {
    const text = this.hint ? `${this.message}; ${this.hint}` : this.message;
    return text.replace(/\s+/g, ' ').trim();
  }
}

/** Wraps anything thrown into a SparkSyncError, keeping one that already is. */
export function asSparkSyncError(err: unknown): SparkSyncError {
  if (err instanceof SparkSyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SparkSyncError('INTERNAL', `internal error: ${firstLine(message)}`, {
    cause: err,
    hint: 'this is a bug in spark-sync; rerun with --verbose and report the output',
  });
}

export function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim().length > 0) ?? text;
  return line.trim();
}
