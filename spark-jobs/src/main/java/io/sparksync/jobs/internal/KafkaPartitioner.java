package io.sparksync.jobs.internal;

import org.apache.spark.Partitioner;

/**
 * Spark partition i holds exactly the records of Kafka partition i, so each task writes one
 * Kafka partition and a retried task can tell from that partition's end offset what its earlier
 * attempt already wrote.
 */
final class KafkaPartitioner extends Partitioner {
  private static final long serialVersionUID = 1L;
  private final int partitions;

  KafkaPartitioner(int partitions) {
    this.partitions = partitions;
  }

  @Override
  public int numPartitions() {
    return partitions;
  }

  @Override
  public int getPartition(Object key) {
    return ((Slot) key).partition;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KafkaPartitioner && ((KafkaPartitioner) o).partitions == partitions;
  }

  @Override
  public int hashCode() {
    return partitions;
  }
}
