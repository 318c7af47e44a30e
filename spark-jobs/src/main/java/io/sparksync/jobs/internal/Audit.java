package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import io.sparksync.jobs.JobRequest;
import java.util.Arrays;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The audit of one file (DESIGN.md §2), the JVM half of {@code spark-sync verify}: the file's keys
 * computed again, joined with the keys in its offset ranges of the topic and with its dead letters
 * (found in the dead-letter topic by their headers). Spark does the join, so it scales with the
 * data; only a few counts reach the driver.
 *
 * <p>Two scopes. The range audit reads only the file's own offset ranges. The topic audit (the
 * patent's full join) reads every record of the topic and marks which lie in the file's ranges,
 * so a copy of the file's record anywhere else (written before its range began, by another run or
 * producer) counts as duplicated.
 *
 * <p>Offset ranges are flattened here: range r's partition p at {@code r·P + p}.
 */
public final class Audit {
  private Audit() {}

  /**
   * Rows {@code [0, source.rows)} of the request's file against the keys in its offset
   * {@code ranges} and its {@code deadLetters} ({@code topic@o0,o1,…} or empty); with
   * {@code topicFrom}, against every record of the topic up to {@code topicTo}, its ranges marked.
   *
   * @return {source rows, messages in the ranges, missing keys, duplicated keys (present more than
   *     once, in the topic or the dead-letter topic), foreign messages in the ranges (keys not of
   *     this file), rows found in the dead-letter topic, copies of the file's rows outside its
   *     ranges (topic scope; else 0)}
   */
  public static long[] file(SparkSession spark, JobRequest r) {
    KeyMode mode = KeyMode.of(new String[0], r.keys.messageKey, null);
    var source = KeyColumns.keyed(spark, r.source.path, r.source.format, r.source.identity, 0,
            r.source.rows)
        .select(col(KeyColumns.KEY), lit(true).as("in_source"));
    var kafka = KeyValues.parse(r.kafkaConf);
    Dataset<Row> found = r.topicFrom == null
        ? inRanges(spark, r.topic, kafka, r.topicTo.length, r.rangeFrom(), r.rangeTo(), mode)
        : identitiesInTopic(spark, r.topic, kafka, r.topicFrom, r.topicTo, r.rangeFrom(),
            r.rangeTo());
    return compare(source, withDeadLetters(spark, found, r.deadLetters, kafka, r.topic,
        r.source.identity, mode));
  }

  /**
   * The natural-key audit of a topic's files synced with the same {@code --key-fields} (the
   * request's {@code keys.keyFields}): every distinct identity of their rows against the
   * identities in their offset ranges, taken together (a row of one file may have been sent by
   * another: a replay is no record). Each of the request's {@code files} gives a file's source,
   * its ranges, its dead letters, and in {@code keys.messageKey} whether its identities travel in
   * the header {@code spark-sync.id}.
   *
   * @return as {@link #file}, for the files' distinct identities taken together
   */
  public static long[] naturalKeys(SparkSession spark, JobRequest r) {
    var kafka = KeyValues.parse(r.kafkaConf);
    long[] allFrom = r.files.stream().flatMapToLong(f -> java.util.Arrays.stream(f.rangeFrom()))
        .toArray();
    long[] allTo = r.files.stream().flatMapToLong(f -> java.util.Arrays.stream(f.rangeTo()))
        .toArray();
    Dataset<Row> identities = null;
    Dataset<Row> found = r.topicFrom == null ? null
        : identitiesInTopic(spark, r.topic, kafka, r.topicFrom, r.topicTo, allFrom, allTo);
    for (JobRequest f : r.files) {
      var ids = KeyColumns.identities(spark, f.source.path, f.source.format, r.keys.keyFields);
      identities = identities == null ? ids : identities.union(ids);
      KeyMode mode = f.keys.messageKey.length > 0 ? KeyMode.MESSAGE_KEYED : KeyMode.POSITIONAL;
      Dataset<Row> keys = r.topicFrom != null ? null
          : inRanges(spark, r.topic, kafka, r.topicTo.length, f.rangeFrom(), f.rangeTo(), mode);
      Dataset<Row> file = withDeadLetters(spark, keys, f.deadLetters, kafka, r.topic,
          f.source.identity, mode);
      found = found == null ? file : file == null ? found : found.union(file);
    }
    var source = identities.distinct().select(col(KeyColumns.KEY), lit(true).as("in_source"));
    return compare(source, found);
  }

