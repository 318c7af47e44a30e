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
import static org.apache.spark.sql.functions.when;

import io.sparksync.jobs.HashKeys;
import io.sparksync.jobs.JobException;
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
public final class KeyColumns {
  /** The key column of {@link #keyed} rows, and of the keys read back from Kafka. */
  static final String KEY = "__spark_sync_key";
  /** The value column of {@link #keyed} rows. */
  static final String VALUE = "__spark_sync_value";

  private KeyColumns() {}

  /** The message-key column of {@link #keyed} rows: its text, or NULL without a message key. */
  static final String MESSAGE_KEY = "__spark_sync_message_key";
  /**
   * The replay flag of {@link #keyed} rows: natural-key mode, another file (or run) already put
   * the row's identity into the topic. Such a row is not sent but counted, batch by batch, so a
   * file whose later identities another file sent meanwhile still accounts for every row.
   */
  static final String REPLAY = "__spark_sync_replay";

  /** The rows of a file at positions {@code [from, to)}, positional identity, no message key. */
  static Dataset<Row> keyed(SparkSession spark, String path, String format, String fileIdentity,
      long from, long to) {
    return keyed(spark, path, format, fileIdentity, from, to, KeyMode.POSITIONAL);
  }

  /**
   * The records of a file at positions {@code [from, to)} as (identity, value, position, message
   * key, replay), in that column order. In natural-key mode only the first row of each identity
   * in the file counts (a row whose identity appeared at an earlier position, even before
   * {@code from}, is no record), and it is flagged a replay if the topic's identity index holds
   * it from another file or run.
   */
  static Dataset<Row> keyed(SparkSession spark, String path, String format, String fileIdentity,
      long from, long to, KeyMode mode) {
    if (!mode.natural()) {
      return keyed(spark, SourceReader.readRange(spark, path, format, from, to), path,
          fileIdentity, from, mode);
    }
    return natural(spark, path, format, fileIdentity, from, to, mode).rows();
  }

  /**
   * Natural-key records of rows {@code [from, to)} ({@link #keyed}), with the marks they were
   * picked by: {@code marks.firsts()} has one bit for each identity first met in the range.
   */
  record Natural(Dataset<Row> rows, NaturalRows.Marks marks) {}

  static Natural natural(SparkSession spark, String path, String format, String fileIdentity,
      long from, long to, KeyMode mode) {
    // Natural-key mode needs every row before the range too (an earlier duplicate drops a row),
    // but only its key columns; the range itself is read whole once its records are known.
    return natural(spark, SourceReader.readRange(spark, path, format, 0, to),
        SourceReader.readRange(spark, path, format, from, to), path, fileIdentity, from, to, mode);
  }

  /** {@link #keyed} of rows already read: data columns and {@link SourceReader#POSITION}. */
  static Dataset<Row> keyed(SparkSession spark, Dataset<Row> positioned, String path,
      String fileIdentity, long from, KeyMode mode) {
    if (mode.natural()) {
      throw new IllegalArgumentException("natural-key rows are read by keyed(path, …, to, mode)");
    }
    StructType dataSchema = dataSchema(positioned.schema());
    Column position = col(SourceReader.POSITION);
    return positioned
        .select(key(Arrays.asList(dataSchema.fields()), fileIdentity, position).as(KEY),
            value(dataSchema).as(VALUE), position,
            messageKeyOf(dataSchema, mode, path).as(MESSAGE_KEY), lit(false).as(REPLAY));
  }

  /**
   * Natural-key mode: {@code upTo} holds rows {@code [0, to)}, {@code inRange} at least
   * {@code [from, to)}; see {@link NaturalRows}.
   */
  private static Natural natural(SparkSession spark, Dataset<Row> upTo,
      Dataset<Row> inRange, String path, String fileIdentity, long from, long to, KeyMode mode) {
    StructType dataSchema = dataSchema(upTo.schema());
    NaturalRows.Marks marks = marks(spark, upTo, path, fileIdentity, from, to, mode);
    return new Natural(NaturalRows.select(spark, inRange, marks, from,
        naturalIdentity(dataSchema, mode.keyFields, path), value(dataSchema),
        messageKeyOf(dataSchema, mode, path)), marks);
  }

