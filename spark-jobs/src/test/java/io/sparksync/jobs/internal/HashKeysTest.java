package io.sparksync.jobs.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparksync.jobs.HashKeys;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Both key paths, plain Java ({@link HashKeys}) and Spark SQL ({@link KeyColumns}), reproduce the
 * shared hash vectors exactly, and the natural-key identities ({@code --key-fields}) and
 * message-key partitions ({@code --message-key}) of {@code natural-key-vectors.json}, which Python
 * computed independently; the partitioner is also held to the Kafka client's own, so spark-sync's
 * records of a business key share a partition with every other Java producer's. In
 * {@code internal} for its access to {@link KeyColumns}.
 */
class HashKeysTest {
  private static final File VECTORS = new File("../test/fixtures/hash-vectors.json");
  private static final File NATURAL_VECTORS = new File("../test/fixtures/natural-key-vectors.json");
  private static SparkSession spark;
  private static JsonNode cases;
  private static JsonNode naturalCases;
  private static JsonNode messageKeys;

  @BeforeAll
  static void setUp() throws Exception {
    cases = new ObjectMapper().readTree(VECTORS).get("cases");
    assertTrue(cases.size() >= 6, "the vector file has its cases");
    JsonNode natural = new ObjectMapper().readTree(NATURAL_VECTORS);
    naturalCases = natural.get("cases");
    messageKeys = natural.get("message_key_partitions");
    assertTrue(naturalCases.size() >= 8, "the vector file has its natural-key cases");
    assertTrue(messageKeys.size() >= 8, "the vector file has its message keys");
    spark = SparkSession.builder().master("local[1]").appName("hash-keys-test")
        .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
        .getOrCreate();
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  @Test
  void plainJavaReproducesEveryVector() {
    for (JsonNode c : cases) {
      String canonical = HashKeys.canonical(fields(c), c.get("file").asText(),
          c.get("position").asLong());
      assertEquals(c.get("canonical").asText(), canonical);
      String key = HashKeys.key(canonical);
      assertEquals(c.get("key").asText(), key);
      Iterator<Map.Entry<String, JsonNode>> parts = c.get("partition_of").fields();
      while (parts.hasNext()) {
        Map.Entry<String, JsonNode> e = parts.next();
        assertEquals(e.getValue().asInt(), HashKeys.partitionOf(key, Integer.parseInt(e.getKey())),
            "partition of " + key + " mod " + e.getKey());
      }
    }
  }

  @Test
  void partitionIsTheDigestModuloPartitionsForAnyKeyAndCount() {
    java.util.Random random = new java.util.Random(42);
    int[] counts = {1, 2, 3, 6, 7, 16, 97, 1000, 65_521, Integer.MAX_VALUE};
    for (int i = 0; i < 2_000; i++) {
      byte[] digest = new byte[32];
      random.nextBytes(digest);
      if (i == 0) {
        java.util.Arrays.fill(digest, (byte) 0xff);
      }
      String key = String.format("%064x", new java.math.BigInteger(1, digest));
      for (int p : counts) {
        assertEquals(new java.math.BigInteger(key, 16).mod(java.math.BigInteger.valueOf(p)).intValue(),
            HashKeys.partitionOf(key, p), "partition of " + key + " mod " + p);
      }
    }
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> HashKeys.partitionOf("zz" + "0".repeat(62), 6));
  }

  @Test
  void sparkSqlReproducesEveryVector() {
    for (JsonNode c : cases) {
      String key = sparkKey(fields(c), c.get("file").asText(), c.get("position").asLong());
      assertEquals(c.get("key").asText(), key, "Spark SQL key of " + c.get("canonical").asText());
    }
  }

  @Test
  void plainJavaReproducesEveryNaturalVector() {
    for (JsonNode c : naturalCases) {
      String canonical = HashKeys.naturalCanonical(fields(c));
      assertEquals(c.get("canonical").asText(), canonical, "canonical of " + c.get("fields"));
      assertEquals(c.get("key").asText(), HashKeys.key(canonical), "key of " + c.get("fields"));
    }
  }

  @Test
  void sparkSqlReproducesEveryNaturalVector() {
    for (JsonNode c : naturalCases) {
      // No file identity and no position: natural-key mode.
      assertEquals(c.get("key").asText(), sparkKey(fields(c), null, null),
          "Spark SQL natural key of " + c.get("fields"));
    }
  }

  @Test
  void messageKeyPartitionIsTheKafkaClientsDefault() {
    for (JsonNode v : messageKeys) {
      byte[] key = v.get("key").asText().getBytes(StandardCharsets.UTF_8);
      Iterator<Map.Entry<String, JsonNode>> parts = v.get("partition_of").fields();
      while (parts.hasNext()) {
        Map.Entry<String, JsonNode> e = parts.next();
        int partitions = Integer.parseInt(e.getKey());
        String what = "partition of " + v.get("key") + " mod " + partitions;
        int ours = HashKeys.partitionOfMessageKey(key, partitions);
        assertEquals(BuiltInPartitioner.partitionForKey(key, partitions), ours, what);
        assertEquals(e.getValue().asInt(), ours, what);
      }
    }
  }

  /** The Spark SQL key of a one-row table of string columns (natural-key mode without a file). */
  private static String sparkKey(List<String> fields, String file, Long position) {
    List<StructField> schema = new ArrayList<>();
    for (int i = 0; i < fields.size(); i++) {
      schema.add(DataTypes.createStructField("f" + i, DataTypes.StringType, true));
    }
    Dataset<Row> df = spark.createDataFrame(
        List.of(RowFactory.create(fields.toArray())), new StructType(schema.toArray(new StructField[0])));
    return df.select(KeyColumns.key(schema, file, position == null ? null : functions.lit(position)))
        .first().getString(0);
  }

  @Test
  void typedColumnsRenderAsCastToString() {
    // A decimal, a timestamp (UTC) and a NULL, rendered the way CAST(col AS STRING) does.
    var df = spark.sql("SELECT CAST(250.50 AS DECIMAL(10,2)) AS amount, "
        + "timestamp_seconds(1705310123) AS ts, CAST(NULL AS INT) AS n");
    String key = df.select(KeyColumns.key(List.of(df.schema().fields()), "f.parquet",
        functions.lit(3L))).first().getString(0);
    assertEquals(HashKeys.key("250.50|2024-01-15 09:15:23|\\N|f.parquet|3"), key);
  }

  private static List<String> fields(JsonNode c) {
    List<String> out = new ArrayList<>();
    for (JsonNode f : c.get("fields")) {
      out.add(f.isNull() ? null : f.asText());
    }
    return out;
  }
}
