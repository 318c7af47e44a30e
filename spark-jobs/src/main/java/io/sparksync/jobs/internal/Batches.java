package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobRequest;
import org.apache.spark.sql.SparkSession;

/**
 * The batch plan of the file being synced, the JVM half of the driver's batch loop: the driver
 * syncs one file at a time, batch after batch, so one plan is kept, and consecutive batches of
 * the same file reuse it: a {@link BatchPlan} (its read, keys and shuffle) for the ordered write,
 * a {@link NaturalPlan} (which rows are records) for natural keys written directly. A batch the
 * plan does not hold (another file or format, another position, a changed size or modification
 * time) gets a new one.
 */
public final class Batches {
  private final SparkSession spark;
  private BatchPlan plan;
  private NaturalPlan natural;

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
      if (mode.natural()) {
        natural = NaturalPlan.forBatch(natural, spark, r, r.from);
      } else {
        releaseNatural();
      }
      return DirectWriter.writeBatch(spark, source.path, source.identity, r.from,
          Math.min(source.rows, r.from + r.batchSize), r.topic, KeyValues.parse(r.kafkaConf),
          r.startOffsets, resume, RecordLimits.from(r.kafkaConf), natural);
    }
    releaseNatural();
    plan = BatchPlan.forBatch(plan, spark, r, r.from);
    return plan.write(r.from, r.topic, KeyValues.parse(r.kafkaConf), r.startOffsets, resume,
        RecordLimits.from(r.kafkaConf));
  }

  /**
   * Natural-key mode, after the batch at {@code r.from} committed: writes its identity-index
   * segment {@code r.segment} from the current plan ({@link NaturalPlan#writeIdentities},
   * {@link BatchPlan#writeIdentities}), if the plan holds that batch and exactly
   * {@code r.identities} of its records. False otherwise, with nothing written: the driver reads
   * the identities back from Kafka instead.
   */
  public boolean indexFromPlan(JobRequest r) {
    KeyMode mode = r.keyMode();
    if (!mode.natural()) {
      return false;
    }
    if (natural != null && natural.holds(r, r.from)) {
      return natural.writeIdentities(r.from, mode.identityIndex, r.segment, r.identities);
    }
    if (plan == null || !plan.holds(r, r.from)) {
      return false;
    }
    return plan.writeIdentities(r.from, mode.identityIndex, r.segment, r.identities);
  }

  /**
   * Natural-key mode, before a file starts: its distinct identities, from the plan of its first
   * batches when that plan covers the whole file ({@link NaturalPlan#MAX_ROWS} rows at most when
   * written directly, else {@link BatchPlan#MAX_ROWS}). The plan is kept for the file's first
   * write, so the file's key columns are read and hashed once for both. -1 when the request names
   * no batch size or the plan does not cover the file.
   */
  public long identitiesInFile(JobRequest r) {
    KeyMode mode = r.keyMode();
    JobRequest.Source s = r.source;
    if (!mode.natural() || r.batchSize <= 0 || r.startOffsets == null || s.rows <= 0) {
      return -1;
    }
    if (DirectWriter.applies(s.format, mode)) {
      natural = NaturalPlan.forBatch(natural, spark, r, 0);
      return natural.identitiesInFile();
    }
    plan = BatchPlan.forBatch(plan, spark, r, 0);
    return plan.identitiesInFile();
  }

  /** Frees the first rows a natural plan kept, once its file's batches are written otherwise. */
  private void releaseNatural() {
    if (natural != null) {
      natural.release();
      natural = null;
    }
  }
}
