package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.col;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

/**
 * Writes the rows of one file whose positions fall in {@code [from, to)} to Kafka.
 *
 * <p>Keys and values are computed by Spark SQL; the rows are then shuffled so that Spark
 * partition i holds Kafka partition i's records sorted by position, and each task writes its
 * partition with {@link PartitionWriter}.
 */
public final class BatchWriter {
  private BatchWriter() {}

  /**
   * @return per Kafka partition: {partition, records in this batch, sent now, skipped as already
   *     written}
   */
  public static long[][] write(
      Dataset<Row> positioned,
      String fileIdentity,
      long from,
      long to,
      String topic,
      Map<String, String> kafkaProps,
      long[] batchStartOffsets) {
    int partitions = batchStartOffsets.length;
    StructType dataSchema = dataSchema(positioned.schema());
    Dataset<Row> keyed = positioned
        .filter(col(SourceReader.POSITION).geq(from).and(col(SourceReader.POSITION).lt(to)))
        .select(
            KeyColumns.key(Arrays.asList(dataSchema.fields()), fileIdentity,
                col(SourceReader.POSITION)),
            KeyColumns.value(dataSchema),
            col(SourceReader.POSITION));
    JavaPairRDD<Slot, Tuple2<String, String>> placed = keyed.javaRDD()
        .mapToPair(r -> {
          String key = r.getString(0);
          return new Tuple2<>(
              new Slot(io.sparksync.jobs.HashKeys.partitionOf(key, partitions), r.getLong(2)),
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
