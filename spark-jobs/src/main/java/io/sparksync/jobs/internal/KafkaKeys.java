package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;

import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** The message keys already in a topic's offset ranges, read by Spark's Kafka batch source. */
final class KafkaKeys {
  private KafkaKeys() {}

  /**
   * Keys of the messages at offsets {@code [from[p], to[p])} of every partition p, as one column
   * {@link KeyColumns#KEY}. Read in parallel by partition; nothing is collected to the driver.
   */
  static Dataset<Row> keysIn(SparkSession spark, String topic, Map<String, String> kafkaProps,
      long[] from, long[] to) {
    return keysIn(spark, topic, kafkaProps, from, to, KeyMode.POSITIONAL);
  }

  /**
   * The identities of the messages at offsets {@code [from[p], to[p])}: the message key, or with
   * a business message key ({@code --message-key}) the header {@link KeyMode#HEADER_ID}.
   */
  static Dataset<Row> keysIn(SparkSession spark, String topic, Map<String, String> kafkaProps,
      long[] from, long[] to, KeyMode mode) {
    DataFrameReader reader = topicReader(spark, topic, kafkaProps)
        .option("startingOffsets", offsetsJson(topic, from))
        .option("endingOffsets", offsetsJson(topic, to))
        .option("failOnDataLoss", "true");
    if (!mode.messageKeyed()) {
      return reader.load().select(col("key").cast("string").as(KeyColumns.KEY));
    }
    return reader.option("includeHeaders", "true").load()
        .select(idHeader(1).as(KeyColumns.KEY));
  }

  /**
   * The identities of {@code fileIdentity}'s rows meant for {@code topic} that the dead-letter
   * topic holds from {@code from} on (where the file's dead letters begin), by their headers:
   * the key, or with a business message key the header {@link KeyMode#HEADER_ID}.
   */
  static Dataset<Row> deadLetterKeysIn(SparkSession spark, String deadLetterTopic, long[] from,
      Map<String, String> kafkaProps, String topic, String fileIdentity, KeyMode mode) {
    Dataset<Row> records = topicReader(spark, deadLetterTopic, kafkaProps)
        .option("startingOffsets", offsetsJson(deadLetterTopic, from))
        .option("endingOffsets", "latest")
        // Dead letters deleted since (retention) are simply not found: the audit counts them
        // missing, rather than failing.
        .option("failOnDataLoss", "false")
        .option("includeHeaders", "true").load();
    Column identity = mode.messageKeyed() ? idHeader(-1) : col("key").cast("string");
    return records
        .filter(header(DeadLetters.HEADER_FILE).equalTo(lit(fileIdentity))
            .and(header(DeadLetters.HEADER_TOPIC).equalTo(lit(topic))))
        .select(identity.as(KeyColumns.KEY));
  }

  /**
   * The identity of every message at offsets {@code [from[p], to[p])} (the header
   * {@link KeyMode#HEADER_ID} where a record has it, else the key) and whether it lies in one of
   * the ranges ({@code rangeFrom}, {@code rangeTo}, flattened range by range), as columns
   * {@link KeyColumns#KEY} and {@code in_range}.
   */
  static Dataset<Row> identitiesMarked(SparkSession spark, String topic,
      Map<String, String> kafkaProps, long[] from, long[] to, long[] rangeFrom, long[] rangeTo) {
    int partitions = from.length;
    Column inRange = lit(false);
    for (int i = 0; i < rangeFrom.length; i++) {
      if (rangeTo[i] > rangeFrom[i]) {
        inRange = inRange.or(col("partition").equalTo(i % partitions)
            .and(col("offset").geq(rangeFrom[i])).and(col("offset").lt(rangeTo[i])));
      }
    }
    return topicReader(spark, topic, kafkaProps)
        .option("startingOffsets", offsetsJson(topic, from))
        .option("endingOffsets", offsetsJson(topic, to))
        .option("failOnDataLoss", "true")
        .option("includeHeaders", "true").load()
        .select(coalesce(idHeader(-1), col("key").cast("string")).as(KeyColumns.KEY),
            inRange.as("in_range"));
  }

  /**
   * The identity in the header {@link KeyMode#HEADER_ID} as hex text (its first occurrence with
   * {@code which} 1, its last with -1), or NULL: the header holds the 32 raw digest bytes.
   */
  private static Column idHeader(int which) {
    return expr(KeyMode.idTextSql(headerValue(KeyMode.HEADER_ID, which)));
  }

  /** A header's value as text (its last occurrence), or NULL. */
  private static Column header(String name) {
    return expr(headerValue(name, -1)).cast("string");
  }

  /** SQL for a header's value (binary): its first occurrence with {@code which} 1, last with -1. */
  private static String headerValue(String name, int which) {
    return "element_at(filter(headers, h -> h.key = '" + name + "'), " + which + ").value";
  }

  /** Spark's Kafka batch source for one topic, with the Kafka client settings as kafka.* options. */
  static DataFrameReader topicReader(SparkSession spark, String topic,
      Map<String, String> kafkaProps) {
    DataFrameReader reader = spark.read().format("kafka").option("subscribe", topic);
    for (Map.Entry<String, String> e : kafkaProps.entrySet()) {
      reader = reader.option("kafka." + e.getKey(), e.getValue());
    }
    return reader;
  }

  static String offsetsJson(String topic, long[] offsets) {
    StringBuilder sb = new StringBuilder("{\"").append(topic.replace("\"", "\\\"")).append("\":{");
    for (int p = 0; p < offsets.length; p++) {
      sb.append(p == 0 ? "" : ",").append('"').append(p).append("\":").append(offsets[p]);
    }
    return sb.append("}}").toString();
  }
}
