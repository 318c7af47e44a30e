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
 * The first rows of a source file as they would be sent: position, Kafka key and every field in
 * the text the key hashes. For people checking a file before (or after) a sync.
 */
public final class Preview {
  private Preview() {}

  public static List<ArrowResults.Column> firstRows(SparkSession spark, String path, String format,
      String fileIdentity, long rows) {
    Dataset<Row> positioned = SourceReader.readWithPositions(spark, path, format);
    StructType data = KeyColumns.dataSchema(positioned.schema());
    Column position = col(SourceReader.POSITION);
    List<Column> select = new ArrayList<>();
    select.add(position);
    select.add(KeyColumns.key(Arrays.asList(data.fields()), fileIdentity, position));
    for (StructField f : data.fields()) {
      select.add(KeyColumns.rendered(f));
    }
    List<Row> found = positioned.filter(position.lt(rows)).select(select.toArray(new Column[0]))
        .orderBy(position).collectAsList();

    List<ArrowResults.Column> columns = new ArrayList<>();
    columns.add(new ArrowResults.Column("position", ArrowResults.Type.INT64, values(found, 0)));
    columns.add(new ArrowResults.Column("key", ArrowResults.Type.UTF8, values(found, 1)));
    for (int i = 0; i < data.fields().length; i++) {
      columns.add(new ArrowResults.Column(data.fields()[i].name(), ArrowResults.Type.UTF8, values(found, i + 2)));
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
