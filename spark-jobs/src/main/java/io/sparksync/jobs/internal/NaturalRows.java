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

/**
 * Which rows of a range are natural-key records: the first row of each identity in the file, a
 * replay where the topic's identity index holds the identity from another file.
 *
 * <p>Two reads of the file. The first reads only the key columns and the positions: each
 * identity's first position (a hash aggregate over 32-byte digests), joined with the index's
 * digests, then folded into two bitmaps over the range's positions (the first row of its identity;
 * a replay). The driver broadcasts them: one bit a row, 1 MB for a 4M-row plan, and no identity
 * reaches the driver. The second read keeps the range's rows whose bit is set. So a row's value
 * crosses no shuffle before its batch is placed, and the index's digests meet only digests.
 */
final class NaturalRows {
  private static final String DIGEST = "__spark_sync_digest";

  private NaturalRows() {}

  /**
   * Positions relative to a range's start: the first rows of their identity, and the replays
   * among them. A plain class, not a record: Kryo (spark.serializer) cannot rebuild records.
   */
  static final class Marks implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final BitSet firsts;
    private final BitSet replays;

    Marks(BitSet firsts, BitSet replays) {
      this.firsts = firsts;
      this.replays = replays;
    }

    BitSet firsts() {
      return firsts;
    }

    BitSet replays() {
      return replays;
    }
  }

  /**
   * Marks the records among rows {@code [from, …)} of {@code upTo} (which holds every row before
   * {@code from} too, since an earlier duplicate drops a row).
   */
  static Marks mark(SparkSession spark, Dataset<Row> upTo, Column identity, long from,
      String index, String fileIdentity) {
    Column position = col(SourceReader.POSITION);
    Dataset<Row> firsts = upTo.select(unhex(identity).as(DIGEST), position)
        .groupBy(DIGEST).agg(min(position).as(SourceReader.POSITION))
        .filter(col(SourceReader.POSITION).geq(from));
    // The file's own segments (its committed batches, a cut-off batch's tail) are left out, so
    // its own records are never its replays.
    Dataset<Row> held = index == null ? null
        : IdentityIndex.read(spark, index, IdentityIndex.ownPrefix(fileIdentity));
    Dataset<Row> marked = held == null
        ? firsts.select(col(SourceReader.POSITION), lit(false))
        : firsts.join(held, firsts.col(DIGEST).equalTo(held.col(IdentityIndex.ID)), "left")
            .select(firsts.col(SourceReader.POSITION), held.col(IdentityIndex.ID).isNotNull());
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
      return Collections.singletonList(m).iterator();
    }).fold(new Marks(new BitSet(), new BitSet()), (a, b) -> {
      a.firsts().or(b.firsts());
      a.replays().or(b.replays());
      return a;
    });
  }

  /**
   * The rows of {@code inRange} (positions from {@code from}) that {@code marks} names as records,
   * as {@link KeyColumns#keyed} gives them, with {@link KeyColumns#REPLAY} from the marks.
   */
  static Dataset<Row> select(SparkSession spark, Dataset<Row> inRange, Marks marks, long from,
      Column identity, Column value, Column messageKey) {
    Broadcast<Marks> b = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(marks);
    UserDefinedFunction isFirst = udf(
        (UDF1<Long, Boolean>) p -> b.value().firsts().get(bit(p, from)), DataTypes.BooleanType);
    UserDefinedFunction isReplay = udf(
        (UDF1<Long, Boolean>) p -> b.value().replays().get(bit(p, from)), DataTypes.BooleanType);
    Column position = col(SourceReader.POSITION);
    return inRange.filter(position.geq(from).and(isFirst.apply(position)))
        .select(identity.as(KeyColumns.KEY), value.as(KeyColumns.VALUE), position,
            messageKey.as(KeyColumns.MESSAGE_KEY), isReplay.apply(position).as(KeyColumns.REPLAY));
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
