package io.sparksync.jobs.internal;

import org.apache.spark.Partitioner;

/**
 * Places a plan's records so that Spark partition {@code b·P + k} holds exactly the records of
 * batch {@code b} of the plan that go to Kafka partition {@code k}. Each task of a batch then
 * writes one Kafka partition, and a retried task can tell from that partition's end offset what
 * its earlier attempt already wrote.
 */
final class BatchPartitioner extends Partitioner {
  private static final long serialVersionUID = 1L;
  private final int kafkaPartitions;
  private final long firstPosition;
  private final long batchSize;
  private final int batches;

  BatchPartitioner(int kafkaPartitions, long firstPosition, long batchSize, int batches) {
    this.kafkaPartitions = kafkaPartitions;
    this.firstPosition = firstPosition;
    this.batchSize = batchSize;
    this.batches = batches;
  }

  @Override
  public int numPartitions() {
    return batches * kafkaPartitions;
  }

  @Override
  public int getPartition(Object key) {
    Slot slot = (Slot) key;
    int batch = (int) ((slot.position - firstPosition) / batchSize);
    return batch * kafkaPartitions + slot.partition;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof BatchPartitioner)) {
      return false;
    }
    BatchPartitioner p = (BatchPartitioner) o;
    return p.kafkaPartitions == kafkaPartitions && p.firstPosition == firstPosition
        && p.batchSize == batchSize && p.batches == batches;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(kafkaPartitions, firstPosition, batchSize, batches);
  }
}
