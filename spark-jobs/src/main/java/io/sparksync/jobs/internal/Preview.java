package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.col;

import io.sparksync.jobs.ArrowResults;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The first rows of a source file as they would be sent: position, identity (the positional or
 * natural key), the business message key if any, and every field in the text a key hashes. For people checking a file before (or after) a sync.
 */
public final class Preview {
  private Preview() {}

  public static List<ArrowResults.Column> firstRows(SparkSession spark, String path, String format,
      String fileIdentity, long rows, KeyMode mode) {
    Dataset<Row> positioned = SourceReader.readRange(spark, path, format, 0, rows);
    StructType data = KeyColumns.dataSchema(positioned.schema());
    Column position = col(SourceReader.POSITION);
    List<Column> select = new ArrayList<>();
    select.add(position);
    select.add(mode.natural()
        ? KeyColumns.key(KeyColumns.fields(data, mode.keyFields, "--key-fields", path), null, null)
        : KeyColumns.key(Arrays.asList(data.fields()), fileIdentity, position));
    int extra = 0;
    if (mode.messageKeyed()) {
      select.add(KeyColumns.messageKey(
          KeyColumns.fields(data, mode.messageKey, "--message-key", path)));
      extra = 1;
    }
    for (StructField f : data.fields()) {
      select.add(KeyColumns.rendered(f));
    }
    List<Row> found = positioned.filter(position.lt(rows)).select(select.toArray(new Column[0]))
        .orderBy(position).collectAsList();

    List<ArrowResults.Column> columns = new ArrayList<>();
    columns.add(new ArrowResults.Column("position", ArrowResults.Type.INT64, values(found, 0)));
    columns.add(new ArrowResults.Column("key", ArrowResults.Type.UTF8, values(found, 1)));
    if (mode.messageKeyed()) {
      columns.add(new ArrowResults.Column("messageKey", ArrowResults.Type.UTF8, values(found, 2)));
    }
    for (int i = 0; i < data.fields().length; i++) {
      columns.add(new ArrowResults.Column(data.fields()[i].name(), ArrowResults.Type.UTF8, values(found, i + 2 + extra)));
    }
    return columns;
  }

  private static List<Object> values(List<Row> rows, int index) {
    List<Object> values = new ArrayList<>(rows.size());
    for (Row r : rows) {
      values.add(r.isNullAt(index) ? null : r.get(index));
    }
    return values;
  }
}
