package io.sparksync.jobs.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

class PositionSorterTest {
  /** 20,000 records, positions shuffled, values of varying length (some empty). */
  private static List<Tuple2<Slot, Tuple2<byte[], byte[]>>> shuffledRecords(long firstPosition) {
    List<Tuple2<Slot, Tuple2<byte[], byte[]>>> records = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      long position = firstPosition + i * 3L;
      byte[] key = ("key-" + position).getBytes(StandardCharsets.UTF_8);
      byte[] value = "v".repeat(i % 17).getBytes(StandardCharsets.UTF_8);
      records.add(new Tuple2<>(new Slot(2, position), new Tuple2<>(key, value)));
    }
    Collections.shuffle(records, new Random(7));
    return records;
  }

  private static void assertSortedAndWhole(Iterator<Tuple2<Slot, Tuple2<byte[], byte[]>>> sorted,
      long firstPosition) {
    int n = 0;
    while (sorted.hasNext()) {
      Tuple2<Slot, Tuple2<byte[], byte[]>> r = sorted.next();
      long expected = firstPosition + n * 3L;
      assertEquals(expected, r._1().position);
      assertEquals(2, r._1().partition);
      assertArrayEquals(("key-" + expected).getBytes(StandardCharsets.UTF_8), r._2()._1());
      assertEquals(n % 17, r._2()._2().length);
      n++;
    }
    assertEquals(20_000, n);
  }

  @Test
  void sortsInMemory() {
    long first = 5_000_000_000L;
    PositionSorter sorter = new PositionSorter(PositionSorter.DEFAULT_SPILL_BYTES);
    shuffledRecords(first).forEach(r -> sorter.add(r._1(), r._2()._1(), r._2()._2()));
    assertEquals(0, sorter.spilledRuns());
    assertSortedAndWhole(sorter.result(), first);
  }

  @Test
  void spillsRunsAndMergesThem() {
    PositionSorter sorter = new PositionSorter(64 * 1024);
    shuffledRecords(0).forEach(r -> sorter.add(r._1(), r._2()._1(), r._2()._2()));
    Iterator<Tuple2<Slot, Tuple2<byte[], byte[]>>> sorted = sorter.result();
    assertTrue(sorter.spilledRuns() > 5, "runs: " + sorter.spilledRuns());
    assertSortedAndWhole(sorted, 0);
  }

  @Test
  void emptyInputGivesNoRecords() {
    assertTrue(!PositionSorter.sorted(Collections.emptyIterator(), 1024).hasNext());
  }
}
