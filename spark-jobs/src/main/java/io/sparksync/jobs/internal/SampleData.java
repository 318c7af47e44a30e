package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.expr;

import java.io.IOException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * A deterministic sample table for the demo, tests and benchmark: row i is a pure function of i,
 * so a test can compute every expected key on its own (test/helpers/sample-rows.ts mirrors it).
 * About 100 bytes of JSON per row: a string with the escape characters now and then, a NULL now
 * and then, a decimal, an int and a timestamp.
 */
public final class SampleData {
  private SampleData() {}

  /**
   * Rows with ids {@code [firstRow, firstRow + rows)} as one Parquet or ORC file (replaced if it
   * exists); {@code rowGroupBytes} sizes Parquet row groups and ORC stripes.
   */
  public static void write(SparkSession spark, String target, String format, long firstRow,
      long rows, long rowGroupBytes) throws IOException {
    Path out = new Path(target);
    Path staging = new Path(out.getParent(), "." + out.getName() + ".staging");
    spark.range(firstRow, firstRow + rows).select(
            expr("id"),
            expr("CASE WHEN id % 10 = 3 THEN NULL "
                + "WHEN id % 10 = 5 THEN concat('cust_', id % 997, '|x\\\\y') "
                + "ELSE concat('cust_', id % 997) END").as("customer"),
            expr("CAST((id % 100000) * 0.25 AS DECIMAL(12,2))").as("amount"),
            expr("CAST(id % 7 AS INT)").as("quantity"),
            expr("timestamp_seconds(1705300000 + id)").as("ts"))
        .coalesce(1)
        .write()
        .mode("overwrite")
        .option("parquet.block.size", Long.toString(rowGroupBytes))
        .option("orc.stripe.size", Long.toString(rowGroupBytes))
        .format(format)
        .save(staging.toString());
    FileSystem fs = staging.getFileSystem(spark.sparkContext().hadoopConfiguration());
    for (FileStatus st : fs.listStatus(staging)) {
      if (st.getPath().getName().endsWith("." + format)) {
        fs.delete(out, false);
        if (!fs.rename(st.getPath(), out)) {
          throw new IOException("could not move " + st.getPath() + " to " + out);
        }
      }
    }
    fs.delete(staging, true);
  }
}
