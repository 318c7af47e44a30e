package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobException;
import io.sparksync.jobs.JobException.Code;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * What an earlier attempt of a direct-write task ({@link DirectWriter}) already put into Kafka:
 * the positions of its own rows (its split's ranges) among the batch's records, read back from
 * every partition from the batch's start offsets, by their {@code spark-sync.file} and
 * {@code spark-sync.position} headers. Other tasks of the batch write the same partitions at the
 * same time, so there is no end offset to count from: the retry counts its own positions, and
 * waits until none of them has arrived for {@link PartitionWriter#SETTLE_MS} (a zombie of the
 * attempt it replaces may still be sending). A batch resumed after a crash is read the same way.
 * One bit and one key per position of the task.
 */
final class WrittenPositions {
  private final long first;
  private final BitSet present = new BitSet();
  private final byte[][] keys;
  private long count;
  /** Milliseconds spent reading back the records that were there when the task began. */
  long readMs;
  /** Records read back (the task's own and every other task's of the batch). */
  long recordsRead;

  private final Code mismatch;

  private WrittenPositions(long first, long last, Code mismatch) {
    this.mismatch = mismatch;
    this.first = first;
    this.keys = new byte[(int) (last - first)][];
  }

  /** Reads back the task's positions ({@code ranges}) among the batch's records. */
  static WrittenPositions read(Map<String, String> kafkaProps, String topic, long[] startOffsets,
      String fileIdentity, long[][] ranges, boolean settle, Code mismatch) {
    long first = Long.MAX_VALUE;
    long last = Long.MIN_VALUE;
    for (long[] r : ranges) {
      first = Math.min(first, r[0]);
      last = Math.max(last, r[1]);
    }
    long started = System.currentTimeMillis();
    WrittenPositions w = new WrittenPositions(first, last, mismatch);
    Properties p = new Properties();
    p.putAll(kafkaProps);
    p.put("enable.auto.commit", "false");
    // Whole batches of records per poll: a resumed batch reads back up to a batch's worth.
    p.putIfAbsent("max.poll.records", "20000");
    p.putIfAbsent("max.partition.fetch.bytes", Integer.toString(8 << 20));
    byte[] file = fileIdentity.getBytes(StandardCharsets.UTF_8);
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
          if (w.add(r, file, ranges)) {
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
  private boolean add(ConsumerRecord<byte[], byte[]> r, byte[] file, long[][] ranges) {
    Header f = r.headers().lastHeader(TaskProducer.HEADER_FILE);
    Header pos = r.headers().lastHeader(TaskProducer.HEADER_POSITION);
    if (f == null || pos == null || !Arrays.equals(f.value(), file)) {
      return false;
    }
    long position = Long.parseLong(new String(pos.value(), StandardCharsets.UTF_8));
    boolean own = false;
    for (long[] range : ranges) {
      own |= position >= range[0] && position < range[1];
    }
    if (!own) {
      return false;
    }
    int i = (int) (position - first);
    if (present.get(i)) {
      throw new JobException(mismatch, String.format(
          "position %d of the file is in topic %s twice (again at partition %d, offset %d): "
              + "another writer sent its rows", position, r.topic(), r.partition(), r.offset()));
    }
    present.set(i);
    keys[i] = r.key();
    count++;
    return true;
  }

  /** Whether the row at {@code position} is in Kafka already, with this key (else a mismatch). */
  boolean has(long position, byte[] key) {
    int i = (int) (position - first);
    if (!present.get(i)) {
      return false;
    }
    if (!Arrays.equals(keys[i], key)) {
      throw new JobException(mismatch, String.format(
          "the record of position %d in Kafka has key %s, but the row's key is %s: the source "
              + "changed, or another writer used this file's headers", position,
          keys[i] == null ? null : new String(keys[i], StandardCharsets.UTF_8),
          new String(key, StandardCharsets.UTF_8)));
    }
    keys[i] = null;
    return true;
  }

  /** How many of the task's rows the earlier attempts wrote. */
  long count() {
    return count;
  }
}
