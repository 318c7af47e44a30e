package io.sparksync.jobs.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;

class SourceFilesTest {
  @Test
  void skipsWhatSparkSkips() {
    assertTrue(SourceFiles.isDataFile("dt=2024-01-01/part-00000.parquet"));
    assertTrue(SourceFiles.isDataFile("_dt=2024-01-01/part-00000.parquet"), "a partition folder");
    assertFalse(SourceFiles.isDataFile("dt=2024-01-01/_SUCCESS"));
    assertFalse(SourceFiles.isDataFile("_temporary/0/part-00000.parquet"));
    assertFalse(SourceFiles.isDataFile(".hidden/part-00000.parquet"));
    assertFalse(SourceFiles.isDataFile("dt=2024-01-01/.part-00000.parquet.crc"));
    assertFalse(SourceFiles.isDataFile("part-00000.parquet.crc"));
    assertFalse(SourceFiles.isDataFile("part-00000.parquet._COPYING_"));
  }

  @Test
  void listsDataFilesRelativeToTheRootInPathOrder() throws Exception {
    Path root = Files.createTempDirectory("source-files");
    for (String f : new String[] {"b/2.csv", "a/1.csv", "a/_SUCCESS", "a/.1.csv.crc", "c.csv"}) {
      Files.createDirectories(root.resolve(f).getParent());
      Files.writeString(root.resolve(f), "x\n");
    }
    FileSystem fs = FileSystem.getLocal(new Configuration());
    String[] listed = SourceFiles.list(fs,
        fs.getFileStatus(new org.apache.hadoop.fs.Path(root.toUri())));
    String[] relative = new String[listed.length / 2];
    for (int i = 0; i < relative.length; i++) {
      relative[i] = listed[2 * i];
      assertTrue(listed[2 * i + 1].startsWith("file:"), listed[2 * i + 1]);
      assertTrue(listed[2 * i + 1].endsWith(relative[i]), listed[2 * i + 1]);
    }
    assertArrayEquals(new String[] {"a/1.csv", "b/2.csv", "c.csv"}, relative);
  }
}
