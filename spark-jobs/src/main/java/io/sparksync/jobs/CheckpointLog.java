package io.sparksync.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparksync.jobs.JobException.Code;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;

/**
 * The checkpoint's authoritative copy (DESIGN.md §5): a compacted Kafka topic holding, per target
 * topic, its lease and each file's checkpoint, as Kafka Connect keeps its source offsets in
 * {@code offset.storage.topic}. The driver (src/checkpoint/checkpoint-topic.ts) decides what the
 * records say; this class moves them, with the two guarantees that need Kafka's own client:
 *
 * <ul>
 *   <li>Reads are {@code read_committed} up to the last stable offset, so a reader sees every
 *       committed change and nothing of an aborted or fenced writer.
 *   <li>Writes go through a transactional producer whose {@code transactional.id} derives from the
 *       target topic. {@link #takeOver} calls {@code initTransactions}, which fences every earlier
 *       writer of that topic on any machine (KIP-98, as KIP-618 fences Connect's zombie tasks):
 *       its next write fails, and the driver reports {@code LEASE_LOST}.
 * </ul>
 *
 * <p>One transaction at a time: the driver's heartbeat and its batch commits may call at once
 * (the bridge runs each call on a thread of its own), and a producer has one open transaction.
 *
 * <p>All of a target topic's records go to one partition of the checkpoint topic (its name's
 * murmur2, as Kafka's default partitioner would place it), so one read sees them in order.
 * Data records are never written here: consumers of the target topic need no read_committed.
 */
