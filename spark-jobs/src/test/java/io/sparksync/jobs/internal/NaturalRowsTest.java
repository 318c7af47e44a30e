package io.sparksync.jobs.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparksync.jobs.JobRequest;
import java.io.File;
import java.nio.file.Files;
import java.util.List;
import java.util.TreeSet;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Natural-key records of a range: the first row of each identity in the file (an earlier
 * duplicate, even before the range, drops a row), replays where another file's segments of the
 * index hold the identity (overlapping segments repeat no row), the file's own segments ignored.
 */
class NaturalRowsTest {
  private static final String FILE_IDENTITY = "orders/day=1.parquet";
  private static SparkSession spark;
  private static String file;
  private static String index;

  @BeforeAll
  static void setUp() throws Exception {
    // The CLI's session settings (Kryo moves the marks), so the test runs what a sync runs.
    spark = SessionSettings.start("local[2]", new String[] {"spark.ui.enabled=false"});
    File dir = Files.createTempDirectory("natural-rows").toFile();
    file = new File(dir, "keys.parquet").getPath();
    // Positions 0–999; k repeats from position 600 on (k = position % 600).
    File staging = new File(dir, "staging");
    spark.range(0, 1000).selectExpr("id % 600 AS k", "id AS v").coalesce(1)
        .write().parquet(staging.getPath());
    File[] parts = staging.listFiles((d, name) -> name.endsWith(".parquet"));
    Files.move(parts[0].toPath(), new File(file).toPath());
    index = new File(dir, "index").toURI().toString();
    segment("0123456789abcdef01234567-0", 100, 150); // another file's batch
    segment("0123456789abcdef01234567-1", 120, 170); // overlapping the first
    segment(IdentityIndex.ownPrefix(FILE_IDENTITY) + "0", 50, 60); // this file's own batch
  }

