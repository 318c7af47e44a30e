import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromJavaError } from '../../src/errors/java-errors';

/**
 * How failures that cross the bridge are named. The texts are the shapes Spark gives a task
 * failure on a cluster; the standalone cluster test causes the first one for real.
 */
const taskFailure = (cause: string) =>
  new Error(`org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage 3.0 failed 4 times, most recent failure: Lost task 0.3 in stage 3.0 (TID 7) (127.0.0.1 executor 1): ${cause}\n\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2856)`);

test('an executor that cannot load a class is a classpath problem (exit 2), not an unreadable file', () => {
  for (const cause of [
    'java.lang.IllegalStateException: unread block data',
    'java.lang.ClassNotFoundException: io.sparksync.jobs.internal.Slot',
    'java.lang.NoClassDefFoundError: org/apache/kafka/clients/producer/KafkaProducer',
  ]) {
    const err = fromJavaError(taskFailure(cause), 'writing rows 0–1000 of file:/data/x.parquet');
    assert.equal(err.code, 'CLASSPATH_INCOMPLETE', cause);
    assert.equal(err.exitCode, 2);
    assert.match(err.oneLine(), /could not load .*the job's jars did not reach it; .*spark\.jars/);
  }
  assert.match(fromJavaError(taskFailure('java.lang.NoClassDefFoundError: org/apache/kafka/clients/producer/KafkaProducer'), 'x').message, /class org\.apache\.kafka\.clients\.producer\.KafkaProducer/);
});

test('a task that cannot open its file names it and says why a cluster may not see it (exit 2)', () => {
  const err = fromJavaError(taskFailure('java.io.FileNotFoundException: File file:/mnt/shared/x.parquet does not exist'), 'writing rows 0–1000 of file:/mnt/shared/x.parquet');
  assert.equal(err.code, 'SOURCE_UNREADABLE');
  assert.equal(err.exitCode, 2);
  assert.match(err.oneLine(), /could not open its file \(File file:\/mnt\/shared\/x\.parquet does not exist\); .*same path on every worker/);
});

test('coded job failures keep their code', () => {
  const err = fromJavaError(new Error('SPARK_SYNC[KAFKA_UNAVAILABLE]: could not read the end offset of partition 0 of topic t within 30 s'), 'x');
  assert.equal(err.code, 'KAFKA_UNAVAILABLE');
  assert.equal(err.exitCode, 3);
});
