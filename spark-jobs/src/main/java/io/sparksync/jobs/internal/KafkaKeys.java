package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;

import java.util.Map;
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
        .select(expr("element_at(filter(headers, h -> h.key = '" + KeyMode.HEADER_ID
            + "'), 1).value").cast("string").as(KeyColumns.KEY));
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
