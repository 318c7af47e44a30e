package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobException;
import io.sparksync.jobs.JobException.Code;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * What an earlier attempt of a direct-write task ({@link DirectWriter}) already put into Kafka:
 * which of the task's own rows are among the batch's records, read back from every partition from
 * the batch's start offsets and recognised by their keys ({@link OwnKeys}: a positional key is
 * unique per file and position, and records carry no header naming their row). Other tasks of
 * the batch write the same partitions at the same time, so there is no end offset to count from:
 * the retry counts its own rows, and waits until none of them has arrived for
 * {@link PartitionWriter#SETTLE_MS} (a zombie of the attempt it replaces may still be sending).
 * A batch resumed after a crash is read the same way. One bit per position of the task.
 */
final class WrittenPositions {
  private final OwnKeys own;
  private final BitSet present = new BitSet();
  private long count;
  /** Milliseconds spent reading back the records that were there when the task began. */
  long readMs;
  /** Records read back (the task's own and every other task's of the batch). */
  long recordsRead;

  private final Code mismatch;

  private WrittenPositions(OwnKeys own, Code mismatch) {
    this.mismatch = mismatch;
    this.own = own;
  }

  /** Reads back which of the task's rows ({@code own}) are among the batch's records. */
  static WrittenPositions read(Map<String, String> kafkaProps, String topic, long[] startOffsets,
      String fileIdentity, OwnKeys own, boolean settle, Code mismatch) {
    long started = System.currentTimeMillis();
    WrittenPositions w = new WrittenPositions(own, mismatch);
    Properties p = new Properties();
    p.putAll(kafkaProps);
    p.put("enable.auto.commit", "false");
    // Whole batches of records per poll: a resumed batch reads back up to a batch's worth.
    p.putIfAbsent("max.poll.records", "20000");
    p.putIfAbsent("max.partition.fetch.bytes", Integer.toString(8 << 20));
    List<TopicPartition> partitions = new ArrayList<>();
    for (int i = 0; i < startOffsets.length; i++) {
      partitions.add(new TopicPartition(topic, i));
    }
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.assign(partitions);
      for (TopicPartition tp : partitions) {
        consumer.seek(tp, startOffsets[tp.partition()]);
      }
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, Duration.ofSeconds(30));
      long lastOwn = System.currentTimeMillis();
      // The cap bounds the settle, not the read: it starts once the records that were there when
      // the task began have been read, however long a large batch takes to read back.
      long caughtUpAt = -1;
      while (true) {
        boolean caughtUp = true;
        for (TopicPartition tp : partitions) {
          caughtUp &= consumer.position(tp) >= ends.get(tp);
        }
        long now = System.currentTimeMillis();
        if (caughtUp && caughtUpAt < 0) {
          caughtUpAt = now;
          w.readMs = now - started;
        }
        if (caughtUp && (!settle || now - lastOwn >= PartitionWriter.SETTLE_MS)) {
          return w;
        }
        if (caughtUpAt >= 0 && now - caughtUpAt > PartitionWriter.SETTLE_MAX_MS) {
          throw new JobException(mismatch, String.format(
              "records of %s kept arriving in topic %s for %d s while a retried task waited for "
                  + "its earlier attempt to stop: another writer is sending its rows",
              fileIdentity, topic, PartitionWriter.SETTLE_MAX_MS / 1000));
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(250))) {
          w.recordsRead++;
          if (w.add(r)) {
            lastOwn = System.currentTimeMillis();
          }
        }
        if (caughtUp) {
          ends = consumer.endOffsets(partitions, Duration.ofSeconds(30));
        }
      }
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      throw new JobException(Code.KAFKA_UNAVAILABLE, String.format(
          "could not read back the batch's records of topic %s within 30 s", topic), e);
    }
  }

  /** Records one record if it is one of the task's rows; true if it was. */
  private boolean add(ConsumerRecord<byte[], byte[]> r) {
    long position = own.positionOf(r.key());
    if (position < 0) {
      return false;
    }
    int i = (int) (position - own.first());
    if (present.get(i)) {
      throw new JobException(mismatch, String.format(
          "position %d of the file is in topic %s twice (again at partition %d, offset %d): "
              + "another writer sent its rows", position, r.topic(), r.partition(), r.offset()));
    }
    present.set(i);
    count++;
    return true;
  }

  /** Whether the row at {@code position} (one of the task's) is in Kafka already. */
  boolean has(long position) {
    return present.get((int) (position - own.first()));
  }

  /** How many of the task's rows the earlier attempts wrote. */
  long count() {
    return count;
  }
}
