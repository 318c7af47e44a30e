package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobException;
import io.sparksync.jobs.JobException.Code;
import java.time.Duration;
import java.util.Collections;
import java.util.Iterator;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import scala.Tuple2;

/**
 * Runs inside one Spark task and writes one batch's records of one Kafka partition, in position
 * order. Before writing it asks Kafka how far the partition already is. A retried task skips the
 * records its earlier attempt wrote (end offset − the batch's start offset), so a retry never
 * duplicates; it first reads those records back and checks their keys are its own, in order, so
 * another producer's records are never mistaken for its own. A first attempt must find nothing
 * past the start offset at all, unless it resumes a batch a crashed run cut off: that run's task
 * wrote the same records in the same order, so they are skipped the same way. A write that may
 * repeat an earlier one (a retry, a resume, a recovery's delta) first learns which rows the
 * dead-letter topic already holds, so none goes there twice.
 */
final class PartitionWriter {
  /**
   * How long a partition's end offset must stand still before a retried or resumed task counts
   * what is there. An executor whose worker died goes on writing until its JVM has exited,
   * while the driver already runs its task again elsewhere; two attempts writing one partition
   * at once would duplicate. A dying executor stops its producers at once (see
   * {@link TaskProducer}), so its last records land within this time.
   */
  static final long SETTLE_MS = 3_000;
  /** Gives up waiting for a partition that never stands still: another producer writes to it. */
  static final long SETTLE_MAX_MS = 60_000;

  private PartitionWriter() {}

  /**
   * What one task did: its partition, the batch's records there, how many it sent and skipped,
   * and how many rows it sent to the dead-letter topic instead (not counted in records).
   */
  static long[] result(int partition, long records, long sent, long skipped, long deadLettered) {
    return result(partition, records, sent, skipped, deadLettered, 0);
  }

  /** As above, with the rows not sent because another file already sent their identity. */
  static long[] result(int partition, long records, long sent, long skipped, long deadLettered,
      long replayed) {
    return new long[] {partition, records, sent, skipped, deadLettered, replayed};
  }

  static long[] write(
      int partition,
      Iterator<Tuple2<Slot, Tuple2<byte[], byte[]>>> records,
      String topic,
      Map<String, String> kafkaProps,
      long batchStartOffset,
      String fileIdentity,
      boolean resume,
      boolean recovery,
      RecordLimits limits,
      KeyMode mode) {
    boolean firstAttempt = TaskProducer.firstAttempt();
    // A first write of a partition the batch has no rows for has nothing to check: the driver's
    // offset check after the batch sees any stray. A retry or a resume must look even then, so a
    // stray there sends the resume to the anti-join (RESUME_MISMATCH) like one anywhere else.
    if (!records.hasNext() && firstAttempt && !resume) {
      return result(partition, 0, 0, 0, 0);
    }
    // What a mismatch in the already-written records means: foreign writes, or (resuming a batch
    // cut off by a crash) a partition the driver must recover with the anti-join instead.
    Code mismatch = resume ? Code.RESUME_MISMATCH : Code.OFFSET_MISMATCH;
    long end = endOffset(kafkaProps, topic, partition);
    // A retry may race the attempt it replaces. A resumed batch may race the executors of the
    // crashed driver on a cluster; in local mode they died with the driver's JVM.
    if (!firstAttempt || (resume && end > batchStartOffset && !localMaster())) {
      end = settledEndOffset(kafkaProps, topic, partition, end, mismatch);
    }
    long alreadyWritten = end - batchStartOffset;
    if (alreadyWritten < 0) {
      throw new JobException(Code.OFFSET_MISMATCH, String.format(
          "partition %d of topic %s ends at offset %d, below the batch's start offset %d: the topic "
              + "was truncated or recreated while the batch ran", partition, topic, end,
          batchStartOffset));
    }
    if (alreadyWritten > 0 && firstAttempt && !resume) {
      throw new JobException(Code.OFFSET_MISMATCH, String.format(
          "partition %d of topic %s holds %d records past the batch's start offset %d before the "
              + "batch wrote anything: another producer is writing to the topic",
          partition, topic, alreadyWritten, batchStartOffset));
    }
    if (!records.hasNext() && alreadyWritten > 0) {
      throw new JobException(mismatch, String.format(
          "partition %d of topic %s holds %d records past the batch's start offset %d, but the "
              + "batch has no rows for it: another producer is writing to the topic",
          partition, topic, alreadyWritten, batchStartOffset));
    }
    long seen = 0;
    long deadLettered = 0;
    long replayed = 0;
    try (WrittenKeys written = alreadyWritten > 0
            ? new WrittenKeys(kafkaProps, topic, partition, batchStartOffset, mismatch,
                mode.messageKeyed()) : null;
        TaskProducer producer = new TaskProducer(kafkaProps, topic, fileIdentity, limits)) {
      if (!firstAttempt || resume || recovery) {
        producer.readDeadLetters(kafkaProps);
      }
      while (records.hasNext() && !producer.failed()) {
        producer.checkRunning(partition);
        Tuple2<Slot, Tuple2<byte[], byte[]>> r = records.next();
        if (r._1().partition != partition) {
          throw new IllegalStateException("record of Kafka partition " + r._1().partition
              + " placed in the task of partition " + partition);
        }
        long position = r._1().position;
        if (r._2()._2().length == 0) {
          // A replay (natural keys): another file sent this identity; counted, never sent, on
          // every attempt alike, so it never takes part in the skip count below.
          replayed++;
          continue;
        }
        byte[] placedKey = r._2()._1();
        byte[] key = mode.kafkaKey(placedKey);
        RecordHeaders headers = producer.headers(position);
        if (mode.messageKeyed()) {
          headers.add(KeyMode.HEADER_ID, KeyMode.idHeader(mode.identity(placedKey)));
        }
        if (producer.deadLettered(partition, position, key, r._2()._2(), headers)) {
          deadLettered++;
          continue;
        }
        if (seen++ < alreadyWritten) {
          written.expect(mode.identity(placedKey));
          continue;
        }
        producer.send(partition, key, r._2()._2(), headers);
      }
      producer.flush("partition " + partition);
      if (alreadyWritten > seen) {
        throw new JobException(mismatch, String.format(
            "partition %d of topic %s holds %d records past the batch's start offset %d, but the "
                + "batch has only %d for it: another producer is writing to the topic",
            partition, topic, alreadyWritten, batchStartOffset, seen));
      }
      return result(partition, seen, producer.sent, alreadyWritten, deadLettered, replayed);
    }
  }

