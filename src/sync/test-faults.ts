import { SparkJobs } from '../spark/spark-jobs';

/**
 * Test-only crash points, so crash tests can kill the process at a named moment:
 * `SPARK_SYNC_TEST_CRASH_AT=<point>@<batch index>` SIGKILLs this process there,
 * `SPARK_SYNC_TEST_TASK_FAILURE_AT=<batch index>` fails one Spark task once mid-write, and
 * `SPARK_SYNC_TEST_PAUSE_BEFORE_BATCH=<batch index>:<ms>` waits there, after logging
 * `test pause`, so a test can break something (an HDFS datanode) at a known moment. Unset in
 * normal runs, where every check below is one string comparison.
 */
export type CrashPoint =
  /** After the batch is marked pending, before anything is sent. */
  | 'before-batch'
  /** Inside a Spark task, after part of its partition was sent. */
  | 'mid-batch'
  /** After Kafka acknowledged the batch and the offsets were checked, before the checkpoint commit. */
  | 'after-ack'
  /** Inside a Spark task of a recovery (delta) write. */
  | 'recovery-write'
  /** Natural-key mode: after the batch's checkpoint commit, before its identity-index segment. */
  | 'before-index';

/**
 * Records a task sends before an in-task fault fires: 300, or `SPARK_SYNC_TEST_CRASH_AFTER_RECORDS`
 * (the benchmark cuts a batch about halfway).
 */
function inTaskAfterRecords(): number {
  const n = Number(armedAt('SPARK_SYNC_TEST_CRASH_AFTER_RECORDS'));
  return Number.isSafeInteger(n) && n > 0 ? n : 300;
}

function armedAt(variable: string): string | undefined {
  return process.env[variable]?.trim() || undefined;
}

/** Call at each crash point; kills the process (or arms the in-task kill) when asked to. */
export async function crashPoint(point: CrashPoint, batchIndex: number, jobs: SparkJobs): Promise<void> {
  const spec = armedAt('SPARK_SYNC_TEST_CRASH_AT');
  if (spec === undefined || spec !== `${point}@${batchIndex}`) return;
  if (point === 'mid-batch' || point === 'recovery-write') {
    await jobs.armTestFault('kill', inTaskAfterRecords());
  } else {
    process.kill(process.pid, 'SIGKILL');
  }
}

/** Before a batch's write: arms a one-time task failure when asked to. */
async function taskFailurePoint(batchIndex: number, jobs: SparkJobs): Promise<void> {
  if (armedAt('SPARK_SYNC_TEST_TASK_FAILURE_AT') === String(batchIndex)) {
    await jobs.armTestFault('fail', inTaskAfterRecords());
  }
}

/** Before a batch's write (and so before its plan reads the file): waits when asked to. */
async function pausePoint(batchIndex: number): Promise<void> {
  const spec = armedAt('SPARK_SYNC_TEST_PAUSE_BEFORE_BATCH');
  const [batch, ms] = (spec ?? '').split(':').map(Number);
  if (spec === undefined || batch !== batchIndex || !(ms > 0)) return;
  process.stderr.write(JSON.stringify({ level: 30, time: new Date().toISOString(), msg: 'test pause', batch, ms }) + '\n');
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Every test switch that acts between marking a batch pending and writing it, in order. */
export async function beforeBatchWrite(batchIndex: number, jobs: SparkJobs): Promise<void> {
  await crashPoint('before-batch', batchIndex, jobs);
  await crashPoint('mid-batch', batchIndex, jobs);
  await taskFailurePoint(batchIndex, jobs);
  await pausePoint(batchIndex);
}
