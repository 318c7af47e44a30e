package io.sparksync.jobs.internal;

import java.util.Collections;
import java.util.Map;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.PartitionPruningRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

/**
 * The batches of one file from a starting position on, read, keyed and placed by one shuffle
 * ({@link BatchWriter#place}); the driver then writes them one batch at a time, committing its
 * checkpoint in between ({@link Batches} keeps the current plan). A plan covers at most
 * {@link #MAX_ROWS} rows (the shuffle output lives on local disk while the plan is used) and
 * {@link #MAX_SPARK_PARTITIONS} Spark partitions.
 */
final class BatchPlan {
  static final long MAX_ROWS = 4_000_000L;
  static final int MAX_SPARK_PARTITIONS = 2048;

  private final SparkSession spark;
  private final String path;
  private final String format;
  private final String fileIdentity;
  private final long fileRows;
  private final long batchSize;
  private final int kafkaPartitions;
  private final KeyMode mode;
  /** Size and modification time when planned: a changed file is never served from the plan. */
  private final long[] stamp;
  private final long from;
  private final long to;
  private final JavaPairRDD<Slot, Tuple2<byte[], byte[]>> placed;
  /** See {@link #identitiesInFile}. */
  private final long identitiesInFile;

  private BatchPlan(SparkSession spark, String path, String format, String fileIdentity,
      long fileRows, long batchSize, int kafkaPartitions, KeyMode mode, long[] stamp, long from) {
    this.spark = spark;
    this.path = path;
    this.mode = mode;
    this.format = format;
    this.fileIdentity = fileIdentity;
    this.fileRows = fileRows;
    this.batchSize = batchSize;
    this.kafkaPartitions = kafkaPartitions;
    this.stamp = stamp;
    this.from = from;
    long maxBatches = Math.max(1, Math.min(MAX_ROWS / batchSize,
        MAX_SPARK_PARTITIONS / kafkaPartitions));
    long batches = Math.min(maxBatches, (fileRows - from + batchSize - 1) / batchSize);
    this.to = Math.min(fileRows, from + batches * batchSize);
    Dataset<Row> keyed;
    if (mode.natural()) {
      KeyColumns.Natural natural =
          KeyColumns.natural(spark, path, format, fileIdentity, from, to, mode);
      keyed = natural.rows();
      // Each identity's first row is marked once: over the whole file, that counts them.
      this.identitiesInFile =
          from == 0 && to == fileRows ? natural.marks().firsts().cardinality() : -1;
    } else {
      keyed = KeyColumns.keyed(spark, path, format, fileIdentity, from, to, mode);
      this.identitiesInFile = -1;
    }
    this.placed = BatchWriter.place(keyed, kafkaPartitions, from, batchSize, (int) batches, mode,
        fileIdentity);
  }

  /**
   * Natural-key mode, a plan of the whole file: its distinct identities (each first row is marked
   * once). -1 for any other plan.
   */
  long identitiesInFile() {
    return identitiesInFile;
  }

  /** A plan starting at {@code from}, unless {@code current} already holds that batch. */
  static BatchPlan forBatch(BatchPlan current, SparkSession spark, String path,
      String format, String fileIdentity, long fileRows, long batchSize, int kafkaPartitions,
      KeyMode mode, long[] stamp, long from) {
    if (current != null && current.holds(path, format, fileIdentity, fileRows, batchSize,
        kafkaPartitions, mode, stamp, from)) {
      return current;
    }
    return new BatchPlan(spark, path, format, fileIdentity, fileRows, batchSize, kafkaPartitions,
        mode, stamp, from);
  }

  boolean holds(String path, String format, String fileIdentity, long fileRows,
      long batchSize, int kafkaPartitions, KeyMode mode, long[] stamp, long position) {
    return this.path.equals(path) && this.format.equals(format) && this.mode.equals(mode)
        && this.fileIdentity.equals(fileIdentity) && this.fileRows == fileRows
        && this.batchSize == batchSize && this.kafkaPartitions == kafkaPartitions
        && this.stamp[0] == stamp[0] && this.stamp[1] == stamp[1]
        && position >= from && position < to && (position - from) % batchSize == 0;
  }

  /**
   * Writes the identity-index segment of the batch starting at {@code position} (natural-key
   * mode) from its placed records: the identities its tasks sent, replays left out. The shuffle
   * output is still on local disk, so the file is not read again, nor Kafka. False when the
   * records' count is not {@code expected} (a row sent to the dead-letter topic is placed but not
   * in Kafka): the driver then reads the identities back from Kafka.
   */
  boolean writeIdentities(long position, String index, String segment, long expected) {
    int batch = (int) ((position - from) / batchSize);
    KeyMode m = mode;
    boolean[] batchPartitions = new boolean[placed.getNumPartitions()];
    java.util.Arrays.fill(batchPartitions, batch * kafkaPartitions,
        (batch + 1) * kafkaPartitions, true);
    JavaRDD<Row> digests = PartitionPruningRDD.create(placed.rdd(),
            new ParquetSplits.Needed(batchPartitions))
        .toJavaRDD()
        .flatMap(record -> record._2()._2().length == 0
            ? Collections.emptyIterator()
            : Collections.singletonList(
                RowFactory.create((Object) KeyMode.idHeader(m.identity(record._2()._1()))))
                .iterator());
    StructType schema = new StructType().add(IdentityIndex.ID, DataTypes.BinaryType, false);
    return IdentityIndex.writeDigests(spark, index, segment,
        spark.createDataFrame(digests, schema), expected);
  }

  /** Writes the batch starting at {@code position}; see {@link BatchWriter#writeBatch}. */
  long[][] write(long position, String topic, Map<String, String> kafkaProps,
      long[] batchStartOffsets, boolean resume, RecordLimits limits) {
    int batch = (int) ((position - from) / batchSize);
    return BatchWriter.writeBatch(placed, batch, fileIdentity, topic, kafkaProps,
        batchStartOffsets, resume, resume, limits, mode);
  }
}
