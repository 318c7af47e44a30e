package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.unhex;

import java.util.BitSet;
import java.util.Collections;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.sketch.BloomFilter;

/**
 * Which rows of a range are natural-key records: the first row of each identity in the file, a
 * replay where the topic's identity index holds the identity from another file.
 *
 * <p>Two reads of the file. The first reads only the key columns and the positions: each
 * identity's first position (a hash aggregate over 32-byte digests, kept while it is used twice),
 * joined with the index's digests that a Bloom filter of those first rows lets through, then
 * folded into two bitmaps over the range's positions (the first row of its identity; a replay).
 * The driver broadcasts them: one bit a row, 1 MB for a 4M-row plan, and no identity reaches the
 * driver. The second read keeps the range's rows whose bit is set. So a row's value crosses no
 * shuffle before its batch is placed, and the index's digests meet only digests.
 */
final class NaturalRows {
  private static final String DIGEST = "__spark_sync_digest";
  /** The Bloom filter's false-positive rate: 1% of the index's other digests reach the join. */
  private static final double BLOOM_FPP = 0.01;
  /**
   * Above this many rows the filter (1.2 MB a million rows, merged and broadcast by the driver)
   * is not built, and the whole index joins.
   */
  private static final long BLOOM_MAX_ROWS = 32_000_000L;

  private NaturalRows() {}

  /**
   * Positions relative to a range's start: the first rows of their identity, and the replays
   * among them. They travel between driver and executors as {@link #words}, plain long arrays,
   * whatever {@code spark.serializer} is.
   */
  record Marks(BitSet firsts, BitSet replays) {
    long[][] words() {
      return new long[][] {firsts.toLongArray(), replays.toLongArray()};
    }

    static Marks of(long[][] words) {
      return new Marks(BitSet.valueOf(words[0]), BitSet.valueOf(words[1]));
    }
  }

  /**
   * Marks the records among rows {@code [from, …)} of {@code upTo} (which holds every row before
   * {@code from} too, since an earlier duplicate drops a row).
   */
  static Marks mark(SparkSession spark, Dataset<Row> upTo, Column identity, long from, long to,
      String index, String fileIdentity) {
    Column position = col(SourceReader.POSITION);
    Dataset<Row> digests = upTo.select(unhex(identity).as(DIGEST), position);
    Dataset<Row> firsts = digests
        .groupBy(DIGEST).agg(min(position).as(SourceReader.POSITION))
        .filter(col(SourceReader.POSITION).geq(from));
    // The file's own segments (its committed batches, a cut-off batch's tail) are left out, so
    // its own records are never its replays.
    Dataset<Row> held = index == null ? null
        : IdentityIndex.read(spark, index, IdentityIndex.ownPrefix(fileIdentity));
    boolean filtered = held != null && to - from <= BLOOM_MAX_ROWS;
    if (filtered) {
      // The filter and the join both take the range's first rows: kept (memory, else local disk)
      // so the key columns are read, hashed and aggregated once for both.
      firsts = firsts.persist(StorageLevel.MEMORY_AND_DISK());
      held = held.filter(mightHold(spark, firsts, to - from).apply(col(IdentityIndex.ID)));
    }
    try {
      return Marks.of(words(firsts, held, from));
    } finally {
      if (filtered) {
        firsts.unpersist();
      }
    }
  }

  /** The marks of {@code firsts} (digest, position) against {@code held} (or none), as words. */
  private static long[][] words(Dataset<Row> firsts, Dataset<Row> held, long from) {
    Dataset<Row> marked = held == null
        ? firsts.select(col(SourceReader.POSITION), lit(false))
        : firsts.join(held, firsts.col(DIGEST).equalTo(held.col(IdentityIndex.ID)), "left")
            .select(firsts.col(SourceReader.POSITION), held.col(IdentityIndex.ID).isNotNull());
    // Segments may overlap, so a row can come twice: its bit is set once.
    long[][] words = marked.javaRDD().mapPartitions(rows -> {
      Marks m = new Marks(new BitSet(), new BitSet());
      while (rows.hasNext()) {
        Row r = rows.next();
        int bit = bit(r.getLong(0), from);
        m.firsts().set(bit);
        if (r.getBoolean(1)) {
          m.replays().set(bit);
        }
      }
      return Collections.singletonList(m.words()).iterator();
    }).fold(new Marks(new BitSet(), new BitSet()).words(), (a, b) -> {
      Marks m = Marks.of(a);
      Marks other = Marks.of(b);
      m.firsts().or(other.firsts());
      m.replays().or(other.replays());
      return m.words();
    });
    return words;
  }

