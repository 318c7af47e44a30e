package io.sparksync.jobs.testing;

import org.apache.spark.sql.SparkSession;

/**
 * Test support, never called by spark-sync itself: runs the SQL statements that set up the Hive
 * tables of the Hive tests, in the active session (started with Spark's Hive catalog). Ships in
 * the development jar ({@code jars/dev}), not the job jar.
 */
public final class TestTables {
  private TestTables() {}

  public static void sql(String[] statements) {
    SparkSession spark = SparkSession.active();
    for (String statement : statements) {
      spark.sql(statement).collect();
    }
  }
}
