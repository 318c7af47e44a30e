package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobRequest;
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
  private final PlanScope scope;
  private final JavaPairRDD<Slot, Tuple2<byte[], byte[]>> placed;
  /** See {@link #identitiesInFile}. */
  private final long identitiesInFile;

  private BatchPlan(SparkSession spark, JobRequest r, long[] stamp, long from) {
    this.spark = spark;
    this.scope = PlanScope.of(r, stamp, from, Math.min(MAX_ROWS / r.batchSize,
        MAX_SPARK_PARTITIONS / r.startOffsets.length));
    JobRequest.Source s = r.source;
    KeyMode mode = scope.mode();
    long to = scope.to();
    Dataset<Row> keyed;
    if (mode.natural()) {
      KeyColumns.Natural natural =
          KeyColumns.natural(spark, s.path, s.format, s.identity, from, to, mode);
      keyed = natural.rows();
      // Each identity's first row is marked once: over the whole file, that counts them.
      this.identitiesInFile = scope.wholeFile() ? natural.marks().firsts().cardinality() : -1;
    } else {
      keyed = KeyColumns.keyed(spark, s.path, s.format, s.identity, from, to, mode);
      this.identitiesInFile = -1;
    }
    this.placed = BatchWriter.place(keyed, scope.kafkaPartitions(), from, r.batchSize,
        scope.batches(), mode, s.identity);
  }

  /**
   * Natural-key mode, a plan of the whole file: its distinct identities (each first row is marked
   * once). -1 for any other plan.
   */
  long identitiesInFile() {
    return identitiesInFile;
  }

  /** A plan of {@code r}'s file starting at {@code from}, unless {@code current} holds that batch. */
  static BatchPlan forBatch(BatchPlan current, SparkSession spark, JobRequest r, long from) {
    long[] stamp = SourceFiles.stat(spark, r.source.path);
    if (current != null && current.scope.holds(r, stamp, from)) {
      return current;
    }
    return new BatchPlan(spark, r, stamp, from);
  }

  /** Whether this plan holds the batch of {@code r} at {@code position}, of the same file. */
  boolean holds(JobRequest r, long position) {
    return scope.holds(r, SourceFiles.stat(spark, r.source.path), position);
  }

  /**
   * Writes the identity-index segment of the batch starting at {@code position} (natural-key
   * mode) from its placed records: the identities its tasks sent, replays left out. The shuffle
   * output is still on local disk, so the file is not read again, nor Kafka. False when the
   * records' count is not {@code expected} (a row sent to the dead-letter topic is placed but not
   * in Kafka): the driver then reads the identities back from Kafka.
   */
  boolean writeIdentities(long position, String index, String segment, long expected) {
    int batch = scope.batch(position);
    int kafkaPartitions = scope.kafkaPartitions();
    KeyMode m = scope.mode();
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
    return BatchWriter.writeBatch(placed, scope.batch(position), scope.source().identity, topic,
        kafkaProps, batchStartOffsets, resume, resume, limits, scope.mode());
  }
}
