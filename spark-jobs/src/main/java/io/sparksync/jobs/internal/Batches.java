package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobRequest;
import org.apache.spark.sql.SparkSession;

/**
 * The batch plan of the file being synced, the JVM half of the driver's batch loop: the driver
 * syncs one file at a time, batch after batch, so one {@link BatchPlan} is kept, and consecutive
 * batches of the same file reuse its read, keys and shuffle. A batch the plan does not hold
 * (another file or format, another position, a changed size or modification time) gets a new one.
 */
public final class Batches {
  private final SparkSession spark;
  private BatchPlan plan;

  public Batches(SparkSession spark) {
    this.spark = spark;
  }

  /**
   * Writes the request's batch, the {@code batchSize} rows at {@code from}, planning it first
   * unless the current plan holds it; see {@link BatchWriter#writeBatch} for {@code resume} and the
   * result.
   */
  public long[][] write(JobRequest r, boolean resume) {
    // A stop (cancelRunning) interrupts the writing tasks, even one blocked in a producer call.
    spark.sparkContext().setLocalProperty("spark.job.interruptOnCancel", "true");
    KeyMode mode = r.keyMode();
    JobRequest.Source source = r.source;
    if (DirectWriter.applies(source.format, mode)) {
      plan = null;
      return DirectWriter.writeBatch(spark, source.path, source.format, source.identity, r.from,
          Math.min(source.rows, r.from + r.batchSize), r.topic, KeyValues.parse(r.kafkaConf),
          r.startOffsets, resume, RecordLimits.from(r.kafkaConf));
    }
    plan = BatchPlan.forBatch(plan, spark, source.path, source.format, source.identity,
        source.rows, r.batchSize, r.startOffsets.length, mode, SourceFiles.stat(spark, source.path),
        r.from);
    return plan.write(r.from, r.topic, KeyValues.parse(r.kafkaConf), r.startOffsets, resume,
        RecordLimits.from(r.kafkaConf));
  }

  /**
   * Natural-key mode, after the batch at {@code r.from} committed: writes its identity-index
   * segment {@code r.segment} from the current plan ({@link BatchPlan#writeIdentities}), if the
   * plan holds that batch and exactly {@code r.identities} of its records. False otherwise, with
   * nothing written: the driver reads the identities back from Kafka instead.
   */
  public boolean indexFromPlan(JobRequest r) {
    KeyMode mode = r.keyMode();
    JobRequest.Source s = r.source;
    if (plan == null || !mode.natural() || !plan.holds(s.path, s.format, s.identity, s.rows,
        r.batchSize, r.startOffsets.length, mode, SourceFiles.stat(spark, s.path), r.from)) {
      return false;
    }
    return plan.writeIdentities(r.from, mode.identityIndex, r.segment, r.identities);
  }

  /**
   * Natural-key mode, before a file starts: its distinct identities, from the plan of its first
   * batches when that plan covers the whole file ({@code MAX_ROWS} rows at most). The plan is kept
   * for the file's first write, so the file's key columns are read and hashed once for both.
   * -1 when the request names no batch size or the plan does not cover the file.
   */
  public long identitiesInFile(JobRequest r) {
    KeyMode mode = r.keyMode();
    JobRequest.Source s = r.source;
    if (!mode.natural() || r.batchSize <= 0 || r.startOffsets == null || s.rows <= 0) {
      return -1;
    }
    plan = BatchPlan.forBatch(plan, spark, s.path, s.format, s.identity, s.rows, r.batchSize,
        r.startOffsets.length, mode, SourceFiles.stat(spark, s.path), 0);
    return plan.identitiesInFile();
  }
}
