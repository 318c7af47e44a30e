package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobException;
import io.sparksync.jobs.JobException.Code;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The keys a retried task is about to skip, read back from its partition in offset order, so the
 * skip is checked record by record: they must be this task's first records, in position order.
 * Streams (one poll at a time), so a large batch does not hold its keys in memory.
 */
final class WrittenKeys implements AutoCloseable {
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final String topic;
  private final int partition;
  private final long start;
  private final Code mismatch;
  /** Whether the identity is in the header {@link KeyMode#HEADER_ID} (a business message key). */
  private final boolean inHeader;
  private Iterator<ConsumerRecord<byte[], byte[]>> batch = Collections.emptyIterator();
  private long read;

  WrittenKeys(Map<String, String> kafkaProps, String topic, int partition, long start,
      Code mismatch, boolean inHeader) {
    Properties p = new Properties();
    p.putAll(kafkaProps);
    p.put("enable.auto.commit", "false");
    this.consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.topic = topic;
    this.partition = partition;
    this.start = start;
    this.mismatch = mismatch;
    this.inHeader = inHeader;
    TopicPartition tp = new TopicPartition(topic, partition);
    consumer.assign(Collections.singletonList(tp));
    consumer.seek(tp, start);
  }

  /** Checks that the next already-written record has this identity. */
  void expect(byte[] key) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!batch.hasNext()) {
      if (System.nanoTime() > deadline) {
        throw new JobException(Code.KAFKA_UNAVAILABLE, String.format(
            "could not read back offset %d of partition %d of topic %s within 60 s",
            start + read, partition, topic));
      }
      batch = consumer.poll(Duration.ofMillis(500)).iterator();
    }
    ConsumerRecord<byte[], byte[]> r = batch.next();
    byte[] identity = r.key();
    if (inHeader) {
      org.apache.kafka.common.header.Header h = r.headers().lastHeader(KeyMode.HEADER_ID);
      identity = h == null ? null : KeyMode.idText(h.value());
    }
    if (!Arrays.equals(key, identity)) {
      String found = identity == null ? null : new String(identity, StandardCharsets.UTF_8);
      throw new JobException(mismatch, String.format(
          "partition %d of topic %s holds a record at offset %d that this batch did not write "
              + "(identity %s, expected %s): another producer is writing to the topic",
          partition, topic, r.offset(), found, new String(key, StandardCharsets.UTF_8)));
    }
    read++;
  }

  @Override
  public void close() {
    consumer.close(Duration.ofSeconds(5));
  }
}
