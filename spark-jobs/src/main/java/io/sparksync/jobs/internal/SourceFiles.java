package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.sql.SparkSession;

/**
 * Source files on any Hadoop file system: their size and modification time (the stamp a batch
 * plan and the checkpoint compare), and a source root planned into its data files with the
 * identities the checkpoint and keys use. A missing path fails with
 * {@link JobException.Code#SOURCE_UNREADABLE}, a file system that does not answer with
 * {@link JobException.Code#SOURCE_UNAVAILABLE} (see {@link JobException#ofSourceIo}).
 */
public final class SourceFiles {
  private SourceFiles() {}

  /** {sizeBytes, modificationTimeMs} of a file. */
  public static long[] stat(SparkSession spark, String path) {
    FileStatus st = status(spark, path);
    return new long[] {st.getLen(), st.getModificationTime()};
  }

  /**
   * {sizeBytes, modificationTimeMs, rows, inputSplits} of one data file (rows and splits from
   * {@link SourceReader}); a directory is refused.
   */
  public static long[] describe(SparkSession spark, String path, String format) {
    FileStatus st = status(spark, path);
    if (st.isDirectory()) {
      throw new JobException(JobException.Code.SOURCE_UNREADABLE,
          path + " is a directory, not a data file", null);
    }
    return new long[] {
      st.getLen(), st.getModificationTime(), SourceReader.rows(spark, path, format, st.getLen()),
      SourceReader.inputSplits(spark, path, format)
    };
  }

  /**
   * The data files under {@code root}, a file or a directory; see
   * {@link #list(FileSystem, FileStatus)}.
   */
  public static String[] list(SparkSession spark, String root) {
    FileStatus st = status(spark, root);
    try {
      return list(st.getPath().getFileSystem(spark.sparkContext().hadoopConfiguration()), st);
    } catch (IOException e) {
      throw JobException.ofSourceIo("cannot list " + root, e);
    }
  }

  /**
   * The data files under {@code root}, in order of their relative paths.
   *
   * @return pairs, flattened: {path relative to root with {@code /} separators, qualified URI}
   */
  static String[] list(FileSystem fs, FileStatus root) throws IOException {
    if (!root.isDirectory()) {
      return new String[] {root.getPath().getName(), root.getPath().toString()};
    }
    String prefix = fs.makeQualified(root.getPath()).toUri().getPath();
    if (!prefix.endsWith("/")) {
      prefix += "/";
    }
    TreeMap<String, String> files = new TreeMap<>();
    RemoteIterator<LocatedFileStatus> it = fs.listFiles(root.getPath(), true);
    while (it.hasNext()) {
      LocatedFileStatus st = it.next();
      Path p = fs.makeQualified(st.getPath());
      String full = p.toUri().getPath();
      if (!full.startsWith(prefix)) {
        throw new IOException(full + " was listed under " + prefix + " but is not inside it");
      }
      String relative = full.substring(prefix.length());
      if (st.isFile() && isDataFile(relative)) {
        files.put(relative, p.toString());
      }
    }
    List<String> flat = new ArrayList<>(files.size() * 2);
    files.forEach((relative, uri) -> {
      flat.add(relative);
      flat.add(uri);
    });
    return flat.toArray(new String[0]);
  }

  /** Whether every part of a relative path names data, as Spark's file index decides. */
  static boolean isDataFile(String relative) {
    for (String part : relative.split("/")) {
      boolean hidden = part.startsWith(".")
          || (part.startsWith("_") && !part.contains("="))
          || part.endsWith("._COPYING_");
      if (hidden) {
        return false;
      }
    }
    return !relative.endsWith(".crc");
  }

  private static FileStatus status(SparkSession spark, String path) {
    Path p = new Path(path);
    try {
      return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).getFileStatus(p);
    } catch (FileNotFoundException e) {
      throw new JobException(JobException.Code.SOURCE_UNREADABLE, path + " does not exist", null);
    } catch (IOException e) {
      throw JobException.ofSourceIo("cannot stat " + path, e);
    }
  }
}
