package io.sparksync.jobs.internal;

import java.io.Serializable;

/** Shuffle key of a record: its Kafka partition, then its position, which is the write order. */
final class Slot implements Comparable<Slot>, Serializable {
  private static final long serialVersionUID = 1L;
  final int partition;
  final long position;

  Slot(int partition, long position) {
    this.partition = partition;
    this.position = position;
  }

  @Override
  public int compareTo(Slot o) {
    int byPartition = Integer.compare(partition, o.partition);
    return byPartition != 0 ? byPartition : Long.compare(position, o.position);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Slot && ((Slot) o).partition == partition && ((Slot) o).position == position;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(position) * 31 + partition;
  }
}
