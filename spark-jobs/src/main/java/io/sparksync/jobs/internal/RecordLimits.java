package io.sparksync.jobs.internal;

import java.io.Serializable;
import java.util.Map;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.RecordBatch;

/**
 * How large a record Kafka takes, where a larger one goes, and whether records carry the lineage
 * headers. The driver reads the limits (the producer's {@code max.request.size}, the topics'
 * {@code max.message.bytes}) and passes them with the Kafka settings as {@code spark-sync.*}
 * keys. A record over the limit is refused the same way on every attempt, so it is decided before
 * sending: it goes to the dead-letter topic if there is one, else the task fails with
 * {@code RECORD_TOO_LARGE}.
 */
final class RecordLimits implements Serializable {
  private static final long serialVersionUID = 1L;
  static final String MAX_RECORD_BYTES = "spark-sync.max.record.bytes";
  static final String DEAD_LETTER_TOPIC = "spark-sync.dead.letter.topic";
  static final String DEAD_LETTER_MAX_BYTES = "spark-sync.dead.letter.max.record.bytes";
  /**
   * The dead-letter topic's end offsets when the file first ran with it (comma-separated, per
   * partition): every dead letter of the file lies at or past them. Absent for a file that never
   * had a dead-letter topic.
   */
  static final String DEAD_LETTER_START_OFFSETS = "spark-sync.dead.letter.start.offsets";
  /** {@code true}: every record carries {@code spark-sync.file} and {@code spark-sync.position}. */
  static final String LINEAGE_HEADERS = "spark-sync.lineage.headers";
  /** The producer's own default max.request.size, when the driver passed no limit. */
  static final long DEFAULT_MAX_RECORD_BYTES = 1_048_576L;

  final long maxRecordBytes;
  /** Null when the run has no dead-letter topic. */
  final String deadLetterTopic;
  final long deadLetterMaxBytes;
  /** Where the file's dead letters begin in the dead-letter topic, or null (none can be there). */
  final long[] deadLetterStartOffsets;
  /**
   * Whether records carry their file and position as headers (--lineage-headers), for consumers
   * that trace a record to its row. spark-sync's own checks never read them: it identifies a
   * record by its key (DESIGN.md §3), so runs with and without them mix safely.
   */
  final boolean lineageHeaders;

  private RecordLimits(long maxRecordBytes, String deadLetterTopic, long deadLetterMaxBytes,
      long[] deadLetterStartOffsets, boolean lineageHeaders) {
    this.maxRecordBytes = maxRecordBytes;
    this.deadLetterTopic = deadLetterTopic;
    this.deadLetterMaxBytes = deadLetterMaxBytes;
    this.deadLetterStartOffsets = deadLetterStartOffsets;
    this.lineageHeaders = lineageHeaders;
  }

  static RecordLimits from(String[] kafkaConf) {
    Map<String, String> all = KeyValues.all(kafkaConf);
    long max = Long.parseLong(all.getOrDefault(MAX_RECORD_BYTES, Long.toString(DEFAULT_MAX_RECORD_BYTES)));
    String dlq = all.get(DEAD_LETTER_TOPIC);
    long dlqMax = Long.parseLong(all.getOrDefault(DEAD_LETTER_MAX_BYTES, Long.toString(max)));
    String starts = all.get(DEAD_LETTER_START_OFFSETS);
    long[] startOffsets = starts == null || starts.isEmpty() ? null
        : java.util.Arrays.stream(starts.split(",")).mapToLong(Long::parseLong).toArray();
    boolean hasTopic = dlq != null && !dlq.isEmpty();
    return new RecordLimits(max, hasTopic ? dlq : null, dlqMax, hasTopic ? startOffsets : null,
        Boolean.parseBoolean(all.get(LINEAGE_HEADERS)));
  }

  /**
   * The size the producer checks against {@code max.request.size} (its own upper bound of the
   * record in a batch of its own, uncompressed), so a record under the limit is one it sends.
   */
  static int sizeOf(byte[] key, byte[] value, Header[] headers) {
    return AbstractRecords.estimateSizeInBytesUpperBound(RecordBatch.CURRENT_MAGIC_VALUE,
        CompressionType.NONE, key, value, headers);
  }
}
