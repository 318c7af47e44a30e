import { FORMATS } from '../config/source-format';
import { ErrorCode, SparkSyncError, firstLine } from './spark-sync-error';

const JOB_CODE = /SPARK_SYNC\[([A-Z_]+)\]: ([^\n]*)/;
/**
 * A JVM that lacks a class the job needs. On a cluster the task's deserialization fails first,
 * with "unread block data" or a lambda that "cannot assign instance of", before any class is
 * named; whatever wraps it (reading a file, writing a batch) is not the cause.
 */
const MISSING_CLASS = /(?:ClassNotFoundException|NoClassDefFoundError):? *(?:Class )?([\w.$/]+)|unread block data|cannot assign instance of java\.lang\.invoke\.SerializedLambda/;
/** A task that could not open its input: the driver saw the file when it planned it, an executor does not. */
const FILE_NOT_FOUND = /java\.io\.FileNotFoundException:? *([^\n]*)/;
const JAVA_CLASS = /\b((?:[a-z][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error))\b/;

const HINTS: Partial<Record<ErrorCode, string>> = {
  SOURCE_UNREADABLE: 'check the path and that it is a data file of the given --format',
  SOURCE_UNAVAILABLE: 'check that the namenode in the source URI is up and reachable, then rerun (safe to retry)',
  UNSUPPORTED_FORMAT: `pass --format (${FORMATS.join(', ')}), or keep only data files in the source`,
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
  const missing = MISSING_CLASS.exec(text);
  if (missing) {
    const what = missing[1] ? `class ${missing[1].replace(/\//g, '.')}` : `its task's classes (${missing[0]})`;
    return new SparkSyncError('CLASSPATH_INCOMPLETE', `${context} failed: a Spark JVM could not load ${what}, so the job's jars did not reach it`, {
      cause: err,
      javaClass,
      hint: 'with a cluster master spark-sync ships jars/spark/ship-to-executors.txt through spark.jars; check that the cluster runs Spark 3.5 with Scala 2.12, that executors can fetch from the driver, and that no --conf replaces spark.jars',
    });
  }
  const notFound = FILE_NOT_FOUND.exec(text);
  if (notFound && !JOB_CODE.test(text)) {
    return new SparkSyncError('SOURCE_UNREADABLE', `${context} failed: a Spark task could not open its file (${notFound[1].trim().slice(0, 300)})`, {
      cause: err,
      javaClass,
      hint: 'the file was moved or deleted, or, with a cluster master, it is not at the same path on every worker: use a shared mount or an hdfs:// URI; the checkpoint is as it was',
    });
  }
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
