package io.sparksync.jobs.internal;

import org.apache.spark.sql.SparkSession;

/**
 * The batch plan of the file being synced, the JVM half of the driver's batch loop: the driver
 * syncs one file at a time, batch after batch, so one {@link BatchPlan} is kept, and consecutive
 * batches of the same file reuse its read, keys and shuffle. A batch the plan does not hold
 * (another file or format, another position, a changed size or modification time) gets a new one.
 */
public final class Batches {
  private final SparkSession spark;
  private BatchPlan plan;

  public Batches(SparkSession spark) {
    this.spark = spark;
  }

  /**
   * Writes the batch of {@code batchSize} rows at {@code from}, planning it first unless the
   * current plan holds it; see {@link BatchWriter#writeBatch} for {@code resume} and the result.
   */
  public long[][] write(String path, String format, String fileIdentity, long from,
      long batchSize, long fileRows, String topic, String[] kafkaConf, long[] batchStartOffsets,
      boolean resume, KeyMode mode) {
    // A stop (cancelRunning) interrupts the writing tasks, even one blocked in a producer call.
    spark.sparkContext().setLocalProperty("spark.job.interruptOnCancel", "true");
    if (DirectWriter.applies(format, mode)) {
      plan = null;
      return DirectWriter.writeBatch(spark, path, format, fileIdentity, from,
          Math.min(fileRows, from + batchSize), topic, KeyValues.parse(kafkaConf),
          batchStartOffsets, resume, RecordLimits.from(kafkaConf));
    }
    plan = BatchPlan.forBatch(plan, spark, path, format, fileIdentity, fileRows, batchSize,
        batchStartOffsets.length, mode, SourceFiles.stat(spark, path), from);
    return plan.write(from, topic, KeyValues.parse(kafkaConf), batchStartOffsets, resume,
        RecordLimits.from(kafkaConf));
  }
}
