package io.sparksync.jobs.internal;

import io.sparksync.jobs.HashKeys;
import io.sparksync.jobs.JobException.Code;
import java.util.Iterator;
import java.util.Map;
import org.apache.kafka.common.header.internals.RecordHeaders;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.util.LongAccumulator;

/**
 * The write with no ordering shuffle, wherever the Kafka key is the identity: each task reads its
 * split of the batch and sends every record straight to its partition (the key's digest mod P),
 * as Spark's own Kafka sink does. Positional identities, and natural ones ({@link NaturalPlan}
 * picks the records and flags the replays), are unique in the topic, so no consumer can rely on
 * an order inside a partition, and none is kept: several tasks write a partition at once.
 *
 * <p>What the ordered path gets from offsets, this one gets from keys. A first attempt sends
 * everything. A retried attempt, and a first attempt resuming a batch a crash cut off, first
 * spools its records to local disk to learn their keys ({@link RowSpool}), reads back from the
 * batch's start offsets which of them Kafka holds ({@link WrittenPositions}), then sends the
 * others. The driver's check after the batch (end offsets = start + the batch's count per
 * partition) catches anything else; resuming, records that are not the batch's own send the
 * driver to the anti-join recovery.
 */
final class DirectWriter {
  /** Task time a retried or resuming task spends reading back what Kafka holds of the batch. */
  static final String READ_BACK_MS = "spark-sync.read-back.ms";
  /** Records such tasks read back (every partition's records of the batch, per task). */
  static final String READ_BACK_RECORDS = "spark-sync.read-back.records";

  private DirectWriter() {}

  /**
   * Whether a batch is written this way: the identity as Kafka key (no {@code --message-key}),
   * from a Parquet file (whose splits can be read alone). The driver makes the same choice
   * ({@code writesDirect} in src/sync/recovery.ts) to recover a cut-off batch by the anti-join.
   */
  static boolean applies(String format, KeyMode mode) {
    return !mode.messageKeyed() && SourceFormat.parse(format).name.equals("parquet");
  }

  /**
   * Writes rows {@code [from, to)} of a file, one task per split that holds them; returns per
   * Kafka partition {partition, records, sent, skipped, dead-lettered, replayed}, summed over the
   * tasks.
   *
   * @param natural natural keys: the plan that marked these rows; null for positional keys
   */
  static long[][] writeBatch(SparkSession spark, String path, String fileIdentity, long from,
      long to, String topic, Map<String, String> kafkaProps, long[] batchStartOffsets,
      boolean resume, RecordLimits limits, NaturalPlan natural) {
    ParquetSplits.Pruned read = SourceReader.readParquetSplits(spark, path, from, to);
    long[][][] ranges = read.ranges;
    Dataset<Row> keyed = natural != null ? natural.records(read.rows)
        : KeyColumns.keyed(spark, read.rows, path, fileIdentity, from, KeyMode.POSITIONAL);
    LongAccumulator produceMs = spark.sparkContext().longAccumulator(BatchWriter.PRODUCE_MS);
    LongAccumulator readBackMs = spark.sparkContext().longAccumulator(READ_BACK_MS);
    LongAccumulator readBackRecords = spark.sparkContext().longAccumulator(READ_BACK_RECORDS);
    List<long[][]> perTask = keyed.queryExecution().toRdd().toJavaRDD()
        .mapPartitionsWithIndex((index, rows) -> {
          long started = System.nanoTime();
          long[][] written = write(rows, topic, kafkaProps, batchStartOffsets, fileIdentity,
              ranges[index], resume, limits, readBackMs, readBackRecords);
          produceMs.add((System.nanoTime() - started) / 1_000_000);
          return java.util.Collections.singletonList(written).iterator();
        }, true)
        .collect();
    int partitions = batchStartOffsets.length;
    long[][] total = new long[partitions][];
    for (int p = 0; p < partitions; p++) {
      total[p] = PartitionWriter.result(p, 0, 0, 0, 0, 0);
      for (long[][] task : perTask) {
        for (int f = 1; f < total[p].length; f++) {
          total[p][f] += task[p][f];
        }
      }
    }
    return total;
  }

  /**
   * A task's keyed rows without the replays (natural keys: another file sent the identity), which
   * are counted per partition in {@code replayed} and never sent, spooled or skipped, on every
   * attempt alike.
   */
  private static Iterator<InternalRow> withoutReplays(Iterator<InternalRow> rows,
      long[] replayed) {
    return new Iterator<InternalRow>() {
      private InternalRow next;

      @Override
      public boolean hasNext() {
        while (next == null && rows.hasNext()) {
          InternalRow r = rows.next();
          if (r.getBoolean(4)) {
            replayed[HashKeys.partitionOf(r.getUTF8String(0).getBytes(), replayed.length)]++;
          } else {
            next = r;
          }
        }
        return next != null;
      }

      @Override
      public InternalRow next() {
        if (!hasNext()) {
          throw new java.util.NoSuchElementException();
        }
        InternalRow r = next;
        next = null;
        return r;
      }
    };
  }

