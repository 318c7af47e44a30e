package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.base64;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.replace;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.to_json;

import io.sparksync.jobs.HashKeys;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DateType;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.TimestampNTZType;
import org.apache.spark.sql.types.TimestampType;

/**
 * Keying, in one place: the hash key of DESIGN.md §3 and the Kafka value as Spark SQL
 * expressions, and a file's rows with them ({@link #keyed}); the batch plan, recovery, audit,
 * preview and benchmark all key rows here. The key is computed by generated code next to the
 * data, never row by row in the driver. {@link HashKeys} is the same rule in plain Java; tests hold both to
 * the shared vectors.
 */
final class KeyColumns {
  /** The key column of {@link #keyed} rows, and of the keys read back from Kafka. */
  static final String KEY = "__spark_sync_key";
  /** The value column of {@link #keyed} rows. */
  static final String VALUE = "__spark_sync_value";

  private KeyColumns() {}

  /** The rows of a file at positions {@code [from, to)} as (key, value, position). */
  static Dataset<Row> keyed(SparkSession spark, String path, String format, String fileIdentity,
      long from, long to) {
    Dataset<Row> positioned = SourceReader.readWithPositions(spark, path, format);
    StructType dataSchema = dataSchema(positioned.schema());
    Column position = col(SourceReader.POSITION);
    return positioned
        .filter(position.geq(from).and(position.lt(to)))
        .select(
            key(Arrays.asList(dataSchema.fields()), fileIdentity, position).as(KEY),
            value(dataSchema).as(VALUE),
            position);
  }

  /** The schema without the position column: the fields a key hashes and a value holds. */
  static StructType dataSchema(StructType withPosition) {
    return new StructType(Arrays.stream(withPosition.fields())
        .filter(f -> !f.name().equals(SourceReader.POSITION))
        .toArray(StructField[]::new));
  }

  /** A column reference that survives dots, spaces and backticks in the name. */
  static Column column(String name) {
    return col("`" + name.replace("`", "``") + "`");
  }

  /** {@code CAST(col AS STRING)}, with complex types as JSON and binary as base64. */
  static Column rendered(StructField field) {
    Column c = column(field.name());
    DataType t = field.dataType();
    if (t instanceof BinaryType) {
      return base64(c);
    }
    if (t instanceof StructType || t instanceof ArrayType || t instanceof MapType) {
      return to_json(c);
    }
    return c.cast("string");
  }

  /**
   * escape(text), or {@code \N} for NULL. Plain (not regex) replacement; types whose text can
   * hold neither {@code \} nor {@code |} (numbers, booleans, dates, timestamps, base64) skip it.
   */
  static Column escaped(Column text, DataType type) {
    if (!mayNeedEscaping(type)) {
      return coalesce(text, lit(HashKeys.NULL_TEXT));
    }
    Column noBackslash = replace(text, lit("\\"), lit("\\\\"));
    return coalesce(replace(noBackslash, lit("|"), lit("\\|")), lit(HashKeys.NULL_TEXT));
  }

  static boolean mayNeedEscaping(DataType t) {
    return !(t instanceof NumericType || t instanceof BooleanType || t instanceof DateType
        || t instanceof TimestampType || t instanceof TimestampNTZType || t instanceof BinaryType);
  }

  /**
   * The key column.
   *
   * @param fields the row's top-level fields in schema order (or the natural-key fields)
   * @param fileIdentity the file identity, or null in natural-key mode
   * @param position the 0-based row position column, or null in natural-key mode
   */
  static Column key(List<StructField> fields, String fileIdentity, Column position) {
    List<Column> parts = new ArrayList<>();
    for (StructField f : fields) {
      parts.add(escaped(rendered(f), f.dataType()));
    }
    if (fileIdentity != null) {
      parts.add(lit(HashKeys.escape(fileIdentity)));
      parts.add(position.cast("string"));
    }
    return sha2(concat_ws("|", parts.toArray(new Column[0])), 256);
  }

  /** The Kafka value: the row as JSON, with nulls kept so every message shows the whole schema. */
  static Column value(StructType schema) {
    Column[] cols = new Column[schema.fields().length];
    for (int i = 0; i < cols.length; i++) {
      cols[i] = column(schema.fields()[i].name());
    }
    return to_json(struct(cols), Map.of("ignoreNullFields", "false"));
  }
}