  /** The natural-key records among rows {@code [from, to)}; {@code upTo} holds {@code [0, to)}. */
  private static NaturalRows.Marks marks(SparkSession spark, Dataset<Row> upTo, String path,
      String fileIdentity, long from, long to, KeyMode mode) {
    return NaturalRows.mark(spark, upTo, naturalIdentity(dataSchema(upTo.schema()), mode.keyFields, path),
        from, to, mode.identityIndex, fileIdentity);
  }

  /**
   * Natural-key mode, the direct write ({@link NaturalPlan}): the marks of rows
   * {@code [from, to)}, with the range's first rows kept for its batches' index segments.
   */
  static NaturalRows.MarkedRows naturalMarks(SparkSession spark, String path, String format,
      String fileIdentity, long from, long to, KeyMode mode) {
    Dataset<Row> upTo = SourceReader.readRange(spark, path, format, 0, to);
    return NaturalRows.mark(spark, upTo,
        naturalIdentity(dataSchema(upTo.schema()), mode.keyFields, path), from, to,
        mode.identityIndex, fileIdentity, true);
  }

  /**
   * {@link #keyed} in natural-key mode of rows already read ({@code inRange}: data columns and
   * {@link SourceReader#POSITION}), picked by {@code marks} of a range starting at {@code from}.
   */
  static Dataset<Row> naturalRecords(SparkSession spark, Dataset<Row> inRange, String path,
      NaturalRows.Marks marks, long from, KeyMode mode) {
    StructType dataSchema = dataSchema(inRange.schema());
    return NaturalRows.select(spark, inRange, marks, from,
        naturalIdentity(dataSchema, mode.keyFields, path), value(dataSchema),
        messageKeyOf(dataSchema, mode, path));
  }

  /** The natural-key identity: the hash of the {@code --key-fields} alone. */
  private static Column naturalIdentity(StructType dataSchema, String[] keyFields, String path) {
    return key(fields(dataSchema, keyFields, "--key-fields", path), null, null);
  }

  /** The message key's text in message-key mode, else a NULL string. */
  private static Column messageKeyOf(StructType dataSchema, KeyMode mode, String path) {
    return mode.messageKeyed()
        ? messageKey(fields(dataSchema, mode.messageKey, "--message-key", path))
        : lit(null).cast("string");
  }

  /**
   * How many records a natural-key file has at positions {@code [from, to)} to send (replays not
   * counted): its marks alone, so the range's values are never read.
   */
  public static long count(SparkSession spark, String path, String format, String fileIdentity,
      long from, long to, KeyMode mode) {
    if (!mode.natural()) {
      return to - from;
    }
    NaturalRows.Marks marks = marks(spark, SourceReader.readRange(spark, path, format, 0, to),
        path, fileIdentity, from, to, mode);
    return marks.firsts().cardinality() - marks.replays().cardinality();
  }

  /** The natural-key identity of every row of a file, as one column {@link #KEY}. */
  static Dataset<Row> identities(SparkSession spark, String path, String format,
      String[] keyFields) {
    Dataset<Row> positioned = SourceReader.readWithPositions(spark, path, format);
    return positioned.select(naturalIdentity(dataSchema(positioned.schema()), keyFields, path)
        .as(KEY));
  }

  /** The named fields of a schema, in the order given; an unknown name is a usage error. */
  static List<StructField> fields(StructType schema, String[] names, String option, String path) {
    List<StructField> out = new ArrayList<>();
    for (String name : names) {
      StructField found = null;
      for (StructField f : schema.fields()) {
        if (f.name().equals(name)) {
          found = f;
        }
      }
      if (found == null) {
        throw new JobException(JobException.Code.USAGE, String.format(
            "%s names the column '%s', which %s does not have (its columns: %s)", option, name,
            path, String.join(", ", schema.fieldNames())));
      }
      out.add(found);
    }
    return out;
  }

  /**
   * The message key's text: one column's text ({@link #rendered}), or for several columns a JSON
   * object of their texts in the order given, e.g. {@code {"user":"u42","event":"click"}}, which
   * no two different value lists share. NULL if any column is NULL.
   */
  static Column messageKey(List<StructField> fields) {
    if (fields.size() == 1) {
      return rendered(fields.get(0));
    }
    Column[] texts = new Column[fields.size()];
    Column anyNull = lit(false);
    for (int i = 0; i < texts.length; i++) {
      texts[i] = rendered(fields.get(i)).as(fields.get(i).name());
      anyNull = anyNull.or(column(fields.get(i).name()).isNull());
    }
    return when(anyNull, lit(null).cast("string")).otherwise(to_json(struct(texts)));
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
