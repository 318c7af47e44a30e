package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobException;
import io.sparksync.jobs.JobException.Code;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.orc.OrcFile;
import org.apache.orc.Reader;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Reads one source file with a deterministic 0-based record position per row, in the format its
 * spec names ({@link SourceFormat}).
 *
 * <p>Positions: Parquet's is {@code _metadata.row_index}, the row's index in its file whatever
 * the split size, parallelism or cluster. ORC, CSV and JSON lines have no row index, so the file
 * is read unsplit, as one Spark partition, and its rows are numbered in file order. Never a
 * generated row id, whose values depend on how Spark partitioned the read.
 */
final class SourceReader {
  /** Name of the position column added next to the data columns. */
  static final String POSITION = "__spark_sync_position";

  private SourceReader() {}

  /**
   * The schema of the last Parquet file read, by application, path, size and modification time.
   * Inferring it is a Spark job (a footer read), and every batch of a file loads the file again:
   * one inference per file, not one per batch.
   */
  private static String schemaOf;
  private static StructType schema;

  private static synchronized StructType cachedSchema(String key) {
    return key.equals(schemaOf) ? schema : null;
  }

  private static synchronized void cacheSchema(String key, StructType inferred) {
    schemaOf = key;
    schema = inferred;
  }

  private static Dataset<Row> load(SparkSession spark, String path, SourceFormat format) {
    if (format.name.equals("parquet")) {
      return loadParquet(spark, path, SourceFiles.stat(spark, path));
    }
    DataFrameReader reader = spark.read().format(format.name);
    if (format.name.equals("csv")) {
      // Quoted fields may hold line breaks; the file is read unsplit anyway.
      reader = reader.option("multiLine", "true").options(format.options);
    } else if (format.name.equals("json")) {
      // A malformed line is an unreadable file, never a row of NULLs sent to Kafka.
      reader = reader.option("mode", "FAILFAST");
    }
    try {
      return reader.load(path);
    } catch (Exception e) {
      throw unreadable(path, format.name, e);
    }
  }

  /** A Parquet file of size and modification time {@code stamp}, its schema inferred once. */
  private static Dataset<Row> loadParquet(SparkSession spark, String path, long[] stamp) {
    // The application too: a new Spark session may infer differently (binaryAsString and the like).
    String key = spark.sparkContext().applicationId() + ":" + path + "@" + stamp[0] + "/" + stamp[1];
    StructType known = cachedSchema(key);
    DataFrameReader reader = spark.read().format("parquet");
    try {
      Dataset<Row> data = (known == null ? reader : reader.schema(known)).load(path);
      cacheSchema(key, data.schema());
      return data;
    } catch (Exception e) {
      throw unreadable(path, "parquet", e);
    }
  }

  /** The data columns plus {@link #POSITION}. */
  static Dataset<Row> readWithPositions(SparkSession spark, String path, String spec) {
    SourceFormat format = SourceFormat.parse(spec);
    if (!format.name.equals("parquet")) {
      return numberedUnsplit(spark, path, format);
    }
    return parquetWithPositions(spark, path, SourceFiles.stat(spark, path));
  }

  /** A Parquet file's data columns plus {@link #POSITION}, for a file of the given stamp. */
  private static Dataset<Row> parquetWithPositions(SparkSession spark, String path, long[] stamp) {
    Dataset<Row> data = loadParquet(spark, path, stamp);
    return withPosition(data, data.schema(), data.col("_metadata.row_index"));
  }

  /**
   * The rows at positions {@code [from, to)}: data columns plus {@link #POSITION}. A Parquet file
   * is read in splits sized to the range, and only the splits holding it are read
   * ({@link ParquetSplits}); other formats are read whole (unsplit) and filtered.
   */
  static Dataset<Row> readRange(SparkSession spark, String path, String spec, long from, long to) {
    SourceFormat format = SourceFormat.parse(spec);
    Column position = org.apache.spark.sql.functions.col(POSITION);
    if (!format.name.equals("parquet")) {
      return numberedUnsplit(spark, path, format).filter(position.geq(from).and(position.lt(to)));
    }
    long[] stamp = SourceFiles.stat(spark, path);
    long rows = rows(spark, path, spec, stamp[0]);
    if (from <= 0 && to >= rows) {
      return readWithPositions(spark, path, spec);
    }
    return readParquetSplits(spark, path, stamp, rows, from, to).rows;
  }

  /**
   * Rows {@code [from, to)} of a Parquet file from the splits that hold them, with each split's
   * position ranges ({@link ParquetSplits.Pruned}).
   */
  static ParquetSplits.Pruned readParquetSplits(SparkSession spark, String path, long from,
      long to) {
    long[] stamp = SourceFiles.stat(spark, path);
    return readParquetSplits(spark, path, stamp, rows(spark, path, "parquet", stamp[0]), from, to);
  }

