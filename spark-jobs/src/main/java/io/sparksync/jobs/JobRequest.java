package io.sparksync.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparksync.jobs.internal.KeyMode;
import java.util.ArrayList;
import java.util.List;

/**
 * One operation's request, as the driver builds it (src/spark/job-requests.ts) and sends it across
 * the bridge as JSON: which file, keyed how, to or from which topic with which Kafka settings,
 * and which rows and offsets. One shape for every operation of {@link SparkSyncJobs}, each
 * reading the fields it needs, so a new option is one field here and one there, not a new
 * positional argument on both sides. Unknown fields are refused: a misspelt one is a bug.
 */
public final class JobRequest {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A source file: its path or URI, format, identity (its path relative to the source root). */
  public static final class Source {
    public String path;
    public String format;
    public String identity;
    /** The file's rows (the batch plan's bound; an audit's rows to key). */
    public long rows;
  }

  /** How records are keyed (DESIGN.md §3); empty means the default. */
  public static final class Keys {
    public String[] keyFields = new String[0];
    public String[] messageKey = new String[0];
    /** The topic's identity index (a folder URI), needed in natural-key mode. */
    public String identityIndex = "";
  }

  /** Offsets {@code [from[p], to[p])} of every partition p. */
  public static final class OffsetRange {
    public long[] from;
    public long[] to;
  }

  public Source source;
  public Keys keys = new Keys();
  public String topic;
  /** {@code key=value} Kafka client settings, and spark-sync's own {@code spark-sync.*} ones. */
  public String[] kafkaConf = new String[0];
  /** Rows {@code [from, to)}. */
  public long from;
  public long to;
  /** The batch size the batch plan is cut in (writes and resumes). */
  public long batchSize;
  /** Per partition, the end offsets the checkpoint holds before a batch (writes and resumes). */
  public long[] startOffsets;
  /** Where records already are: a recovery's key window, an audit's file ranges, a segment's ranges. */
  public List<OffsetRange> ranges = new ArrayList<>();
  /** Where a recovery appends: the topic's end offsets now. */
  public long[] writeFrom;
  /** An audit: where the file's dead letters are ({@code topic@o0,o1,…}) or empty. */
  public String deadLetters = "";
  /** An audit of the whole topic: each partition's first offset; null for the range audit. */
  public long[] topicFrom;
  /** An audit: each partition's end offset (its length is the partition count). */
  public long[] topicTo;
  /** The natural-key audit: one request per file, each with its source, keys, ranges, dead letters. */
  public List<JobRequest> files = new ArrayList<>();
  /** An identity-index segment's name. */
  public String segment;
  /** A segment written from the batch plan: how many identities the batch put into Kafka. */
  public long identities = -1;
  /** A preview: how many rows. */
  public long limit;

  /** Parses a request; a malformed one is a programming error of the driver. */
  public static JobRequest parse(String json) {
    try {
      return JSON.readValue(json, JobRequest.class);
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("a malformed job request: " + e.getMessage(), e);
    }
  }

  /** The key mode, with the topic's identity index (natural keys need it). */
  public KeyMode keyMode() {
    return KeyMode.of(keys.keyFields, keys.messageKey, keys.identityIndex);
  }

  /** The key mode without the index: a preview, a read of identities. */
  public KeyMode keyModeWithoutIndex() {
    return KeyMode.withoutIndex(keys.keyFields, keys.messageKey);
  }

  /** The ranges' start offsets, flattened range by range (range r's partition p at r·P + p). */
  public long[] rangeFrom() {
    return flatten(true);
  }

  /** The ranges' end offsets, flattened as {@link #rangeFrom}. */
  public long[] rangeTo() {
    return flatten(false);
  }

  private long[] flatten(boolean from) {
    int n = 0;
    for (OffsetRange r : ranges) {
      n += r.from.length;
    }
    long[] out = new long[n];
    int i = 0;
    for (OffsetRange r : ranges) {
      for (long o : from ? r.from : r.to) {
        out[i++] = o;
      }
    }
    return out;
  }
}
