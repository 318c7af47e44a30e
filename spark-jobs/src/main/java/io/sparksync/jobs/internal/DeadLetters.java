package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobException;
import io.sparksync.jobs.JobException.Code;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Rows Kafka would refuse as too large. With a dead-letter topic, each goes there with headers
 * that say where it came from and why, as Kafka Connect's {@code errors.deadletterqueue.context.
 * headers.enable} does ({@code __connect.errors.*}); its value is the original if it fits under
 * the dead-letter topic's limit, else a prefix, marked truncated. Without one, the row stops the
 * run: a retry would fail the same way.
 */
final class DeadLetters {
  static final String PREFIX = "spark-sync.errors.";

  private DeadLetters() {}

  static void send(KafkaProducer<byte[], byte[]> producer, RecordLimits limits, String topic,
      int partition, String fileIdentity, long position, byte[] key, byte[] value, int size,
      AtomicReference<Exception> failure) {
    String why = String.format("the row at position %d of %s is %d bytes as a Kafka record, over "
        + "the %d bytes topic %s takes (the producer's max.request.size and the topic's "
        + "max.message.bytes)", position, fileIdentity, size, limits.maxRecordBytes, topic);
    if (limits.deadLetterTopic == null) {
      throw new JobException(Code.RECORD_TOO_LARGE, why + "; pass --dead-letter-topic T to send "
          + "such rows there, or raise both limits (max.request.size through --kafka-config)");
    }
    RecordHeaders headers = new RecordHeaders();
    put(headers, "spark-sync.file", fileIdentity);
    put(headers, "spark-sync.position", Long.toString(position));
    put(headers, PREFIX + "topic", topic);
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
    ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(limits.deadLetterTopic, null,
        key, sent, withTruncated(headers, over > 0));
    producer.send(record, (meta, e) -> {
      if (e != null) {
        failure.compareAndSet(null, e);
      }
    });
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
