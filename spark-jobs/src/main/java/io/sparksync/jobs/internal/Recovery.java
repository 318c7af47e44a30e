package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.broadcast;

import io.sparksync.jobs.JobRequest;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
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
   * Appends at {@code writeFrom} (the topic's end offsets: the key window's end, or past it when
   * other files wrote after it) the rows at positions {@code [from, to)} whose key is not among
   * the keys in the request's {@code ranges}, as one batch placed like any other.
   *
   * @return per partition: {partition, records written now, sent, skipped, dead-lettered, replayed}
   */
  public static long[][] writeDelta(SparkSession spark, JobRequest r) {
    // A stop (cancelRunning) interrupts the writing tasks, even one blocked in a producer call.
    spark.sparkContext().setLocalProperty("spark.job.interruptOnCancel", "true");
    KeyMode mode = r.keyMode();
    Map<String, String> kafka = KeyValues.parse(r.kafkaConf);
    var rows = KeyColumns.keyed(spark, r.source.path, r.source.format, r.source.identity, r.from,
        r.to, mode);
    Dataset<Row> written = null;
    long keys = 0;
    for (JobRequest.OffsetRange range : r.ranges) {
      Dataset<Row> in = KafkaKeys.keysIn(spark, r.topic, kafka, range.from, range.to, mode);
      written = written == null ? in : written.union(in);
      for (int p = 0; p < range.to.length; p++) {
        keys += range.to[p] - range.from[p];
      }
    }
    if (keys <= BROADCAST_KEYS_MAX) {
      // Few keys (a window's, or a small file's) go to every task: the rows are joined where
      // they are read, with no shuffle of the rows for the join.
      written = broadcast(written);
    }
    var delta = rows.join(written,
        rows.col(KeyColumns.KEY).equalTo(written.col(KeyColumns.KEY)), "left_anti");
    var placed = BatchWriter.place(delta, r.writeFrom.length, r.from, Math.max(1, r.to - r.from), 1,
        mode, r.source.identity);
    return BatchWriter.writeBatch(placed, 0, r.source.identity, r.topic, kafka, r.writeFrom, false,
        true, RecordLimits.from(r.kafkaConf), mode);
  }
}
