package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobException;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * Writes keyed rows ({@link KeyColumns#keyed}) to Kafka.
 *
 * <p>{@link #place} shuffles the rows once (Kryo, raw UTF-8 bytes) so that Spark partition
 * {@code b·P + k} holds batch b's records for Kafka partition k ({@link BatchPartitioner}).
 * {@link #writeBatch} runs a job over just one batch's P partitions, each task sorting its records
 * by position ({@link PositionSorter}) and writing its Kafka partition with
 * {@link PartitionWriter}. The shuffle output stays while the placed rows are in use, so later
 * batches neither read nor hash the file again.
 */
final class BatchWriter {
  /** Task time spent reading a task's shuffled records and putting them in position order. */
  static final String SORT_MS = "spark-sync.sort.ms";
  /** Task time spent producing to Kafka (sends, then the flush that waits for the acks). */
  static final String PRODUCE_MS = "spark-sync.produce.ms";

  /** The value a placed replay carries ({@link KeyColumns#REPLAY}): never a row's JSON. */
  static final byte[] REPLAY_VALUE = new byte[0];

  private BatchWriter() {}

  /**
   * Places keyed rows (of {@link KeyColumns#keyed}, positions in
   * {@code [firstPosition, firstPosition + batches·batchSize)}) into their batches and Kafka
   * partitions. Lazy: the shuffle runs with the first batch written. Each task of
   * {@link #writeBatch} puts its records in position order ({@link PositionSorter}).
   */
  static JavaPairRDD<Slot, Tuple2<byte[], byte[]>> place(Dataset<Row> keyedRows,
      int kafkaPartitions, long firstPosition, long batchSize, int batches, KeyMode mode,
      String fileIdentity) {
    boolean messageKeyed = mode.messageKeyed();
    return keyedRows.queryExecution().toRdd().toJavaRDD()
        .mapToPair((InternalRow r) -> {
          // getBytes copies out of the (reused) row buffer.
          byte[] key = r.getUTF8String(0).getBytes();
          if (messageKeyed) {
            if (r.isNullAt(3)) {
              throw new JobException(JobException.Code.NULL_MESSAGE_KEY, String.format(
                  "the row at position %d of %s has NULL in its --message-key column(s) %s: "
                      + "Kafka's default partitioner needs a key; fill or filter those rows",
                  r.getLong(2), fileIdentity, String.join(",", mode.messageKey)));
            }
            key = KeyMode.placedKey(key, r.getUTF8String(3).getBytes());
          }
          // A replay travels with an empty value (a row's JSON never is): counted, not sent.
          byte[] value = r.getBoolean(4) ? REPLAY_VALUE : r.getUTF8String(1).getBytes();
          return new Tuple2<>(new Slot(mode.partition(key, kafkaPartitions), r.getLong(2)),
              new Tuple2<>(key, value));
        })
        .partitionBy(new BatchPartitioner(kafkaPartitions, firstPosition, batchSize, batches));
  }

  /**
   * Writes batch {@code batch} of placed rows, each Kafka partition by one task in position order.
   *
   * @param batchStartOffsets per partition, the end offset before this write; a retried task
   *     skips what its partition already holds past it. Its length is the partition count.
   * @param resume whether this batch was cut off by a crash: a first attempt then also skips what
   *     its partition holds past the start offset, after checking it key by key
   * @param recovery whether the rows may have been written before (a recovery's delta): rows the
   *     dead-letter topic holds are then not sent there again
   * @return per Kafka partition: {partition, records written by this call, sent by the final
   *     attempt, skipped as already written by an earlier attempt, dead-lettered, replays}
   */
  static long[][] writeBatch(
      JavaPairRDD<Slot, Tuple2<byte[], byte[]>> placed,
      int batch,
      String fileIdentity,
      String topic,
      Map<String, String> kafkaProps,
      long[] batchStartOffsets,
      boolean resume,
      boolean recovery,
      RecordLimits limits,
      KeyMode mode) {
    int partitions = batchStartOffsets.length;
    int[] sparkPartitions = IntStream.range(batch * partitions, (batch + 1) * partitions).toArray();
    // Task metrics of our own, in the Spark UI and event log beside Spark's (bench --profile).
    var sc = placed.context();
    LongAccumulator sortMs = sc.longAccumulator(SORT_MS);
    LongAccumulator produceMs = sc.longAccumulator(PRODUCE_MS);
    List<long[]>[] results = placed
        .mapPartitionsWithIndex((index, records) -> {
          int kafkaPartition = index % partitions;
          long started = System.nanoTime();
          var sorted = PositionSorter.sorted(records, PositionSorter.DEFAULT_SPILL_BYTES);
          long sortedAt = System.nanoTime();
          sortMs.add((sortedAt - started) / 1_000_000);
          long[] written = PartitionWriter.write(kafkaPartition, sorted, topic, kafkaProps,
              batchStartOffsets[kafkaPartition], fileIdentity, resume, recovery, limits, mode);
          produceMs.add((System.nanoTime() - sortedAt) / 1_000_000);
          return List.of(written).iterator();
        }, true)
        .collectPartitions(sparkPartitions);
    long[][] byPartition = new long[partitions][];
    for (List<long[]> r : results) {
      long[] written = r.get(0);
      byPartition[(int) written[0]] = written;
    }
    return byPartition;
  }
}
