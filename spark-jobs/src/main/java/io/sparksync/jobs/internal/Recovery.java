package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.broadcast;

import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * The anti-join recovery write (DESIGN.md §2), the JVM half of the driver's recovery of a batch a
 * crash cut off. The driver first resumes such a batch as an ordered merge through the batch plan
 * ({@link Batches}, {@code resume}), which costs one batch; where a partition holds anything but
 * the batch's own first records, it falls back to this join, which handles any content.
 */
public final class Recovery {
  /** Up to this many keys (64 MB), a recovery join broadcasts the keys found in Kafka. */
  static final long BROADCAST_KEYS_MAX = 1_000_000L;

  private Recovery() {}

  /**
   * Appends after {@code keysTo} the rows at positions {@code [from, to)} whose key is not among
   * the keys at offsets {@code [keysFrom, keysTo)}, as one batch placed like any other.
   *
   * @return per partition: {partition, records written now, sent, skipped}
   */
  public static long[][] writeDelta(SparkSession spark, String path, String format,
      String fileIdentity, long from, long to, String topic, String[] kafkaConf, long[] keysFrom,
      long[] keysTo, KeyMode mode) {
    // A stop (cancelRunning) interrupts the writing tasks, even one blocked in a producer call.
    spark.sparkContext().setLocalProperty("spark.job.interruptOnCancel", "true");
    Map<String, String> kafka = KeyValues.parse(kafkaConf);
    var rows = KeyColumns.keyed(spark, path, format, fileIdentity, from, to, mode);
    var written = KafkaKeys.keysIn(spark, topic, kafka, keysFrom, keysTo, mode);
    long keys = 0;
    for (int p = 0; p < keysTo.length; p++) {
      keys += keysTo[p] - keysFrom[p];
    }
    if (keys <= BROADCAST_KEYS_MAX) {
      // Few keys (a window's, or a small file's) go to every task: the rows are joined where
      // they are read, with no shuffle of the rows for the join.
      written = broadcast(written);
    }
    var delta = rows.join(written,
        rows.col(KeyColumns.KEY).equalTo(written.col(KeyColumns.KEY)), "left_anti");
    var placed = BatchWriter.place(delta, keysTo.length, from, Math.max(1, to - from), 1, mode,
        fileIdentity);
    return BatchWriter.writeBatch(placed, 0, fileIdentity, topic, kafka, keysTo, false,
        RecordLimits.from(kafkaConf), mode);
  }
}
