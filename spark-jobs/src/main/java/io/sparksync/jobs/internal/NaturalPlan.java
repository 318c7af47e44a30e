package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobRequest;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Natural keys written directly ({@link DirectWriter}): which rows of a file, from a starting
 * position on, are records ({@link NaturalRows.Marks}), found once for up to {@link #MAX_ROWS}
 * rows and used by each of their batches. Each batch then reads its own rows and sends its
 * records straight from the reading tasks, with no placement shuffle and no sort: without
 * {@code --message-key} every record's key is its identity, unique in the topic, so no consumer
 * can rely on an order inside a partition.
 *
 * <p>The range's first rows stay kept as (digest, position), so a committed batch's
 * identity-index segment is written from them ({@link #writeIdentities}) and not read back from
 * Kafka. {@link #release} frees them.
 */
final class NaturalPlan {
  /**
   * Rows one plan marks: a file of up to this many rows reads its key columns and the index once.
   * Bounded by what passes through the driver: each reading task that holds rows of the range
   * sends it a Bloom filter sized for the whole range (about 10 MB here; 13 tasks of 128 MB splits
   * for a range of 200-byte rows), and every batch's tasks get the range's bitmaps (2 MB). Its
   * first rows stay cached at about 50 bytes each (memory, else the executors' local disks).
   */
  static final long MAX_ROWS = 8_000_000L;

  private final SparkSession spark;
  private final PlanScope scope;
  private final NaturalRows.MarkedRows marked;

  private NaturalPlan(SparkSession spark, JobRequest r, long[] stamp, long from) {
    this.spark = spark;
    this.scope = PlanScope.of(r, stamp, from, MAX_ROWS / r.batchSize);
    JobRequest.Source s = r.source;
    this.marked = KeyColumns.naturalMarks(spark, s.path, s.format, s.identity, from, scope.to(),
        scope.mode());
  }

  /** A plan starting at {@code from}, unless {@code current} holds that batch; see {@link #holds}. */
  static NaturalPlan forBatch(NaturalPlan current, SparkSession spark, JobRequest r,
      long from) {
    long[] stamp = SourceFiles.stat(spark, r.source.path);
    if (current != null && current.scope.holds(r, stamp, from)) {
      return current;
    }
    if (current != null) {
      current.release();
    }
    return new NaturalPlan(spark, r, stamp, from);
  }

  /** Whether this plan marked the batch of {@code r} at {@code position}, of the same file. */
  boolean holds(JobRequest r, long position) {
    return scope.holds(r, SourceFiles.stat(spark, r.source.path), position);
  }

  /**
   * Natural-key mode, a plan of the whole file: its distinct identities (each first row is marked
   * once). -1 for any other plan.
   */
  long identitiesInFile() {
    return scope.wholeFile() ? marked.marks().firsts().cardinality() : -1;
  }

  /** The records among rows already read ({@code inRange}, within the plan), as keyed rows. */
  Dataset<Row> records(Dataset<Row> inRange) {
    return KeyColumns.naturalRecords(spark, inRange, scope.source().path, marked.marks(),
        scope.from(), scope.mode());
  }

  /**
   * Writes the identity-index segment of the batch at {@code position}: its records' digests,
   * replays left out, renamed into the index only if they are exactly {@code expected} (a
   * dead-lettered row is a record but not in Kafka); false with nothing written otherwise.
   */
  boolean writeIdentities(long position, String index, String segment, long expected) {
    long end = Math.min(scope.to(), position + scope.batchSize());
    // About 32 MB of digests a file per million records: a batch's segment is a few files.
    int files = (int) Math.max(1, Math.min(16, expected / 1_000_000 + 1));
    return IdentityIndex.writeDigests(spark, index, segment,
        marked.sent(spark, position, end).coalesce(files), expected);
  }

  void release() {
    marked.release();
  }
}
