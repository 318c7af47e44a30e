import { ErrorCode, SparkSyncError, firstLine } from './spark-sync-error';

const JOB_CODE = /SPARK_SYNC\[([A-Z_]+)\]: ([^\n]*)/;
const JAVA_CLASS = /\b((?:[a-z][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error))\b/;

const HINTS: Partial<Record<ErrorCode, string>> = {
  SOURCE_UNREADABLE: 'check the path and that it is a data file of the given --format',
  SOURCE_UNAVAILABLE: 'check that the namenode in the source URI is up and reachable, then rerun (safe to retry)',
  UNSUPPORTED_FORMAT: 'pass --format (parquet, orc, csv, json), or keep only data files in the source',
  USAGE: 'see `spark-sync submit --help`',
  KAFKA_UNAVAILABLE: 'check --bootstrap-server and that the broker is up, then rerun (safe to retry)',
  KAFKA_WRITE_FAILED: 'check the broker and the topic, then rerun: the checkpoint is consistent (safe to retry)',
  OFFSET_MISMATCH: 'another producer may be writing to the topic; stop it and check the topic before rerunning',
};

/**
 * Turns an exception that crossed the java-bridge into a typed SparkSyncError. A JobException's
 * message carries its code as `SPARK_SYNC[CODE]`, which survives whatever wrapping Spark adds
 * (a task failure nests the task's exception in a SparkException's text).
 */
export function fromJavaError(err: unknown, context: string): SparkSyncError {
  if (err instanceof SparkSyncError) return err;
  const text = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
  const javaClass = JAVA_CLASS.exec(text)?.[1];
  const coded = JOB_CODE.exec(text);
  if (coded) {
    const code = coded[1] as ErrorCode;
    return new SparkSyncError(code, coded[2].trim(), { cause: err, javaClass, hint: HINTS[code] });
  }
  return new SparkSyncError('INTERNAL', `${context} failed in the JVM: ${firstLine(text)}`, {
    cause: err,
    javaClass,
    hint: 'rerun with --verbose for the Java stack trace',
  });
}