  /** The identities in the ranges, each marked in range, not a dead letter. */
  private static Dataset<Row> inRanges(SparkSession spark, String topic, Map<String, String> kafka,
      int partitions, long[] rangeFrom, long[] rangeTo, KeyMode mode) {
    Dataset<Row> all = null;
    for (int r = 0; r * partitions < rangeFrom.length; r++) {
      Dataset<Row> keys = KafkaKeys.keysIn(spark, topic, kafka,
          Arrays.copyOfRange(rangeFrom, r * partitions, (r + 1) * partitions),
          Arrays.copyOfRange(rangeTo, r * partitions, (r + 1) * partitions), mode);
      all = all == null ? keys : all.union(keys);
    }
    return all.select(col(KeyColumns.KEY), lit(false).as("dead_letter"), lit(true).as("in_range"));
  }

  /** Every record of the topic, its identity, and whether it lies in one of the ranges. */
  private static Dataset<Row> identitiesInTopic(SparkSession spark, String topic,
      Map<String, String> kafka, long[] topicFrom, long[] topicTo, long[] rangeFrom,
      long[] rangeTo) {
    return KafkaKeys.identitiesMarked(spark, topic, kafka, topicFrom, topicTo, rangeFrom, rangeTo)
        .select(col(KeyColumns.KEY), lit(false).as("dead_letter"), col("in_range"));
  }

  /**
   * {@code found} and, for a file with a dead-letter topic, its dead letters there (marked), found
   * by their headers, not by a count. {@code found} may be null (the topic scope reads the topic
   * once for all files).
   */
  private static Dataset<Row> withDeadLetters(SparkSession spark, Dataset<Row> found,
      String deadLetters, Map<String, String> kafka, String topic, String fileIdentity,
      KeyMode mode) {
    if (deadLetters == null || deadLetters.isEmpty()) {
      return found;
    }
    int at = deadLetters.lastIndexOf('@');
    String dlq = deadLetters.substring(0, at);
    long[] dlqFrom = Arrays.stream(deadLetters.substring(at + 1).split(","))
        .mapToLong(Long::parseLong).toArray();
    Dataset<Row> letters = KafkaKeys.deadLetterKeysIn(spark, dlq, dlqFrom, kafka, topic,
        fileIdentity, mode).select(col(KeyColumns.KEY), lit(true).as("dead_letter"),
        lit(true).as("in_range"));
    return found == null ? letters : found.union(letters);
  }

  private static long[] compare(Dataset<Row> source, Dataset<Row> found) {
    var inKafka = found.groupBy(KeyColumns.KEY).agg(
        count(lit(1)).as("count"),
        sum(when(col("dead_letter").or(not(col("in_range"))), 0).otherwise(1)).as("in_topic"),
        sum(when(col("dead_letter"), 1).otherwise(0)).as("in_dead_letters"),
        sum(when(col("in_range"), 0).otherwise(1)).as("outside"));
    Row r = source.join(inKafka, source.col(KeyColumns.KEY).equalTo(inKafka.col(KeyColumns.KEY)),
            "full_outer")
        .agg(
            count(col("in_source")).as("source_rows"),
            coalesce(sum(col("in_topic")), lit(0L)).as("messages"),
            count(when(col("in_source").and(col("count").isNull()), 1)).as("missing"),
            count(when(col("in_source").and(col("count").gt(1)), 1)).as("duplicated"),
            coalesce(sum(when(col("in_source").isNull(), col("in_topic"))), lit(0L))
                .as("foreign"),
            coalesce(sum(when(col("in_source"), col("in_dead_letters"))), lit(0L))
                .as("dead_lettered"),
            coalesce(sum(when(col("in_source"), col("outside"))), lit(0L)).as("outside"))
        .first();
    return new long[] {r.getLong(0), r.getLong(1), r.getLong(2), r.getLong(3), r.getLong(4),
        r.getLong(5), r.getLong(6)};
  }
}
