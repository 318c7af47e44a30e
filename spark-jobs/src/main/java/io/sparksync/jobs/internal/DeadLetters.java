package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobException;
import io.sparksync.jobs.JobException.Code;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Rows Kafka would refuse as too large. With a dead-letter topic, each goes there with headers
 * that say where it came from and why, as Kafka Connect's {@code errors.deadletterqueue.context.
 * headers.enable} does ({@code __connect.errors.*}); its value is the original if it fits under
 * the dead-letter topic's limit, else a prefix, marked truncated. Without one, the row stops the
 * run: a retry would fail the same way.
 *
 * <p>A dead letter is a row's one copy, so it is written exactly once too: a task sends it
 * counted with the batch's other records (the batch commits only once the dead-letter topic has
 * acknowledged it), and a retried task, a resumed batch and a recovery first read back which of
 * the file's positions the dead-letter topic already holds ({@link #positionsIn}) and skip them.
 */
final class DeadLetters {
  static final String PREFIX = "spark-sync.errors.";
  static final String HEADER_FILE = "spark-sync.file";
  static final String HEADER_POSITION = "spark-sync.position";
  /** The topic the row was meant for: one dead-letter topic may serve several. */
  static final String HEADER_TOPIC = PREFIX + "topic";

  private DeadLetters() {}

  /**
   * The dead-letter record of a too-large row, or a {@code RECORD_TOO_LARGE} failure when the run
   * has no dead-letter topic.
   *
   * @param rowHeaders the headers the row would have carried; its {@code spark-sync.id} (a
   *     business message key's identity) is kept, so audits find the row by its identity
   */
  static ProducerRecord<byte[], byte[]> record(RecordLimits limits, String topic, int partition,
      String fileIdentity, long position, byte[] key, byte[] value, int size,
      RecordHeaders rowHeaders) {
    String why = String.format("the row at position %d of %s is %d bytes as a Kafka record, over "
        + "the %d bytes topic %s takes (the producer's max.request.size and the topic's "
        + "max.message.bytes)", position, fileIdentity, size, limits.maxRecordBytes, topic);
    if (limits.deadLetterTopic == null) {
      throw new JobException(Code.RECORD_TOO_LARGE, why + "; pass --dead-letter-topic T to send "
          + "such rows there, or raise both limits (max.request.size through --kafka-config)");
    }
    RecordHeaders headers = new RecordHeaders();
    put(headers, HEADER_FILE, fileIdentity);
    put(headers, HEADER_POSITION, Long.toString(position));
    Header id = rowHeaders.lastHeader(KeyMode.HEADER_ID);
    if (id != null) {
      headers.add(KeyMode.HEADER_ID, id.value());
    }
    put(headers, HEADER_TOPIC, topic);
    put(headers, PREFIX + "partition", Integer.toString(partition));
    put(headers, PREFIX + "exception.class.name", RecordTooLargeException.class.getName());
    put(headers, PREFIX + "exception.message", why);
    put(headers, PREFIX + "original.size", Integer.toString(value.length));
    byte[] sent = value;
    int over = RecordLimits.sizeOf(key, value, withTruncated(headers, false).toArray())
        - (int) limits.deadLetterMaxBytes;
    if (over > 0) {
      // A prefix that fits, with room for the "true" mark and the varint growth of headers.
      sent = Arrays.copyOf(value, Math.max(0, value.length - over - 64));
    }
    return new ProducerRecord<>(limits.deadLetterTopic, null, key, sent,
        withTruncated(headers, over > 0));
  }

  /**
   * The positions of {@code fileIdentity}'s rows meant for {@code topic} that the dead-letter
   * topic holds, read from where the file's dead letters begin to the topic's end. Empty when the
   * file has no dead-letter topic. Dead letters are rare, so they are all held.
   */
  static Set<Long> positionsIn(Map<String, String> kafkaProps, RecordLimits limits, String topic,
      String fileIdentity) {
    Set<Long> positions = new HashSet<>();
    if (limits.deadLetterTopic == null || limits.deadLetterStartOffsets == null) {
      return positions;
    }
    Properties p = new Properties();
    p.putAll(kafkaProps);
    p.put("enable.auto.commit", "false");
    // Dead letters deleted since (retention) are not there to find: read what is left.
    p.put("auto.offset.reset", "earliest");
    byte[] file = fileIdentity.getBytes(StandardCharsets.UTF_8);
    byte[] target = topic.getBytes(StandardCharsets.UTF_8);
    List<TopicPartition> partitions = new ArrayList<>();
    for (int i = 0; i < limits.deadLetterStartOffsets.length; i++) {
      partitions.add(new TopicPartition(limits.deadLetterTopic, i));
    }
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.assign(partitions);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, Duration.ofSeconds(30));
      for (TopicPartition tp : partitions) {
        consumer.seek(tp, limits.deadLetterStartOffsets[tp.partition()]);
      }
      long deadline = System.currentTimeMillis() + 60_000;
      while (true) {
        boolean caughtUp = true;
        for (TopicPartition tp : partitions) {
          caughtUp &= consumer.position(tp) >= ends.get(tp);
        }
        if (caughtUp) {
          return positions;
        }
        if (System.currentTimeMillis() > deadline) {
          throw new JobException(Code.KAFKA_UNAVAILABLE, String.format(
              "could not read back the dead-letter topic %s within 60 s", limits.deadLetterTopic));
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(250))) {
          Header f = r.headers().lastHeader(HEADER_FILE);
          Header t = r.headers().lastHeader(HEADER_TOPIC);
          Header pos = r.headers().lastHeader(HEADER_POSITION);
          if (f != null && t != null && pos != null && Arrays.equals(f.value(), file)
              && Arrays.equals(t.value(), target)) {
            positions.add(Long.parseLong(new String(pos.value(), StandardCharsets.UTF_8)));
          }
        }
      }
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      throw new JobException(Code.KAFKA_UNAVAILABLE, String.format(
          "could not read the end offsets of the dead-letter topic %s within 30 s",
          limits.deadLetterTopic), e);
    }
  }

  private static RecordHeaders withTruncated(RecordHeaders headers, boolean truncated) {
    RecordHeaders copy = new RecordHeaders(headers.toArray());
    put(copy, PREFIX + "truncated", Boolean.toString(truncated));
    return copy;
  }

  private static void put(RecordHeaders headers, String key, String value) {
    headers.add(key, value.getBytes(StandardCharsets.UTF_8));
  }
}
