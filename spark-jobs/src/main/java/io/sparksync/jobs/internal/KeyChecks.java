package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.min;

import java.util.function.LongSupplier;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * What a file's key mode finds before anything of it is sent: a NULL business key (refused, so
 * nothing is half-written), and in natural-key mode how many rows are duplicates inside the file.
 * Only the key columns are read.
 */
public final class KeyChecks {
  private KeyChecks() {}

  /**
   * @param planned the file's distinct natural-key identities as the plan of its first batches
   *     finds them, or -1 ({@link Batches#identitiesInFile}); asked only when no NULL message key
   *     stops the file first
   * @return {position of the first row with a NULL message key or -1, distinct natural-key
   *     identities or -1, -1 (replays are counted as batches are written)}
   */
  public static long[] check(SparkSession spark, String path, String format, KeyMode mode,
      LongSupplier planned) {
    long firstNull = -1;
    Dataset<Row> positioned = SourceReader.readWithPositions(spark, path, format);
    var data = KeyColumns.dataSchema(positioned.schema());
    if (mode.messageKeyed()) {
      Row r = positioned
          .filter(KeyColumns.messageKey(
              KeyColumns.fields(data, mode.messageKey, "--message-key", path)).isNull())
          .agg(min(col(SourceReader.POSITION))).first();
      firstNull = r.isNullAt(0) ? -1 : r.getLong(0);
    }
    if (!mode.natural() || firstNull >= 0) {
      return new long[] {firstNull, -1, -1};
    }
    long distinct = planned.getAsLong();
    if (distinct < 0) {
      // Replays are counted batch by batch as the file is written (the index may grow meanwhile,
      // from another file), so the index is not read here.
      distinct = KeyColumns.identities(spark, path, format, mode.keyFields).distinct().count();
    }
    return new long[] {firstNull, distinct, -1};
  }
}
