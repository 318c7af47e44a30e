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
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Natural-key identities ({@code --key-fields}) and message-key partitions ({@code --message-key})
 * reproduce {@code natural-key-vectors.json}, which Python computed independently: both key paths,
 * plain Java ({@link HashKeys}) and Spark SQL ({@link KeyColumns}), and the partitioner, against
 * the Kafka client's own, so spark-sync's records of a business key share a partition with every
 * other Java producer's. In {@code internal} for its access to {@link KeyColumns}.
 */
class NaturalKeysTest {
  private static final File VECTORS = new File("../test/fixtures/natural-key-vectors.json");
  private static SparkSession spark;
  private static JsonNode cases;
  private static JsonNode messageKeys;

  @BeforeAll
  static void setUp() throws Exception {
    JsonNode vectors = new ObjectMapper().readTree(VECTORS);
    cases = vectors.get("cases");
    messageKeys = vectors.get("message_key_partitions");
    assertTrue(cases.size() >= 8, "the vector file has its natural-key cases");
    assertTrue(messageKeys.size() >= 8, "the vector file has its message keys");
    spark = SparkSession.builder().master("local[1]").appName("natural-keys-test")
        .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
        .getOrCreate();
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  @Test
  void plainJavaReproducesEveryNaturalVector() {
    for (JsonNode c : cases) {
      String canonical = HashKeys.naturalCanonical(fields(c));
      assertEquals(c.get("canonical").asText(), canonical, "canonical of " + c.get("fields"));
      assertEquals(c.get("key").asText(), HashKeys.key(canonical), "key of " + c.get("fields"));
    }
  }

  @Test
  void sparkSqlReproducesEveryNaturalVector() {
    for (JsonNode c : cases) {
      List<String> fields = fields(c);
      List<StructField> schema = new ArrayList<>();
      for (int i = 0; i < fields.size(); i++) {
        schema.add(DataTypes.createStructField("f" + i, DataTypes.StringType, true));
      }
      Dataset<Row> df = spark.createDataFrame(List.of(RowFactory.create(fields.toArray())),
          new StructType(schema.toArray(new StructField[0])));
      // No file identity and no position: natural-key mode.
      String key = df.select(KeyColumns.key(schema, null, null)).first().getString(0);
      assertEquals(c.get("key").asText(), key, "Spark SQL natural key of " + c.get("fields"));
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

  private static List<String> fields(JsonNode c) {
    List<String> out = new ArrayList<>();
    for (JsonNode f : c.get("fields")) {
      out.add(f.isNull() ? null : f.asText());
    }
    return out;
  }
}
