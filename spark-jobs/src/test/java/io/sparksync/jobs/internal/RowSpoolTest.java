package io.sparksync.jobs.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sparksync.jobs.HashKeys;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.unsafe.types.UTF8String;
import org.junit.jupiter.api.Test;

/**
 * A retried direct-write task recognises its earlier attempt's records by key alone: the spool
 * gives its rows back whole and in order, and every row's key finds its position, while keys of
 * other rows, other files and non-positional keys find none.
 */
class RowSpoolTest {
  private static final int ROWS = 50_000;
  private static final long FIRST = 1_000_000;

  private static byte[] key(String file, long position) throws Exception {
    MessageDigest sha = MessageDigest.getInstance(HashKeys.ALGORITHM);
    byte[] digest = sha.digest(HashKeys.canonical(List.of("f" + position), file, position)
        .getBytes(StandardCharsets.UTF_8));
    StringBuilder hex = new StringBuilder();
    for (byte b : digest) {
      hex.append(String.format("%02x", b));
    }
    return hex.toString().getBytes(StandardCharsets.US_ASCII);
  }

  private static List<InternalRow> rows(String file) throws Exception {
    List<InternalRow> rows = new ArrayList<>();
    for (long p = FIRST; p < FIRST + ROWS; p++) {
      // Values of varying length, some empty.
      String value = "{\"v\":\"" + "x".repeat((int) (p % 23)) + "\"}";
      rows.add(new GenericInternalRow(new Object[] {
          UTF8String.fromBytes(key(file, p)), UTF8String.fromString(p % 101 == 0 ? "" : value), p}));
    }
    return rows;
  }

  @Test
  void spoolsRowsWholeAndFindsEachKeysPosition() throws Exception {
    List<InternalRow> rows = rows("a.parquet");
    try (RowSpool spool = RowSpool.of(rows.iterator(), FIRST, FIRST + ROWS)) {
      for (InternalRow r : rows) {
        assertEquals(r.getLong(2), spool.keys().positionOf(r.getUTF8String(0).getBytes()));
      }
      Iterator<RowSpool.Keyed> replay = spool.replay();
      for (InternalRow r : rows) {
        RowSpool.Keyed k = replay.next();
        assertEquals(r.getLong(2), k.position);
        assertArrayEquals(r.getUTF8String(0).getBytes(), k.key);
        assertArrayEquals(r.getUTF8String(1).getBytes(), k.value);
      }
      assertFalse(replay.hasNext());
    }
  }

  @Test
  void keysOfOtherRowsFilesOrModesFindNothing() throws Exception {
    try (RowSpool spool = RowSpool.of(rows("a.parquet").iterator(), FIRST, FIRST + ROWS)) {
      OwnKeys own = spool.keys();
      assertEquals(-1, own.positionOf(key("b.parquet", FIRST)), "another file's row");
      assertEquals(-1, own.positionOf(key("a.parquet", FIRST + ROWS)), "a row past the task's");
      assertEquals(-1, own.positionOf("user-7".getBytes(StandardCharsets.UTF_8)), "a business key");
      assertEquals(-1, own.positionOf("z".repeat(64).getBytes(StandardCharsets.UTF_8)), "not hex");
      assertEquals(-1, own.positionOf(null), "a record without a key");
    }
  }

  @Test
  void aRowOutsideTheTasksPositionsIsRefused() throws Exception {
    OwnKeys own = new OwnKeys(FIRST, FIRST + 10);
    assertThrows(IllegalStateException.class, () -> own.put(FIRST + 10, key("a.parquet", FIRST + 10)));
  }
}
