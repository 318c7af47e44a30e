package io.sparksync.jobs.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A position range of a Parquet file is read from the splits that hold it, and only those: the
 * rows are exactly the range, and the bytes Spark reads shrink with it.
 */
class ParquetSplitsTest {
  private static final long ROWS = 400_000;
  private static SparkSession spark;
  private static String file;
  private static final AtomicLong bytesRead = new AtomicLong();
  private static final AtomicLong jobsStarted = new AtomicLong();

  @BeforeAll
  static void setUp() throws Exception {
    spark = SparkSession.builder().master("local[2]").appName("parquet-splits-test")
        .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
        .getOrCreate();
    spark.sparkContext().addSparkListener(new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart start) {
        jobsStarted.incrementAndGet();
      }

      @Override
      public void onTaskEnd(SparkListenerTaskEnd end) {
        bytesRead.addAndGet(end.taskMetrics().inputMetrics().bytesRead());
      }
    });
    File dir = Files.createTempDirectory("parquet-splits").toFile();
    file = new File(dir, "sample.parquet").getPath();
    // Row groups of about 256 KB in a file of about 8 MB: ranges split it in 1 MB splits.
    SampleData.write(spark, file, "parquet", 0, ROWS, 256 * 1024);
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  private static long[] positionsAndBytes(long from, long to) throws Exception {
    spark.sparkContext().listenerBus().waitUntilEmpty();
    bytesRead.set(0);
    List<Row> r = SourceReader.readRange(spark, file, "parquet", from, to)
        // Every column is read (hash(*)), as a sync reads them.
        .selectExpr("min(" + SourceReader.POSITION + ")", "max(" + SourceReader.POSITION + ")",
            "count(*)", "sum(hash(*))")
        .collectAsList();
    spark.sparkContext().listenerBus().waitUntilEmpty();
    return new long[] {r.get(0).getLong(0), r.get(0).getLong(1), r.get(0).getLong(2), bytesRead.get()};
  }

  @Test
  void aRangeReadsItsRowsAndLittleElse() throws Exception {
    long[] whole = positionsAndBytes(0, ROWS);
    assertEquals(0, whole[0]);
    assertEquals(ROWS - 1, whole[1]);
    assertEquals(ROWS, whole[2]);
    for (long[] range : new long[][] {{0, 10}, {50_000, 60_000}, {123_457, 123_458}, {390_000, ROWS}}) {
      long[] part = positionsAndBytes(range[0], range[1]);
      assertEquals(range[0], part[0], "first position of " + range[0] + "–" + range[1]);
      assertEquals(range[1] - 1, part[1], "last position of " + range[0] + "–" + range[1]);
      assertEquals(range[1] - range[0], part[2], "rows of " + range[0] + "–" + range[1]);
      assertTrue(part[3] * 3 < whole[3], "a range of at most 2.5 % of the rows read " + part[3]
          + " bytes, the whole file " + whole[3]);
    }
  }

  /** Spark jobs that planning a read of the whole file starts (no action runs). */
  private static long jobsToPlanARead() throws Exception {
    spark.sparkContext().listenerBus().waitUntilEmpty();
    long before = jobsStarted.get();
    SourceReader.readWithPositions(spark, file, "parquet").queryExecution().executedPlan();
    spark.sparkContext().listenerBus().waitUntilEmpty();
    return jobsStarted.get() - before;
  }

  @Test
  void aFileSchemaIsInferredOnceUntilTheFileChanges() throws Exception {
    jobsToPlanARead();
    assertEquals(0, jobsToPlanARead(), "the second read of an unchanged file infers nothing");
    File f = new File(file);
    assertTrue(f.setLastModified(f.lastModified() + 1000));
    assertEquals(1, jobsToPlanARead(), "a file with a new modification time is inferred again");
    assertEquals(0, jobsToPlanARead());
  }
}