  /** acks=all and idempotence keep each partition's records in order and free of retry copies. */
  static Properties producerProps(Map<String, String> kafkaProps) {
    Properties p = new Properties();
    p.putAll(kafkaProps);
    p.put("acks", "all");
    p.put("enable.idempotence", "true");
    p.putIfAbsent("max.in.flight.requests.per.connection", "5");
    p.putIfAbsent("linger.ms", "20");
    p.putIfAbsent("batch.size", "262144");
    return p;
  }

  static boolean localMaster() {
    org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
    return env == null || env.conf().get("spark.master", "local").startsWith("local");
  }

  /**
   * The partition's end offset once it has stood still for {@link #SETTLE_MS}: what an earlier
   * attempt of this task (or a crashed run's) wrote, with nothing of it still arriving.
   */
  static long settledEndOffset(Map<String, String> kafkaProps, String topic, int partition,
      long end, Code mismatch) {
    long deadline = System.currentTimeMillis() + SETTLE_MAX_MS;
    long stillSince = System.currentTimeMillis();
    while (System.currentTimeMillis() - stillSince < SETTLE_MS) {
      if (System.currentTimeMillis() > deadline) {
        throw new JobException(mismatch, String.format(
            "partition %d of topic %s kept growing for %d s while a retried task waited for it to "
                + "stand still: another producer is writing to the topic", partition, topic,
            SETTLE_MAX_MS / 1000));
      }
      try {
        Thread.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for partition " + partition, e);
      }
      long now = endOffset(kafkaProps, topic, partition);
      if (now != end) {
        end = now;
        stillSince = System.currentTimeMillis();
      }
    }
    return end;
  }

  static long endOffset(Map<String, String> kafkaProps, String topic, int partition) {
    Properties p = new Properties();
    p.putAll(kafkaProps);
    p.put("enable.auto.commit", "false");
    TopicPartition tp = new TopicPartition(topic, partition);
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      return consumer.endOffsets(Collections.singletonList(tp), Duration.ofSeconds(30)).get(tp);
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      throw new JobException(Code.KAFKA_UNAVAILABLE, String.format(
          "could not read the end offset of partition %d of topic %s within 30 s", partition, topic), e);
    }
  }
}
