package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.col;

import io.sparksync.jobs.HashKeys;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

/**
 * Keys a file's rows and writes them to Kafka.
 *
 * <p>Keys and values are computed by Spark SQL; the rows are then shuffled so that Spark
 * partition i holds Kafka partition i's records sorted by position, and each task writes its
 * partition with {@link PartitionWriter}.
 */
public final class BatchWriter {
  public static final String KEY = "__spark_sync_key";
  public static final String VALUE = "__spark_sync_value";

  private BatchWriter() {}

  /** The rows at positions {@code [from, to)} as (key, value, position). */
  public static Dataset<Row> keyed(Dataset<Row> positioned, String fileIdentity, long from, long to) {
    StructType dataSchema = dataSchema(positioned.schema());
    Column position = col(SourceReader.POSITION);
    return positioned
        .filter(position.geq(from).and(position.lt(to)))
        .select(
            KeyColumns.key(Arrays.asList(dataSchema.fields()), fileIdentity, position).as(KEY),
            KeyColumns.value(dataSchema).as(VALUE),
            position);
  }

  /**
   * Writes (key, value, position) rows, each Kafka partition by one task in position order.
   *
   * @param batchStartOffsets per partition, the end offset before this write; a retried task
   *     skips what its partition already holds past it. Its length is the partition count.
   * @return per Kafka partition: {partition, records written by this call, sent by the final
   *     attempt, skipped as already written by an earlier attempt}
   */
  public static long[][] write(
      Dataset<Row> keyedRows,
      String fileIdentity,
      String topic,
      Map<String, String> kafkaProps,
      long[] batchStartOffsets) {
    int partitions = batchStartOffsets.length;
    JavaPairRDD<Slot, Tuple2<String, String>> placed = keyedRows.javaRDD()
        .mapToPair(r -> {
          String key = r.getString(0);
          return new Tuple2<>(new Slot(HashKeys.partitionOf(key, partitions), r.getLong(2)),
              new Tuple2<>(key, r.getString(1)));
        })
        .repartitionAndSortWithinPartitions(new KafkaPartitioner(partitions));
    List<long[]> results = placed
        .mapPartitionsWithIndex((index, records) -> List.of(PartitionWriter.write(
            index, records, topic, kafkaProps, batchStartOffsets[index], fileIdentity)).iterator(),
            true)
        .collect();
    long[][] byPartition = new long[partitions][];
    for (long[] r : results) {
      byPartition[(int) r[0]] = r;
    }
    return byPartition;
  }

  /** The schema without the position column. */
  static StructType dataSchema(StructType withPosition) {
    return new StructType(Arrays.stream(withPosition.fields())
        .filter(f -> !f.name().equals(SourceReader.POSITION))
        .toArray(StructField[]::new));
  }
}
