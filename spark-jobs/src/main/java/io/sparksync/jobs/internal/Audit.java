package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import java.util.Arrays;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The audit of one file (DESIGN.md §2), the JVM half of {@code spark-sync verify}: the file's keys
 * computed again, joined with the keys in its offset range of the topic. Spark does the join, so
 * it scales with the data; only five counts reach the driver.
 */
public final class Audit {
  private Audit() {}

  /**
   * Rows {@code [0, rows)} of a file against the keys at offsets {@code [from, to)} of the topic.
   *
   * @return {source rows, messages in the range, missing keys, duplicated keys (present more than
   *     once), foreign messages (keys not of this file)}
   */
  public static long[] file(SparkSession spark, String path, String format, String fileIdentity,
      long rows, String topic, String[] kafkaConf, long[] from, long[] to, KeyMode mode) {
    var source = KeyColumns.keyed(spark, path, format, fileIdentity, 0, rows)
        .select(col(KeyColumns.KEY), lit(true).as("in_source"));
    var inKafka = KafkaKeys.keysIn(spark, topic, KeyValues.parse(kafkaConf), from, to, mode)
        .groupBy(KeyColumns.KEY).count();
    return compare(source, inKafka);
  }

  /**
   * The natural-key audit of a topic's files synced with the same {@code --key-fields}: every
   * distinct identity of their rows against the identities in their offset ranges, taken
   * together (a row of one file may have been sent by another: a replay is no record).
   *
   * @param identityIn per file, where its identities are: {@code header} (a business message
   *     key) or {@code key}
   * @param from per file, its start offsets, flattened: file i's partition p at {@code i·P + p}
   * @return {distinct source identities, messages in the ranges, missing identities, duplicated
   *     identities, foreign messages}
   */
  public static long[] naturalKeys(SparkSession spark, String[] paths, String[] formats,
      String[] keyFields, String[] identityIn, String topic, String[] kafkaConf, long[] from,
      long[] to) {
    int partitions = from.length / paths.length;
    var kafka = KeyValues.parse(kafkaConf);
    Dataset<Row> identities = null;
    Dataset<Row> inKafka = null;
    for (int i = 0; i < paths.length; i++) {
      var ids = KeyColumns.identities(spark, paths[i], formats[i], keyFields);
      identities = identities == null ? ids : identities.union(ids);
      KeyMode mode = "header".equals(identityIn[i]) ? KeyMode.MESSAGE_KEYED : KeyMode.POSITIONAL;
      var keys = KafkaKeys.keysIn(spark, topic, kafka,
          Arrays.copyOfRange(from, i * partitions, (i + 1) * partitions),
          Arrays.copyOfRange(to, i * partitions, (i + 1) * partitions), mode);
      inKafka = inKafka == null ? keys : inKafka.union(keys);
    }
    var source = identities.distinct().select(col(KeyColumns.KEY), lit(true).as("in_source"));
    return compare(source, inKafka.groupBy(KeyColumns.KEY).count());
  }

  private static long[] compare(Dataset<Row> source, Dataset<Row> inKafka) {
    Row r = source.join(inKafka, source.col(KeyColumns.KEY).equalTo(inKafka.col(KeyColumns.KEY)),
            "full_outer")
        .agg(
            count(col("in_source")).as("source_rows"),
            coalesce(sum(col("count")), lit(0L)).as("messages"),
            count(when(col("in_source").and(col("count").isNull()), 1)).as("missing"),
            count(when(col("in_source").and(col("count").gt(1)), 1)).as("duplicated"),
            coalesce(sum(when(col("in_source").isNull(), col("count"))), lit(0L)).as("foreign"))
        .first();
    return new long[] {r.getLong(0), r.getLong(1), r.getLong(2), r.getLong(3), r.getLong(4)};
  }
}
