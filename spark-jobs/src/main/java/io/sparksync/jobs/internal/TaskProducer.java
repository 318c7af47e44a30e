package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobException;
import io.sparksync.jobs.JobException.Code;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.spark.TaskContext;

/**
 * One writing task's Kafka producer ({@code acks=all}, idempotent), shared by both write paths
 * ({@link PartitionWriter}, {@link DirectWriter}): the headers a record carries, the size
 * check that sends a too-large row to the dead-letter topic, the stop checks, and what a failed
 * send means. A task that stops early (killed, cancelled, failed) drops what it has not sent: the
 * next attempt or run writes it, and must not race records of this one still on their way.
 *
 * <p>The ordered path gives each task a producer of its own. The direct path's tasks of one JVM
 * share one ({@link #shared}), as Spark's own Kafka sink does, across batches too: it is closed
 * once idle for {@link #IDLE_CLOSE_MS}. At 10M rows in 10 batches, a producer per task cost the
 * broker 12.3 CPU seconds, one per batch about the same, one kept across batches 6.3 (the plain
 * sink: 6.0). A task still waits for its own records' acknowledgements only. A task that stops
 * early closes the shared producer at once, dropping every task's unsent records: the others'
 * sends then fail, and their retries read back what reached Kafka, as for any failed task.
 */
public final class TaskProducer implements AutoCloseable {
  static final String HEADER_FILE = "spark-sync.file";
  static final String HEADER_POSITION = "spark-sync.position";
  /**
   * More than a record's batch framing and headers can add to its key and value (the batch header
   * is 61 bytes, a record's own varints a few dozen, the headers spark-sync.file with the file
   * identity, spark-sync.position and spark-sync.id): below the limit by this much, it fits.
   */
  private final int headroomBytes;

