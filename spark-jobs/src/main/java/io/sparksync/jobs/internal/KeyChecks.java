package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.min;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * What a file's key mode finds before anything of it is sent: a NULL business key (refused, so
 * nothing is half-written), and in natural-key mode how many rows are duplicates inside the file
 * and how many identities the topic already has. Only the key columns are read.
 */
public final class KeyChecks {
  private KeyChecks() {}

  /**
   * @return {position of the first row with a NULL message key or -1, distinct natural-key
   *     identities or -1, of those already in the topic's identity index or -1}
   */
  public static long[] check(SparkSession spark, String path, String format, KeyMode mode) {
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
    if (!mode.natural()) {
      return new long[] {firstNull, -1, -1};
    }
    // Counted, then joined with the index: computed once, not read and deduplicated twice.
    Dataset<Row> distinct =
        KeyColumns.identities(spark, path, format, mode.keyFields).distinct().persist();
    try {
      return new long[] {firstNull, distinct.count(),
          IdentityIndex.held(spark, mode.identityIndex, distinct)};
    } finally {
      distinct.unpersist();
    }
  }
}
