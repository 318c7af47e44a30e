package io.sparksync.jobs.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/** Plans a source root into its data files, with the identities the checkpoint and keys use. */
public final class SourceFiles {
  private SourceFiles() {}

  /**
   * The data files under {@code root}, in order of their relative paths.
   *
   * @return pairs, flattened: {path relative to root with {@code /} separators, qualified URI}
   */
  public static String[] list(FileSystem fs, FileStatus root) throws IOException {
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
}
