package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobException;
import io.sparksync.jobs.JobException.Code;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;

/**
 * Reads one source file with a deterministic 0-based record position per row.
 *
 * <p>Parquet's position is {@code _metadata.row_index}: the row's index in its file, whatever
 * the split size, parallelism or cluster. Never a generated row id, whose values depend on how
 * Spark partitioned the read.
 */
public final class SourceReader {
  /** Name of the position column added next to the data columns. */
  public static final String POSITION = "__spark_sync_position";

  private SourceReader() {}

  /** The file's data columns only. */
  public static Dataset<Row> read(SparkSession spark, String path, String format) {
    String f = format.toLowerCase(Locale.ROOT);
    if (!f.equals("parquet")) {
      throw new JobException(Code.UNSUPPORTED_FORMAT,
          "format '" + format + "' is not supported yet; this build reads parquet");
    }
    try {
      return spark.read().format(f).load(path);
    } catch (Exception e) {
      throw new JobException(Code.SOURCE_UNREADABLE,
          "cannot read " + path + " as " + f + ": " + firstLine(e), e);
    }
  }

  /** The data columns plus {@link #POSITION}. */
  public static Dataset<Row> readWithPositions(SparkSession spark, String path, String format) {
    Dataset<Row> data = read(spark, path, format);
    List<Column> cols = new ArrayList<>();
    for (StructField field : data.schema().fields()) {
      cols.add(KeyColumns.column(field.name()));
    }
    cols.add(data.col("_metadata.row_index").as(POSITION));
    return data.select(cols.toArray(new Column[0]));
  }

  /**
   * Rows of one file. Parquet keeps the count in its footer, so no Spark job scans the file (it is
   * what {@code _metadata.row_index} counts, so positions run exactly from 0 to rows − 1).
   */
  public static long rows(SparkSession spark, String path) throws IOException {
    Configuration conf = spark.sessionState().newHadoopConf();
    try (ParquetFileReader reader =
        ParquetFileReader.open(HadoopInputFile.fromPath(new Path(path), conf))) {
      return reader.getRecordCount();
    }
  }

  static String firstLine(Throwable e) {
    String m = String.valueOf(e.getMessage());
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