  /** A task's rows as keyed rows, straight from Spark's iterator (one holder, refilled). */
  private static Iterator<RowSpool.Keyed> keyedRows(Iterator<InternalRow> rows) {
    RowSpool.Keyed k = new RowSpool.Keyed();
    return new Iterator<RowSpool.Keyed>() {
      @Override
      public boolean hasNext() {
        return rows.hasNext();
      }

      @Override
      public RowSpool.Keyed next() {
        RowSpool.read(rows.next(), k);
        return k;
      }
    };
  }

  private static long first(long[][] ranges) {
    long first = Long.MAX_VALUE;
    for (long[] r : ranges) {
      first = Math.min(first, r[0]);
    }
    return first;
  }

  private static long last(long[][] ranges) {
    long last = Long.MIN_VALUE;
    for (long[] r : ranges) {
      last = Math.max(last, r[1]);
    }
    return last;
  }

  /**
   * Writes one task's rows (keyed: identity, value, position, message key, replay) and returns,
   * per Kafka partition, {partition, records, sent, skipped, dead-lettered, replayed}.
   *
   * @param ranges the task's position ranges, from its split's row groups
   * @param resume whether this batch was cut off by a crash: a first attempt then also reads back
   *     what the crashed run's task wrote of its rows, and skips it
   */
  static long[][] write(Iterator<InternalRow> rows, String topic, Map<String, String> kafkaProps,
      long[] batchStartOffsets, String fileIdentity, long[][] ranges, boolean resume,
      RecordLimits limits, LongAccumulator readBackMs, LongAccumulator readBackRecords) {
    int partitions = batchStartOffsets.length;
    long[] records = new long[partitions];
    long[] sent = new long[partitions];
    long[] skipped = new long[partitions];
    long[] deadLettered = new long[partitions];
    long[] replayed = new long[partitions];
    rows = withoutReplays(rows, replayed);
    boolean firstAttempt = TaskProducer.firstAttempt();
    // A retry may race the attempt it replaces; a resumed batch, on a cluster, the executors of
    // the crashed driver (in local mode they died with the driver's JVM).
    boolean settle = !firstAttempt || !PartitionWriter.localMaster();
    // Resuming, anything but the task's own rows, once each, is for the anti-join to sort out, on
    // every attempt: Spark reports the last attempt's failure, so a retry must not turn the
    // recoverable RESUME_MISMATCH of its first attempt into OFFSET_MISMATCH.
    Code mismatch = resume ? Code.RESUME_MISMATCH : Code.OFFSET_MISMATCH;
    WrittenPositions written = null;
    RowSpool spool = null;
    long seen = 0;
    try {
      Iterator<RowSpool.Keyed> keyed;
      if (firstAttempt && !resume) {
        keyed = keyedRows(rows);
      } else {
        spool = RowSpool.of(rows, first(ranges), last(ranges));
        written = WrittenPositions.read(kafkaProps, topic, batchStartOffsets, fileIdentity,
            spool.keys(), settle, mismatch);
        readBackMs.add(written.readMs);
        readBackRecords.add(written.recordsRead);
        keyed = spool.replay();
      }
      try (TaskProducer producer = TaskProducer.shared(kafkaProps, topic, fileIdentity, limits)) {
        if (written != null) {
          producer.readDeadLetters(kafkaProps);
        }
        while (keyed.hasNext() && !producer.failed()) {
          RowSpool.Keyed r = keyed.next();
          int partition = HashKeys.partitionOf(r.key, partitions);
          producer.checkRunning(partition);
          RecordHeaders headers = producer.headers(r.position);
          if (producer.deadLettered(partition, r.position, r.key, r.value, headers)) {
            deadLettered[partition]++;
            continue;
          }
          records[partition]++;
          if (written != null && written.has(r.position)) {
            skipped[partition]++;
            seen++;
            continue;
          }
          producer.send(partition, r.key, r.value, headers);
          sent[partition]++;
        }
        producer.flush("a direct write of " + fileIdentity);
      }
    } finally {
      if (spool != null) {
        spool.close();
      }
    }
    if (written != null && seen != written.count()) {
      throw new io.sparksync.jobs.JobException(mismatch, String.format("topic %s holds %d records of this task's rows of %s, but only %d of them "
              + "are its rows now: the source changed", topic, written.count(), fileIdentity, seen));
    }
    long[][] out = new long[partitions][];
    for (int p = 0; p < partitions; p++) {
      out[p] = PartitionWriter.result(p, records[p], sent[p], skipped[p], deadLettered[p],
          replayed[p]);
    }
    return out;
  }
}
