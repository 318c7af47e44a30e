package io.sparksync.jobs.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparksync.jobs.HashKeys;
import java.io.File;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
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
 * shared hash vectors exactly. In {@code internal} for its access to {@link KeyColumns}.
 */
class HashKeysTest {
  private static final File VECTORS = new File("../test/fixtures/hash-vectors.json");
  private static SparkSession spark;
  private static JsonNode cases;

  @BeforeAll
  static void setUp() throws Exception {
    cases = new ObjectMapper().readTree(VECTORS).get("cases");
    assertTrue(cases.size() >= 6, "the vector file has its cases");
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
  void sparkSqlReproducesEveryVector() {
    for (JsonNode c : cases) {
      List<String> fields = fields(c);
      List<StructField> schema = new ArrayList<>();
      for (int i = 0; i < fields.size(); i++) {
        schema.add(DataTypes.createStructField("f" + i, DataTypes.StringType, true));
      }
      Dataset<Row> df = spark.createDataFrame(
          List.of(RowFactory.create(fields.toArray())), new StructType(schema.toArray(new StructField[0])));
      String key = df.select(KeyColumns.key(schema, c.get("file").asText(),
          functions.lit(c.get("position").asLong()))).first().getString(0);
      assertEquals(c.get("key").asText(), key, "Spark SQL key of " + c.get("canonical").asText());
    }
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