  /**
   * The producers of this JVM's running tasks. When the JVM begins to exit (an executor whose
   * worker or driver is gone), they are closed at once, dropping what they have not sent: the
   * task will run again elsewhere, and must not race a zombie of itself.
   */
  private static final Set<KafkaProducer<byte[], byte[]>> PRODUCERS = ConcurrentHashMap.newKeySet();
  private static volatile boolean exiting;

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      exiting = true;
      for (KafkaProducer<byte[], byte[]> p : PRODUCERS) {
        p.close(Duration.ZERO);
      }
    }, "spark-sync-stop-producers"));
  }

  /** The shared producers of this JVM by their settings, with how many tasks use each. */
  private static final Map<Properties, Shared> SHARED = new HashMap<>();

  private static final class Shared {
    final KafkaProducer<byte[], byte[]> producer;
    int users;
    /** When the last task released it (System.nanoTime), if none uses it now. */
    long idleSince;

    Shared(KafkaProducer<byte[], byte[]> producer) {
      this.producer = producer;
    }
  }

  private final KafkaProducer<byte[], byte[]> producer;
  /** The pool entry when the producer is shared, else null. */
  private final Shared shared;
  private final String topic;
  private final String fileIdentity;
  private final byte[] file;
  private final RecordLimits limits;
  private final TaskContext task = TaskContext.get();
  private final AtomicReference<Exception> failure = new AtomicReference<>();
  private boolean flushed;
  /** Sends (to the topic or the dead-letter topic) whose callback has not run yet. */
  private final AtomicLong outstanding = new AtomicLong();
  /** The file's positions the dead-letter topic already holds, once read ({@link #readDeadLetters}). */
  private Set<Long> deadLetteredBefore;
  private final long deliveryTimeoutMs;
  private static final long FLUSH_MARGIN_MS = 15_000;
  long sent;

  /** A task's own producer. */
  TaskProducer(Map<String, String> kafkaProps, String topic, String fileIdentity,
      RecordLimits limits) {
    this(kafkaProps, topic, fileIdentity, limits, null);
  }

  /** A producer shared with this JVM's other tasks of the same settings (see the class). */
  static TaskProducer shared(Map<String, String> kafkaProps, String topic, String fileIdentity,
      RecordLimits limits) {
    Properties props = PartitionWriter.producerProps(kafkaProps);
    synchronized (SHARED) {
      Shared s = SHARED.computeIfAbsent(props, p -> new Shared(newProducer(p)));
      s.users++;
      closeIdleLater();
      return new TaskProducer(kafkaProps, topic, fileIdentity, limits, s);
    }
  }

  private static KafkaProducer<byte[], byte[]> newProducer(Properties props) {
    KafkaProducer<byte[], byte[]> p =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    PRODUCERS.add(p);
    return p;
  }

  private TaskProducer(Map<String, String> kafkaProps, String topic, String fileIdentity,
      RecordLimits limits, Shared shared) {
    this.shared = shared;
    this.producer = shared != null ? shared.producer
        : newProducer(PartitionWriter.producerProps(kafkaProps));
    this.topic = topic;
    this.fileIdentity = fileIdentity;
    this.file = fileIdentity.getBytes(StandardCharsets.UTF_8);
    this.limits = limits;
    this.deliveryTimeoutMs = Long.parseLong(kafkaProps.getOrDefault("delivery.timeout.ms", "120000"));
    this.headroomBytes = 1024 + 2 * file.length;
  }

  /** Whether this attempt is the task's first (a retry must first find what an earlier one wrote). */
  static boolean firstAttempt() {
    TaskContext task = TaskContext.get();
    return task == null || (task.attemptNumber() == 0 && task.stageAttemptNumber() == 0);
  }

  /** Throws once the task was killed or cancelled, or the JVM is exiting; or a send failed. */
  void checkRunning(int partition) {
    if (exiting || (task != null && task.isInterrupted())) {
      throw new IllegalStateException("the task was stopped while writing partition " + partition
          + " of " + topic);
    }
  }

  /** Whether a send so far has failed: the task stops sending and reports it at {@link #flush}. */
  boolean failed() {
    return failure.get() != null;
  }

  /**
   * The headers of a record: none by default (its bytes are then what Spark's own sink writes),
   * its file and position with --lineage-headers; a writer may add more (the identity).
   */
  RecordHeaders headers(long position) {
    RecordHeaders headers = new RecordHeaders();
    if (limits.lineageHeaders) {
      headers.add(HEADER_FILE, file);
      headers.add(HEADER_POSITION, Long.toString(position).getBytes(StandardCharsets.UTF_8));
    }
    return headers;
  }

  /**
   * Before a write that may repeat an earlier one (a retried task, a resumed batch, a recovery):
   * learns which of the file's rows the dead-letter topic already holds, so they are not sent
   * there again.
   */
  void readDeadLetters(Map<String, String> kafkaProps) {
    deadLetteredBefore = DeadLetters.positionsIn(kafkaProps, limits, topic, fileIdentity);
  }

  /**
   * Returns true if the row belongs in the dead-letter topic, not the partition: it is there
   * already (an earlier attempt or run put it there), or Kafka would refuse it as too large (on
   * every attempt), in which case it is sent there now, counted with the batch's records so the
   * task waits for its acknowledgement too. False if it fits.
   */
  boolean deadLettered(int partition, long position, byte[] key, byte[] value,
      RecordHeaders headers) {
    if (deadLetteredBefore != null && deadLetteredBefore.contains(position)) {
      return true;
    }
    // Most records are far below the limit: the exact estimate only near it.
    if (key.length + value.length + headroomBytes < limits.maxRecordBytes) {
      return false;
    }
    int size = RecordLimits.sizeOf(key, value, headers.toArray());
    if (size <= limits.maxRecordBytes) {
      return false;
    }
    sendCounted(DeadLetters.record(limits, topic, partition, fileIdentity, position, key, value,
        size, headers));
    return true;
  }

  void send(int partition, byte[] key, byte[] value, RecordHeaders headers) {
    sendCounted(new ProducerRecord<>(topic, partition, null, key, value, headers));
    sent++;
    if (TestFaults.armed()) {
      TestFaults.afterSend(sent, producer::flush);
    }
  }

  /**
   * Every record a task sends, to the topic or the dead-letter topic, is counted until Kafka
   * answers for it: {@link #flush} returns only once all of them are acknowledged.
   */
  private void sendCounted(ProducerRecord<byte[], byte[]> record) {
    outstanding.incrementAndGet();
    producer.send(record, (meta, e) -> {
      if (e != null) {
        failure.compareAndSet(null, e);
      }
      outstanding.decrementAndGet();
    });
  }

  /** Waits until Kafka acknowledged every send; a failed one is thrown as the job's error code. */
  void flush(String where) {
    // KafkaProducer.flush() has no timeout, and with two of three brokers gone it was seen to
    // wait far past the delivery timeout. Every send completes (acknowledged or failed) within
    // delivery.timeout.ms, so wait for the callbacks that long plus a margin, then give up.
    long deadline = System.currentTimeMillis() + deliveryTimeoutMs + FLUSH_MARGIN_MS;
    while (outstanding.get() > 0) {
      if (System.currentTimeMillis() > deadline) {
        throw new JobException(Code.KAFKA_UNAVAILABLE, String.format(
            "Kafka did not acknowledge %d records of %s of topic %s within the delivery timeout "
                + "(%d ms) and %d s more", outstanding.get(), where, topic, deliveryTimeoutMs,
            FLUSH_MARGIN_MS / 1000));
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for Kafka's acknowledgements", e);
      }
    }
    flushed = true;
    Exception e = failure.get();
    if (e instanceof org.apache.kafka.common.errors.RecordTooLargeException) {
      throw new JobException(Code.RECORD_TOO_LARGE, String.format(
          "Kafka refused a record of %s of topic %s as too large (%s): raise the topic's "
              + "max.message.bytes, or pass --dead-letter-topic", where, topic, e.getMessage()));
    }
    if (e != null) {
      throw new JobException(Code.KAFKA_WRITE_FAILED, String.format(
          "writing %s of topic %s failed: %s", where, topic, e), e);
    }
  }

  @Override
  public void close() {
    if (shared == null) {
      PRODUCERS.remove(producer);
      producer.close(flushed ? Duration.ofMillis(Long.MAX_VALUE) : Duration.ZERO);
      return;
    }
    synchronized (SHARED) {
      shared.users--;
      shared.idleSince = System.nanoTime();
      if (flushed) {
        return; // kept for the next task; closed once idle
      }
      // Stopped early: no task may go on sending through it (this one's unsent records must not
      // race its next attempt).
      SHARED.values().remove(shared);
    }
    PRODUCERS.remove(producer);
    producer.close(Duration.ZERO);
  }

  /** How long a shared producer no task uses stays open for the next batch or file. */
  static final long IDLE_CLOSE_MS = 30_000;
  private static ScheduledExecutorService idleCloser;

  /** Starts, once per JVM, the daemon that closes shared producers idle for IDLE_CLOSE_MS. */
  private static void closeIdleLater() {
    if (idleCloser != null) {
      return;
    }
    idleCloser = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "spark-sync-close-idle-producers");
      t.setDaemon(true);
      return t;
    });
    idleCloser.scheduleWithFixedDelay(() -> closeIdle(IDLE_CLOSE_MS), 5, 5, TimeUnit.SECONDS);
  }

  /** Closes the shared producers no task uses (the session is stopping). */
  public static void closeShared() {
    closeIdle(0);
  }

  private static void closeIdle(long idleMs) {
    List<Shared> idle = new ArrayList<>();
    synchronized (SHARED) {
      long now = System.nanoTime();
      SHARED.values().removeIf(s -> {
        boolean close = s.users == 0 && now - s.idleSince >= idleMs * 1_000_000;
        if (close) {
          idle.add(s);
        }
        return close;
      });
    }
    for (Shared s : idle) {
      // Every task that used it waited for its acknowledgements: nothing is left to send.
      PRODUCERS.remove(s.producer);
      s.producer.close(Duration.ofSeconds(5));
    }
  }
}