  /** As above, for a file whose size and modification time ({@code stamp}) and rows are known. */
  private static ParquetSplits.Pruned readParquetSplits(SparkSession spark, String path,
      long[] stamp, long rows, long from, long to) {
    Column position = org.apache.spark.sql.functions.col(POSITION);
    long sizeBytes = stamp[0];
    SparkSession ranged = spark.newSession();
    ranged.conf().set("spark.sql.session.timeZone", spark.conf().get("spark.sql.session.timeZone"));
    ranged.conf().set("spark.sql.files.maxPartitionBytes",
        Long.toString(ParquetSplits.splitBytes(spark, sizeBytes, rows, from, to)));
    Dataset<Row> filtered = parquetWithPositions(ranged, path, stamp)
        .filter(position.geq(from).and(position.lt(to)));
    try {
      return ParquetSplits.pruned(ranged, path, stamp, filtered, from, to);
    } catch (java.io.IOException e) {
      throw unreadable(path, "parquet", e);
    }
  }

  /** The data columns of {@code schema}, then {@code position} as {@link #POSITION}. */
  private static Dataset<Row> withPosition(Dataset<Row> rows, StructType schema, Column position) {
    List<Column> cols = new ArrayList<>();
    for (StructField field : schema.fields()) {
      cols.add(KeyColumns.column(field.name()));
    }
    cols.add(position.as(POSITION));
    return rows.select(cols.toArray(new Column[0]));
  }

  /**
   * The file read as one Spark partition, in file order, each row numbered from 0. The read runs
   * in a session of its own whose split settings make one split of any single file (a split never
   * exceeds the file's size); Spark confs from {@code --conf} still apply to everything else.
   */
  private static Dataset<Row> numberedUnsplit(SparkSession spark, String path,
      SourceFormat format) {
    SparkSession unsplit = spark.newSession();
    unsplit.conf().set("spark.sql.session.timeZone", spark.conf().get("spark.sql.session.timeZone"));
    unsplit.conf().set("spark.sql.files.maxPartitionBytes", Long.toString(Long.MAX_VALUE));
    unsplit.conf().set("spark.sql.files.minPartitionNum", "1");
    Dataset<Row> data = load(unsplit, path, format);
    StructType schema = data.schema().add(POSITION, DataTypes.LongType, false);
    JavaRDD<Row> rows = data.toJavaRDD();
    if (rows.getNumPartitions() > 1) {
      throw new IllegalStateException(path + " was read in " + rows.getNumPartitions()
          + " splits; its rows could not be numbered in file order");
    }
    JavaRDD<Row> numbered = rows.mapPartitions(it -> new java.util.Iterator<Row>() {
      private long position;

      @Override
      public boolean hasNext() {
        return it.hasNext();
      }

      @Override
      public Row next() {
        Row r = it.next();
        Object[] values = new Object[r.length() + 1];
        for (int i = 0; i < r.length(); i++) {
          values[i] = r.get(i);
        }
        values[r.length()] = position++;
        return RowFactory.create(values);
      }
    });
    Dataset<Row> positioned = spark.createDataFrame(numbered, schema);
    return withPosition(positioned, data.schema(), positioned.col(POSITION));
  }

  /**
   * Rows of one file. Parquet and ORC keep the count in their footers, so no Spark job scans the
   * file (for Parquet it is what {@code _metadata.row_index} counts, so positions run exactly
   * from 0 to rows − 1). CSV and JSON are counted by reading them as {@link #readWithPositions}
   * does. A 0-byte CSV or JSON file has no rows; a 0-byte Parquet or ORC file is not a valid one.
   */
  static long rows(SparkSession spark, String path, String spec, long sizeBytes) {
    SourceFormat format = SourceFormat.parse(spec);
    Configuration conf = spark.sessionState().newHadoopConf();
    try {
      switch (format.name) {
        case "parquet":
          try (ParquetFileReader reader =
              ParquetFileReader.open(HadoopInputFile.fromPath(new Path(path), conf))) {
            return reader.getRecordCount();
          }
        case "orc":
          try (Reader reader = OrcFile.createReader(new Path(path), OrcFile.readerOptions(conf))) {
            return reader.getNumberOfRows();
          }
        default:
          return sizeBytes == 0 ? 0 : numberedUnsplit(spark, path, format).count();
      }
    } catch (JobException e) {
      throw e;
    } catch (Exception e) {
      throw unreadable(path, format.name, e);
    }
  }

  /** How many input splits Spark makes of the file under the current settings. */
  static int inputSplits(SparkSession spark, String path, String spec) {
    SourceFormat format = SourceFormat.parse(spec);
    return format.name.equals("parquet") ? load(spark, path, format).rdd().getNumPartitions() : 1;
  }

  static JobException unreadable(String path, String format, Throwable e) {
    if (JobException.unreachableCause(e) != null) {
      return JobException.ofSourceIo("cannot read " + path, e);
    }
    return new JobException(Code.SOURCE_UNREADABLE,
        "cannot read " + path + " as " + format + ": " + JobException.firstLine(rootCause(e)), e);
  }

  private static Throwable rootCause(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t;
  }
}
