package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.unhex;

import java.util.BitSet;
import java.util.Collections;
import java.util.Iterator;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.AccumulatorV2;
import org.apache.spark.util.sketch.BloomFilter;

/**
 * Which rows of a range are natural-key records: the first row of each identity in the file, a
 * replay where the topic's identity index holds the identity from another file.
 *
 * <p>Two reads of the file. The first reads only the key columns and the positions: each
 * identity's first position (a hash aggregate over 32-byte digests, kept while it is used), joined
 * with the index's digests that a Bloom filter of the range's digests (gathered by the same read)
 * lets through, then folded into two bitmaps over the range's positions (the first row of its
 * identity; a replay). The driver broadcasts them: one bit a row, 1 MB for a 4M-row plan, and no
 * identity reaches the driver. The second read keeps the range's rows whose bit is set. So a
 * row's value crosses no shuffle before its batch is placed or sent, and the index's digests meet
 * only digests.
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
   * Marks, and the range's first rows of their identity as (digest, position), kept (memory, else
   * local disk) for the identity-index segments of its batches ({@link #sent}): the direct
   * write's plan ({@link NaturalPlan}) has no placed records to take them from.
   */
  record MarkedRows(Marks marks, long from, Dataset<Row> firsts) {
    /** The digests ({@link IdentityIndex#ID}) of the records sent at positions {@code [from, to)}. */
    Dataset<Row> sent(SparkSession spark, long from, long to) {
      Column position = col(SourceReader.POSITION);
      Dataset<Row> inRange = firsts.filter(position.geq(from).and(position.lt(to)));
      int replay = marks.replays().nextSetBit(bit(from, this.from));
      if (replay >= 0 && replay < bit(to, this.from)) {
        inRange = inRange.filter(not(marked(spark, marks, this.from)[1].apply(position)));
      }
      return inRange.select(col(DIGEST).as(IdentityIndex.ID));
    }

    void release() {
      firsts.unpersist(false);
    }
  }

  /**
   * Marks the records among rows {@code [from, …)} of {@code upTo} (which holds every row before
   * {@code from} too, since an earlier duplicate drops a row).
   */
  static Marks mark(SparkSession spark, Dataset<Row> upTo, Column identity, long from, long to,
      String index, String fileIdentity) {
    return mark(spark, upTo, identity, from, to, index, fileIdentity, false).marks();
  }

  /** As {@link #mark}; with {@code keep}, the first rows are kept too ({@link MarkedRows}). */
  static MarkedRows mark(SparkSession spark, Dataset<Row> upTo, Column identity, long from, long to,
      String index, String fileIdentity, boolean keep) {
    Column position = col(SourceReader.POSITION);
    Dataset<Row> digests = upTo.select(unhex(identity).as(DIGEST), position);
    // The file's own segments (its committed batches, a cut-off batch's tail) are left out, so
    // its own records are never its replays.
    Dataset<Row> held = index == null ? null
        : IdentityIndex.read(spark, index, IdentityIndex.ownPrefix(fileIdentity));
    boolean filtered = held != null && to - from <= BLOOM_MAX_ROWS;
    BloomOfDigests bloom = null;
    if (filtered) {
      // Gathered as the key columns are read for the aggregate below: no job of its own.
      bloom = new BloomOfDigests(Math.max(1, to - from), BLOOM_FPP);
      spark.sparkContext().register(bloom, "spark-sync.natural.bloom");
      digests = gathering(spark, digests, bloom, from);
    }
    Dataset<Row> firsts = digests
        .groupBy(DIGEST).agg(min(position).as(SourceReader.POSITION))
        .filter(col(SourceReader.POSITION).geq(from));
    boolean kept = filtered || keep;
    if (kept) {
      // The join and the segments take the range's first rows: kept (memory, else local disk) so
      // the key columns are read, hashed and aggregated once.
      firsts = firsts.persist(StorageLevel.MEMORY_AND_DISK());
    }
    boolean done = false;
    try {
      if (filtered) {
        firsts.count();
        held = held.filter(mightHold(spark, bloom.value()).apply(col(IdentityIndex.ID)));
      }
      Dataset<Row> marked = held == null
          ? firsts.select(col(SourceReader.POSITION), lit(false))
          : firsts.join(held, firsts.col(DIGEST).equalTo(held.col(IdentityIndex.ID)), "left")
              .select(firsts.col(SourceReader.POSITION), held.col(IdentityIndex.ID).isNotNull());
      MarkedRows m = new MarkedRows(Marks.of(words(marked, from)), from, keep ? firsts : null);
      done = true;
      return m;
    } finally {
      if (kept && !(keep && done)) {
        firsts.unpersist(false);
      }
    }
  }

  /**
   * {@code digests} (digest, position), each task putting the digests of its rows at positions
   * from {@code from} into {@code bloom} as they pass.
   */
  private static Dataset<Row> gathering(SparkSession spark, Dataset<Row> digests,
      BloomOfDigests bloom, long from) {
    StructType schema = digests.schema();
    long expected = bloom.expected;
    double fpp = bloom.fpp;
    JavaRDD<InternalRow> rows = digests.queryExecution().toRdd().toJavaRDD()
        .mapPartitions(it -> new Iterator<InternalRow>() {
          /** Made on the task's first digest of the range: a task before it sends no filter. */
          private BloomFilter filter;

          @Override
          public boolean hasNext() {
            boolean more = it.hasNext();
            if (!more && filter != null) {
              bloom.add(filter);
              filter = null;
            }
            return more;
          }

          @Override
          public InternalRow next() {
            InternalRow r = it.next();
            if (r.getLong(1) >= from) {
              if (filter == null) {
                filter = BloomFilter.create(expected, fpp);
              }
              filter.putBinary(r.getBinary(0));
            }
            return r;
          }
        });
    return spark.internalCreateDataFrame(rows.rdd(), schema, false);
  }

  /**
   * A Bloom filter over digests, merged from the tasks that put them (an accumulator: a task's
   * filter reaches the driver with its result, a retried task's again, which changes nothing).
   * Each is sized for the whole range (1.2 MB a million rows), so a plan's range is bounded
   * ({@link NaturalPlan#MAX_ROWS}): the tasks' filters all pass through the driver.
   */
  static final class BloomOfDigests extends AccumulatorV2<BloomFilter, BloomFilter> {
    private static final long serialVersionUID = 1L;
    final long expected;
    final double fpp;
    private BloomFilter filter;

    BloomOfDigests(long expected, double fpp) {
      this.expected = expected;
      this.fpp = fpp;
    }

    @Override
    public boolean isZero() {
      return filter == null;
    }

    @Override
    public AccumulatorV2<BloomFilter, BloomFilter> copy() {
      BloomOfDigests c = new BloomOfDigests(expected, fpp);
      if (filter != null) {
        c.add(filter);
      }
      return c;
    }

    @Override
    public void reset() {
      filter = null;
    }

    @Override
    public void add(BloomFilter f) {
      if (filter == null) {
        filter = BloomFilter.create(expected, fpp);
      }
      try {
        filter.mergeInPlace(f);
      } catch (org.apache.spark.util.sketch.IncompatibleMergeException e) {
        throw new IllegalStateException("Bloom filters of one range differ in size", e);
      }
    }

    @Override
    public void merge(AccumulatorV2<BloomFilter, BloomFilter> other) {
      if (!other.isZero()) {
        add(other.value());
      }
    }

    /** The merged filter; an empty one if no task put a digest. */
    @Override
    public BloomFilter value() {
      return filter != null ? filter : BloomFilter.create(expected, fpp);
    }
  }

  /** The marks of {@code marked} (position, replay) rows, as words. */
  private static long[][] words(Dataset<Row> marked, long from) {
    // Segments may overlap, so a row can come twice: its bit is set once.
    return marked.javaRDD().mapPartitions(rows -> {
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
  }

  /**
   * A test on digests that passes every digest put into {@code filter} (the range's first rows
   * of their identity) and about {@link #BLOOM_FPP} of the others, broadcast (about 1.2 MB a
   * million rows). The index's digests that cannot be the file's are dropped as the index is
   * read, so the join shuffles the index's matches and a few false positives instead of the whole
   * index (10M digests, 320 MB, for a 1M-row file against a 10M index).
   */
  private static UserDefinedFunction mightHold(SparkSession spark, BloomFilter filter) {
    Broadcast<byte[]> b =
        JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(bytes(filter));
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
    UserDefinedFunction[] bits = marked(spark, marks, from);
    UserDefinedFunction isFirst = bits[0];
    UserDefinedFunction isReplay = bits[1];
    Column position = col(SourceReader.POSITION);
    return inRange.filter(position.geq(from).and(isFirst.apply(position)))
        .select(identity.as(KeyColumns.KEY), value.as(KeyColumns.VALUE), position,
            messageKey.as(KeyColumns.MESSAGE_KEY), isReplay.apply(position).as(KeyColumns.REPLAY));
  }

  /**
   * Tests of a position against {@code marks} of a range starting at {@code from}, broadcast
   * once: {whether it is the first row of its identity, whether it is a replay}.
   */
  private static UserDefinedFunction[] marked(SparkSession spark, Marks marks, long from) {
    Broadcast<long[][]> b =
        JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(marks.words());
    return new UserDefinedFunction[] {
      udf(new Marked(b, from, 0), DataTypes.BooleanType),
      udf(new Marked(b, from, 1), DataTypes.BooleanType)
    };
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