  /**
   * A filter on digests that passes every digest of {@code digests} (at most {@code rows}: the
   * range's first rows of their identity) and about {@link #BLOOM_FPP} of the others: a Bloom
   * filter, built where the rows lie and broadcast (about 1.2 MB a million rows). The index's
   * digests that cannot be the file's are dropped as the index is read, so the join shuffles the
   * index's matches and a few false positives instead of the whole index (10M digests, 320 MB,
   * for a 1M-row file against a 10M index).
   */
  private static UserDefinedFunction mightHold(SparkSession spark, Dataset<Row> digests,
      long rows) {
    long expected = Math.max(1, rows);
    // An empty filter is the fold's zero: a range with no first rows may have no partition.
    byte[] filter = digests.select(col(DIGEST)).javaRDD().mapPartitions(it -> {
      BloomFilter f = BloomFilter.create(expected, BLOOM_FPP);
      while (it.hasNext()) {
        f.putBinary((byte[]) it.next().get(0));
      }
      return Collections.singletonList(bytes(f)).iterator();
    }).fold(bytes(BloomFilter.create(expected, BLOOM_FPP)), (a, b) -> {
      BloomFilter merged = filter(a);
      merged.mergeInPlace(filter(b));
      return bytes(merged);
    });
    Broadcast<byte[]> b = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(filter);
    return udf(new MightContain(b), DataTypes.BooleanType);
  }

  /** The broadcast filter's test, its bytes read once per task that uses it. */
  private static final class MightContain implements UDF1<byte[], Boolean> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<byte[]> filter;
    private transient BloomFilter read;

    MightContain(Broadcast<byte[]> filter) {
      this.filter = filter;
    }

    @Override
    public Boolean call(byte[] digest) {
      if (read == null) {
        read = filter(filter.value());
      }
      return read.mightContainBinary(digest);
    }
  }

  private static byte[] bytes(BloomFilter f) {
    try {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      f.writeTo(out);
      return out.toByteArray();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static BloomFilter filter(byte[] bytes) {
    try {
      return BloomFilter.readFrom(new java.io.ByteArrayInputStream(bytes));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * The rows of {@code inRange} (positions from {@code from}) that {@code marks} names as records,
   * as {@link KeyColumns#keyed} gives them, with {@link KeyColumns#REPLAY} from the marks.
   */
  static Dataset<Row> select(SparkSession spark, Dataset<Row> inRange, Marks marks, long from,
      Column identity, Column value, Column messageKey) {
    Broadcast<long[][]> b =
        JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(marks.words());
    UserDefinedFunction isFirst = udf(new Marked(b, from, 0), DataTypes.BooleanType);
    UserDefinedFunction isReplay = udf(new Marked(b, from, 1), DataTypes.BooleanType);
    Column position = col(SourceReader.POSITION);
    return inRange.filter(position.geq(from).and(isFirst.apply(position)))
        .select(identity.as(KeyColumns.KEY), value.as(KeyColumns.VALUE), position,
            messageKey.as(KeyColumns.MESSAGE_KEY), isReplay.apply(position).as(KeyColumns.REPLAY));
  }

  /** Whether a position's bit is set in one of the broadcast marks, read once per task. */
  private static final class Marked implements UDF1<Long, Boolean> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<long[][]> marks;
    private final long from;
    private final int which;
    private transient BitSet bits;

    Marked(Broadcast<long[][]> marks, long from, int which) {
      this.marks = marks;
      this.from = from;
      this.which = which;
    }

    @Override
    public Boolean call(Long position) {
      if (bits == null) {
        bits = BitSet.valueOf(marks.value()[which]);
      }
      return bits.get(bit(position, from));
    }
  }

  private static int bit(long position, long from) {
    long bit = position - from;
    if (bit < 0 || bit > Integer.MAX_VALUE - 1) {
      throw new IllegalStateException("natural-key ranges hold at most 2^31 − 1 rows; position "
          + position + " lies " + bit + " rows from the range's start " + from);
    }
    return (int) bit;
  }
}
