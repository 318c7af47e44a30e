package io.sparksync.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Results for library callers as Apache Arrow IPC streams, written with the Arrow Java library
 * Spark ships (the same one behind PySpark's {@code toPandas}). The driver reads them with Arrow
 * JS, so per-file and per-batch figures and row previews arrive as typed, columnar tables.
 */
public final class ArrowResults {
  /** Column types a result table may have. */
  public enum Type { UTF8, INT64, FLOAT64, BOOL }

  /** One column: a name, a type and its values ({@code null} allowed). */
  public record Column(String name, Type type, List<Object> values) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  private ArrowResults() {}

  /**
   * Encodes a table described as JSON, {@code {"columns":[{"name":…,"type":"utf8|int64|float64|bool",
   * "values":[…]}]}}: the shape the driver's figures already have.
   */
  public static byte[] encodeJson(String table) {
    try {
      List<Column> columns = new ArrayList<>();
      for (JsonNode c : JSON.readTree(table).get("columns")) {
        Type type = Type.valueOf(c.get("type").asText().toUpperCase());
        List<Object> values = new ArrayList<>();
        for (JsonNode v : c.get("values")) {
          values.add(v.isNull() ? null : switch (type) {
            case UTF8 -> v.asText();
            case INT64 -> v.asLong();
            case FLOAT64 -> v.asDouble();
            case BOOL -> v.asBoolean();
          });
        }
        columns.add(new Column(c.get("name").asText(), type, values));
      }
      return encode(columns);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** One record batch in an IPC stream (schema, batch, end marker). Columns must be equally long. */
  public static byte[] encode(List<Column> columns) {
    int rows = columns.isEmpty() ? 0 : columns.get(0).values().size();
    List<Field> fields = new ArrayList<>();
    for (Column c : columns) {
      if (c.values().size() != rows) {
        throw new IllegalArgumentException("column " + c.name() + " has " + c.values().size() + " values, not " + rows);
      }
      fields.add(new Field(c.name(), FieldType.nullable(arrowType(c.type())), null));
    }
    try (BufferAllocator allocator = new RootAllocator();
        VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(fields), allocator)) {
      for (int i = 0; i < columns.size(); i++) {
        fill(root.getVector(i), columns.get(i), rows);
      }
      root.setRowCount(rows);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try (ArrowStreamWriter writer = new ArrowStreamWriter(root, null, Channels.newChannel(out))) {
        writer.start();
        writer.writeBatch();
        writer.end();
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static ArrowType arrowType(Type type) {
    return switch (type) {
      case UTF8 -> ArrowType.Utf8.INSTANCE;
      case INT64 -> new ArrowType.Int(64, true);
      case FLOAT64 -> new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
      case BOOL -> ArrowType.Bool.INSTANCE;
    };
  }

  private static void fill(FieldVector vector, Column column, int rows) {
    vector.allocateNew();
    for (int r = 0; r < rows; r++) {
      Object v = column.values().get(r);
      if (v == null) {
        vector.setNull(r);
        continue;
      }
      switch (column.type()) {
        case UTF8 -> ((VarCharVector) vector).setSafe(r, v.toString().getBytes(StandardCharsets.UTF_8));
        case INT64 -> ((BigIntVector) vector).setSafe(r, ((Number) v).longValue());
        case FLOAT64 -> ((Float8Vector) vector).setSafe(r, ((Number) v).doubleValue());
        case BOOL -> ((BitVector) vector).setSafe(r, (Boolean) v ? 1 : 0);
      }
    }
    vector.setValueCount(rows);
  }
}