public final class CheckpointLog implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String checkpointTopic;
  private final Map<String, String> kafka;
  private KafkaProducer<byte[], byte[]> producer;
  private String fencedFor;
  /** Set once a write failed: every later one fails the same way. */
  private JobException failed;

  private CheckpointLog(String checkpointTopic, Map<String, String> kafka) {
    this.checkpointTopic = checkpointTopic;
    this.kafka = kafka;
  }

  /**
   * @param kafkaConf {@code key=value} client settings (bootstrap servers and security)
   */
  public static CheckpointLog open(String checkpointTopic, String[] kafkaConf) {
    Map<String, String> kafka = new LinkedHashMap<>();
    for (String kv : kafkaConf) {
      int eq = kv.indexOf('=');
      if (eq > 0 && !kv.startsWith("spark-sync.")) {
        kafka.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
    }
    return new CheckpointLog(checkpointTopic, kafka);
  }

  /**
   * Every record of the target topic's partition, read_committed from its beginning to its last
   * stable offset, whose key starts with one of {@code prefixes}: the latest value of each key,
   * as compaction would leave it, as JSON {@code [[key, value or null], …]} in offset order.
   */
  public String read(String targetTopic, String[] prefixes, long timeoutMs) throws Exception {
    Properties p = clientProps();
    p.put("isolation.level", "read_committed");
    p.put("enable.auto.commit", "false");
    p.put("max.partition.fetch.bytes", Integer.toString(8 << 20));
    Map<String, String> latest = new LinkedHashMap<>();
    long deadline = System.currentTimeMillis() + timeoutMs;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      TopicPartition tp = new TopicPartition(checkpointTopic, partitionOf(
          visiblePartitions(consumer, deadline), targetTopic));
      consumer.assign(Collections.singletonList(tp));
      consumer.seekToBeginning(Collections.singletonList(tp));
      // Under read_committed this is the last stable offset: past every committed transaction.
      long end = consumer.endOffsets(Collections.singletonList(tp), Duration.ofMillis(timeoutMs))
          .get(tp);
      while (consumer.position(tp, Duration.ofMillis(timeoutMs)) < end) {
        if (System.currentTimeMillis() > deadline) {
          throw new JobException(Code.KAFKA_UNAVAILABLE, String.format(
              "could not read the checkpoint topic %s to its end (offset %d) within %d s",
              checkpointTopic, end, timeoutMs / 1000));
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          String key = r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8);
          for (String prefix : prefixes) {
            if (key.startsWith(prefix)) {
              latest.remove(key);
              latest.put(key, r.value() == null ? null : new String(r.value(), StandardCharsets.UTF_8));
              break;
            }
          }
        }
      }
    } catch (AuthorizationException e) {
      throw denied("read", e);
    } catch (TimeoutException e) {
      throw unavailable("reading", e);
    }
    List<String[]> out = new ArrayList<>();
    latest.forEach((k, v) -> out.add(new String[] {k, v}));
    return JSON.writeValueAsString(out);
  }

  /**
   * Becomes the one writer of the target topic's checkpoint: initialises the transactional
   * producer of {@code spark-sync-<target topic>}, which fences every earlier one (their next
   * write fails) and aborts what they left open.
   */
  public synchronized void takeOver(String targetTopic, long timeoutMs) {
    closeProducer();
    failed = null;
    Properties p = clientProps();
    p.put("transactional.id", "spark-sync-" + targetTopic);
    p.put("enable.idempotence", "true");
    p.put("acks", "all");
    p.put("max.block.ms", Long.toString(timeoutMs));
    p.put("transaction.timeout.ms", "60000");
    p.put("delivery.timeout.ms", Long.toString(Math.max(timeoutMs, 30_000)));
    p.put("request.timeout.ms", Long.toString(Math.min(timeoutMs, 30_000)));
    producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    fencedFor = targetTopic;
    try {
      producer.initTransactions();
    } catch (RuntimeException e) {
      JobException translated = translate("taking over the checkpoint of " + targetTopic, e);
      closeProducer();
      throw translated;
    }
  }

  /**
   * Writes records of the target topic in one transaction and returns once Kafka has committed
   * it: all of them or none become visible to readers. A null value deletes its key (a tombstone).
   * Fails with {@code LEASE_LOST} if another run has taken the topic over since {@link #takeOver}.
   */
  public synchronized void write(String targetTopic, String[] keys, String[] values) {
    if (failed != null) {
      // A producer whose transaction failed midway cannot be trusted with the next one.
      throw new JobException(failed.code(), "an earlier write of the checkpoint failed ("
          + failed.getMessage() + "); this run writes no more of it");
    }
    if (producer == null || !targetTopic.equals(fencedFor)) {
      throw new IllegalStateException("write before takeOver of " + targetTopic);
    }
    try {
      int partition = partitionOf(producer.partitionsFor(checkpointTopic), targetTopic);
      producer.beginTransaction();
      for (int i = 0; i < keys.length; i++) {
        producer.send(new ProducerRecord<>(checkpointTopic, partition,
            keys[i].getBytes(StandardCharsets.UTF_8),
            values[i] == null ? null : values[i].getBytes(StandardCharsets.UTF_8)));
      }
      producer.commitTransaction();
    } catch (RuntimeException e) {
      JobException translated = translate("writing the checkpoint of " + targetTopic, e);
      // Whatever the transaction's fate, this producer writes nothing more: the run stops, and
      // the next run (whose takeOver aborts anything left open) finds the state as committed.
      failed = translated;
      closeProducer();
      throw translated;
    }
  }

  /** Gives up the producer (the run ends, or hands the topic over). */
  @Override
  public synchronized void close() {
    closeProducer();
  }

  private void closeProducer() {
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
      producer = null;
      fencedFor = null;
    }
  }

  private Properties clientProps() {
    Properties p = new Properties();
    p.putAll(kafka);
    p.put("client.id", "spark-sync-checkpoint");
    return p;
  }

  /**
   * The checkpoint topic's partitions, waiting until the deadline while the client sees none: a
   * topic just created (the driver creates it on first use) reaches every broker's metadata a
   * moment later, and until then a consumer's lookup returns an empty list instead of waiting.
   */
  private List<PartitionInfo> visiblePartitions(KafkaConsumer<byte[], byte[]> consumer,
      long deadline) throws InterruptedException {
    while (true) {
      long left = Math.max(1, deadline - System.currentTimeMillis());
      List<PartitionInfo> partitions =
          consumer.partitionsFor(checkpointTopic, Duration.ofMillis(left));
      if ((partitions != null && !partitions.isEmpty()) || System.currentTimeMillis() >= deadline) {
        return partitions;
      }
      Thread.sleep(200);
    }
  }

  /** The checkpoint topic's partition that holds a target topic's records. */
  static int partitionOf(List<PartitionInfo> partitions, String targetTopic) {
    if (partitions == null || partitions.isEmpty()) {
      throw new JobException(Code.KAFKA_UNAVAILABLE,
          "the checkpoint topic has no partitions the client can see");
    }
    return Utils.toPositive(Utils.murmur2(targetTopic.getBytes(StandardCharsets.UTF_8)))
        % partitions.size();
  }

  private JobException translate(String what, RuntimeException e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
        return new JobException(Code.LEASE_LOST, what + " was refused: another spark-sync took "
            + "the topic over (its transactional producer fenced this one)", e);
      }
      if (t instanceof AuthorizationException) {
        return denied("write", (AuthorizationException) t);
      }
      if (t instanceof TimeoutException) {
        return unavailable(what, e);
      }
    }
    return new JobException(Code.KAFKA_WRITE_FAILED, what + " failed: "
        + JobException.firstLine(e), e);
  }

  private JobException denied(String operation, AuthorizationException e) {
    String what = e instanceof org.apache.kafka.common.errors.TransactionalIdAuthorizationException
        ? "the transactional id " + (fencedFor == null ? "spark-sync-<topic>" : "spark-sync-" + fencedFor)
            + " (Write and Describe) that the checkpoint topic " + checkpointTopic + " is written with"
        : "the " + (operation.equals("read") ? "Read" : "Write") + " permission on the checkpoint topic "
            + checkpointTopic;
    return new JobException(Code.KAFKA_NOT_AUTHORIZED, String.format(
        "Kafka refused this principal %s (%s)", what, e.getClass().getSimpleName()), e);
  }

  private JobException unavailable(String what, Throwable e) {
    return new JobException(Code.KAFKA_UNAVAILABLE, what + " the checkpoint topic "
        + checkpointTopic + " timed out (" + JobException.firstLine(e) + ")", e);
  }
}
