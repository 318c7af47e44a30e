package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobRequest;
import java.util.Arrays;

/**
 * What a plan of a file's batches ({@link BatchPlan}, {@link NaturalPlan}) was made for: one file
 * as it was (its size and modification time, {@code stamp}), a key mode, a batch size and a Kafka
 * partition count, and the rows {@code [from, to)} its batches cover. A batch of another file, of
 * a changed file, under other options or outside those rows needs a new plan.
 */
record PlanScope(JobRequest.Source source, KeyMode mode, long batchSize, int kafkaPartitions,
    long[] stamp, long from, long to) {

  /** The scope of a plan of {@code r}'s file from {@code from}: at most {@code maxBatches}. */
  static PlanScope of(JobRequest r, long[] stamp, long from, long maxBatches) {
    long to = Math.min(r.source.rows, from + Math.max(1, maxBatches) * r.batchSize);
    return new PlanScope(r.source, r.keyMode(), r.batchSize, r.startOffsets.length, stamp, from,
        to);
  }

  /** The batches it covers. */
  int batches() {
    return (int) ((to - from + batchSize - 1) / batchSize);
  }

  /** The index of the batch at {@code position} among them. */
  int batch(long position) {
    return (int) ((position - from) / batchSize);
  }

  /** Whether a plan of this scope holds the batch of {@code r} at {@code position}. */
  boolean holds(JobRequest r, long[] stamp, long position) {
    JobRequest.Source s = r.source;
    return source.path.equals(s.path) && source.format.equals(s.format)
        && source.identity.equals(s.identity) && source.rows == s.rows
        && mode.equals(r.keyMode()) && batchSize == r.batchSize
        && kafkaPartitions == r.startOffsets.length && Arrays.equals(this.stamp, stamp)
        && position >= from && position < to && (position - from) % batchSize == 0;
  }

  /** Whether it covers the whole file, so its marks count the file's identities. */
  boolean wholeFile() {
    return from == 0 && to == source.rows;
  }
}
