package io.sparksync.jobs.internal;

import java.util.Map;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

/**
 * The batches of one file from a starting position on, read, keyed and placed by one shuffle
 * ({@link BatchWriter#place}); the driver then writes them one batch at a time, committing its
 * checkpoint in between ({@link Batches} keeps the current plan). A plan covers at most
 * {@link #MAX_ROWS} rows (the shuffle output lives on local disk while the plan is used) and
 * {@link #MAX_SPARK_PARTITIONS} Spark partitions.
 */
final class BatchPlan {
  static final long MAX_ROWS = 4_000_000L;
  static final int MAX_SPARK_PARTITIONS = 2048;

  private final String path;
  private final String format;
  private final String fileIdentity;
  private final long fileRows;
  private final long batchSize;
  private final int kafkaPartitions;
  private final KeyMode mode;
  /** Size and modification time when planned: a changed file is never served from the plan. */
  private final long[] stamp;
  private final long from;
  private final long to;
  private final JavaPairRDD<Slot, Tuple2<byte[], byte[]>> placed;

  private BatchPlan(SparkSession spark, String path, String format, String fileIdentity,
      long fileRows, long batchSize, int kafkaPartitions, KeyMode mode, long[] stamp, long from) {
    this.path = path;
    this.mode = mode;
    this.format = format;
    this.fileIdentity = fileIdentity;
    this.fileRows = fileRows;
    this.batchSize = batchSize;
    this.kafkaPartitions = kafkaPartitions;
    this.stamp = stamp;
    this.from = from;
    long maxBatches = Math.max(1, Math.min(MAX_ROWS / batchSize,
        MAX_SPARK_PARTITIONS / kafkaPartitions));
    long batches = Math.min(maxBatches, (fileRows - from + batchSize - 1) / batchSize);
    this.to = Math.min(fileRows, from + batches * batchSize);
    this.placed = BatchWriter.place(
        KeyColumns.keyed(spark, path, format, fileIdentity, from, to, mode),
        kafkaPartitions, from, batchSize, (int) batches, mode, fileIdentity);
  }

  /** A plan starting at {@code from}, unless {@code current} already holds that batch. */
  static BatchPlan forBatch(BatchPlan current, SparkSession spark, String path,
      String format, String fileIdentity, long fileRows, long batchSize, int kafkaPartitions,
      KeyMode mode, long[] stamp, long from) {
    if (current != null && current.holds(path, format, fileIdentity, fileRows, batchSize,
        kafkaPartitions, mode, stamp, from)) {
      return current;
    }
    return new BatchPlan(spark, path, format, fileIdentity, fileRows, batchSize, kafkaPartitions,
        mode, stamp, from);
  }

  private boolean holds(String path, String format, String fileIdentity, long fileRows,
      long batchSize, int kafkaPartitions, KeyMode mode, long[] stamp, long position) {
    return this.path.equals(path) && this.format.equals(format) && this.mode.equals(mode)
        && this.fileIdentity.equals(fileIdentity) && this.fileRows == fileRows
        && this.batchSize == batchSize && this.kafkaPartitions == kafkaPartitions
        && this.stamp[0] == stamp[0] && this.stamp[1] == stamp[1]
        && position >= from && position < to && (position - from) % batchSize == 0;
  }

  /** Writes the batch starting at {@code position}; see {@link BatchWriter#writeBatch}. */
  long[][] write(long position, String topic, Map<String, String> kafkaProps,
      long[] batchStartOffsets, boolean resume, RecordLimits limits) {
    int batch = (int) ((position - from) / batchSize);
    return BatchWriter.writeBatch(placed, batch, fileIdentity, topic, kafkaProps,
        batchStartOffsets, resume, resume, limits, mode);
  }
}
