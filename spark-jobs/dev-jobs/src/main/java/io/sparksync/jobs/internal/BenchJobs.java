package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.countDistinct;
import static org.apache.spark.sql.functions.length;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.struct;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Benchmark-only jobs ({@code npm run bench}), never called by the CLI: the plain Spark Kafka sink
 * that spark-sync is compared with, and an independent count of what a topic holds.
 *
 * <p>Ships in the development jar ({@code jars/dev}), not the job jar. It sits in the job jar's
 * {@code internal} package so that it keys rows, reads topics and takes producer settings exactly
 * as the jobs do while those stay package-private; both jars are on the JVM's startup classpath,
 * one class loader, so the package is one at run time.
 */
public final class BenchJobs {
  private BenchJobs() {}

  /**
   * Writes a file with Spark's own Kafka sink ({@code df.write.format("kafka")}): the same keys
   * and JSON values as spark-sync and the same producer settings, but no ordering, no checkpoint
   * and no retry check, so it is at-least-once. Returns the rows written.
   *
   * @param withHeaders also the lineage headers spark-sync writes with {@code --lineage-headers}
   *     (file identity and position): between the sink with and without them lies their cost
   * @param messageKey empty, or the columns of spark-sync's {@code --message-key}: the sink then
   *     writes their text as the Kafka key, partitioned by Kafka's own partitioner and in no
   *     particular order, which is what spark-sync's message-key mode is compared with
   */
  public static long plainSparkSink(String path, String format, String fileIdentity, long rows,
      String topic, String[] kafkaConf, boolean withHeaders, String[] messageKey) {
    SparkSession spark = SparkSession.active();
    KeyMode mode = KeyMode.of(null, messageKey, null);
    Dataset<Row> keyed = KeyColumns.keyed(spark, path, format, fileIdentity, 0, rows, mode);
    Column[] columns = {
        col(mode.messageKeyed() ? KeyColumns.MESSAGE_KEY : KeyColumns.KEY).as("key"),
        col(KeyColumns.VALUE).as("value")};
    if (withHeaders) {
      Column headers = array(
          struct(lit(TaskProducer.HEADER_FILE).as("key"),
              lit(fileIdentity.getBytes(StandardCharsets.UTF_8)).as("value")),
          struct(lit(TaskProducer.HEADER_POSITION).as("key"),
              col(SourceReader.POSITION).cast("string").cast("binary").as("value")));
      columns = new Column[] {columns[0], columns[1], headers.as("headers")};
    }
    DataFrameWriter<Row> writer = keyed.select(columns).write().format("kafka").option("topic", topic);
    for (Map.Entry<String, String> e : producerSettings(kafkaConf).entrySet()) {
      writer = writer.option("kafka." + e.getKey(), e.getValue());
    }
    writer.save();
    return rows;
  }

  /** {messages, distinct keys} over the whole topic, counted by Spark's Kafka batch source. */
  public static long[] topicTally(String topic, String[] kafkaConf) {
    Row r = KafkaKeys.topicReader(SparkSession.active(), topic, KeyValues.parse(kafkaConf))
        .option("startingOffsets", "earliest")
        .option("endingOffsets", "latest")
        .load().agg(count(col("key")), countDistinct(col("key"))).first();
    return new long[] {r.getLong(0), r.getLong(1)};
  }

  /** Mean bytes of key + value of a file's messages, so the producer ceiling sends the same size. */
  public static long meanRecordBytes(String path, String format, String fileIdentity, long rows) {
    Dataset<Row> keyed =
        KeyColumns.keyed(SparkSession.active(), path, format, fileIdentity, 0, rows);
    Row r = keyed.agg(avg(length(col(KeyColumns.KEY)).plus(length(col(KeyColumns.VALUE)))))
        .first();
    return Math.round(r.getDouble(0));
  }

  /** spark-sync's producer settings (acks=all, idempotence, linger, batch size) plus the given. */
  private static Map<String, String> producerSettings(String[] kafkaConf) {
    Map<String, String> m = new HashMap<>();
    PartitionWriter.producerProps(Map.of()).forEach((k, v) -> m.put((String) k, (String) v));
    m.putAll(KeyValues.parse(kafkaConf));
    return m;
  }
}
