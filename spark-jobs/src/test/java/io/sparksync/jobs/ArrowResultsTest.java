package io.sparksync.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayInputStream;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.junit.jupiter.api.Test;

class ArrowResultsTest {
  @Test
  void jsonTableRoundTripsThroughTheIpcStream() throws Exception {
    byte[] ipc = ArrowResults.encodeJson("{\"columns\":["
        + "{\"name\":\"file\",\"type\":\"utf8\",\"values\":[\"a.parquet\",\"dt=1/b.parquet\",null]},"
        + "{\"name\":\"records\",\"type\":\"int64\",\"values\":[3,9007199254740993,null]}]}");
    try (var allocator = new RootAllocator();
        var reader = new ArrowStreamReader(new ByteArrayInputStream(ipc), allocator)) {
      VectorSchemaRoot root = reader.getVectorSchemaRoot();
      assertEquals(true, reader.loadNextBatch());
      assertEquals(3, root.getRowCount());
      VarCharVector file = (VarCharVector) root.getVector("file");
      BigIntVector records = (BigIntVector) root.getVector("records");
      assertEquals("dt=1/b.parquet", file.getObject(1).toString());
      assertNull(file.getObject(2));
      assertEquals(9007199254740993L, records.get(1));
      assertEquals(true, records.isNull(2));
      assertEquals(false, reader.loadNextBatch());
    }
  }
}