  /** An index segment holding the identities of k in [from, to). */
  private static void segment(String name, long from, long to) {
    Dataset<Row> ks = spark.range(from, to).selectExpr("id AS k");
    Dataset<Row> ids = ks.select(KeyColumns.key(
        KeyColumns.fields(ks.schema(), new String[] {"k"}, "--key-fields", "test"), null, null)
        .as(KeyColumns.KEY));
    IdentityIndex.write(spark, index, name, ids);
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  @Test
  void firstRowsOfTheRangeWithReplaysFromOtherFilesOnly() {
    KeyMode mode = KeyMode.of(new String[] {"k"}, null, index);
    List<Row> rows = KeyColumns.keyed(spark, file, "parquet", FILE_IDENTITY, 50, 700, mode)
        .collectAsList();
    TreeSet<Long> positions = new TreeSet<>();
    TreeSet<Long> replays = new TreeSet<>();
    for (Row r : rows) {
      positions.add(r.getLong(2));
      if (r.getBoolean(4)) {
        replays.add(r.getLong(2));
      }
    }
    // Positions 50–599 are the first of their k; 600–699 repeat k 0–99.
    assertEquals(550, rows.size(), "one row per first position, none repeated");
    assertEquals(550, positions.size());
    assertEquals(50L, positions.first());
    assertEquals(599L, positions.last());
    // k 100–169 are in other files' segments (overlapping); k 50–59 only in the file's own.
    assertEquals(70, replays.size());
    assertEquals(100L, replays.first());
    assertEquals(169L, replays.last());
    assertEquals(480, KeyColumns.count(spark, file, "parquet", FILE_IDENTITY, 50, 700, mode));
  }

  @Test
  void aRangeOfDuplicatesOnlyHasNoRecords() {
    KeyMode mode = KeyMode.of(new String[] {"k"}, null, index);
    assertEquals(0, KeyColumns.keyed(spark, file, "parquet", FILE_IDENTITY, 600, 1000, mode)
        .count());
    assertEquals(0, KeyColumns.count(spark, file, "parquet", FILE_IDENTITY, 600, 1000, mode));
  }

  @Test
  void withoutSegmentsNothingIsAReplay() {
    KeyMode mode = KeyMode.of(new String[] {"k"}, null, index + "-empty");
    List<Row> rows = KeyColumns.keyed(spark, file, "parquet", FILE_IDENTITY, 0, 1000, mode)
        .collectAsList();
    assertEquals(600, rows.size());
    assertEquals(0, rows.stream().filter(r -> r.getBoolean(4)).count());
  }

  @Test
  void aBatchSegmentFromThePlanHoldsTheIdentitiesItsTasksSend() throws Exception {
    // The ordered write's plan, made directly (Batches would write this Parquet file directly).
    BatchPlan plan = BatchPlan.forBatch(null, spark, request(), 0);
    // A plan of the whole file counts its identities (k takes 600 values) for the key check.
    assertEquals(600, plan.identitiesInFile());
    assertEquals(-1, BatchPlan.forBatch(null, spark, request(), 500).identitiesInFile(),
        "a plan of part of it");
    String written = Files.createTempDirectory("plan-segments").toUri().toString();
    // Batch [0, 500): every row is the first of its k; k 100–169 are replays, not sent.
    assertTrue(plan.writeIdentities(0, written, "own-0", 430));
    assertEquals(sentIdentities(), segmentHolds(written, "own-0"),
        "the segment holds exactly the batch's sent identities");
    // Batch [500, 1000) sends k 500–599: a count the plan does not hold writes nothing.
    assertFalse(plan.writeIdentities(500, written, "own-1", 99));
    assertFalse(new File(new java.net.URI(written + "/own-1")).exists());
    assertFalse(new File(new java.net.URI(written + "/_tmp-own-1")).exists());
    assertTrue(plan.writeIdentities(500, written, "own-1", 100));
  }

  @Test
  void aDirectWritePlanMarksTheFileOnceAndIndexesEachBatchFromItsFirstRows() throws Exception {
    JobRequest r = request();
    NaturalPlan plan = NaturalPlan.forBatch(null, spark, r, 0);
    try {
      assertEquals(600, plan.identitiesInFile(), "k takes 600 values");
      assertTrue(plan == NaturalPlan.forBatch(plan, spark, r, 500), "both batches, one plan");
      // The batch's own read, picked by the marks: 500 first rows, 70 of them replays.
      List<Row> batch = plan.records(SourceReader.readParquetSplits(spark, file, 0, 500).rows)
          .collectAsList();
      assertEquals(500, batch.size());
      assertEquals(70, batch.stream().filter(row -> row.getBoolean(4)).count());
      String written = Files.createTempDirectory("direct-segments").toUri().toString();
      assertTrue(plan.writeIdentities(0, written, "own-0", 430));
      assertEquals(sentIdentities(), segmentHolds(written, "own-0"));
      assertFalse(plan.writeIdentities(500, written, "own-1", 99));
      assertFalse(new File(new java.net.URI(written + "/_tmp-own-1")).exists());
      assertTrue(plan.writeIdentities(500, written, "own-1", 100));
      assertEquals(100, segmentHolds(written, "own-1").size(), "k 500–599, each once");
    } finally {
      plan.release();
    }
  }

  /** A request for the test file's batches of 500 rows, keyed by k, into 3 partitions. */
  private static JobRequest request() {
    return JobRequest.parse(String.format("{\"source\": {\"path\": \"%s\", "
        + "\"format\": \"parquet\", \"identity\": \"%s\", \"rows\": 1000}, "
        + "\"keys\": {\"keyFields\": [\"k\"], \"identityIndex\": \"%s\"}, "
        + "\"batchSize\": 500, \"startOffsets\": [0, 0, 0]}", file, FILE_IDENTITY, index));
  }

  /** Batch [0, 500)'s sent identities: k 0–499 but the replays 100–169. */
  private static TreeSet<String> sentIdentities() {
    Dataset<Row> ks = spark.range(0, 500).filter("id < 100 OR id >= 170").selectExpr("id AS k");
    TreeSet<String> expected = new TreeSet<>();
    for (Row r : ks.select(KeyColumns.key(KeyColumns.fields(ks.schema(), new String[] {"k"},
        "--key-fields", "test"), null, null)).collectAsList()) {
      expected.add(r.getString(0));
    }
    assertEquals(430, expected.size());
    return expected;
  }

  private static TreeSet<String> segmentHolds(String index, String segment) {
    TreeSet<String> held = new TreeSet<>();
    for (Row r : spark.read().parquet(index + "/" + segment).collectAsList()) {
      held.add(java.util.HexFormat.of().formatHex((byte[]) r.get(0)));
    }
    return held;
  }
}
