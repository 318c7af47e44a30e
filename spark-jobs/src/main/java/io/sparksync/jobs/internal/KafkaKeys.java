package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.col;

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
    return topicReader(spark, topic, kafkaProps)
        .option("startingOffsets", offsetsJson(topic, from))
        .option("endingOffsets", offsetsJson(topic, to))
        .option("failOnDataLoss", "true")
        .load().select(col("key").cast("string").as(KeyColumns.KEY));
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
