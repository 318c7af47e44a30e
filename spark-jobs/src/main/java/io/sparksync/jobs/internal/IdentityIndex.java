package io.sparksync.jobs.internal;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.unhex;

import io.sparksync.jobs.JobException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The natural-key identities a topic already holds, so that a replay (the same rows under another
 * file name, an overlapping extract) is not sent again without reading the topic's history.
 *
 * <p>One Parquet folder (a segment) per committed batch, holding the 32 digest bytes of the
 * identities that batch put into Kafka: the index holds only what Kafka acknowledged. A batch this
 * run just wrote is indexed from its batch plan's records ({@link BatchPlan#writeIdentities}),
 * checked against the count the batch's offsets confirmed; any other (a recovery, a rebuild) is
 * read back from the batch's own offset range. A segment is written under a temporary name and
 * renamed, so it exists whole or not at all. The driver writes it after the batch's checkpoint
 * commit and, at the start of every natural-key run, reconciles the folder with the checkpoint
 * ({@link #reconcile}): a segment lost to a crash is rebuilt from Kafka, one of a reset file is
 * deleted. The index is derived state: the topic and the checkpoint are the truth.
 */
public final class IdentityIndex {
  /** The identity's 32 digest bytes (half the size of its hex text). */
  static final String ID = "id";
  private static final String TEMP_PREFIX = "_tmp-";

  private IdentityIndex() {}

  /** The name prefix of a file's segments: see the driver's segmentName (identity-index.ts). */
  static String ownPrefix(String fileIdentity) {
    try {
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
          .digest(fileIdentity.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      StringBuilder hex = new StringBuilder();
      for (int i = 0; i < 12; i++) {
        hex.append(String.format("%02x", digest[i]));
      }
      return hex.append('-').toString();
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Every segment's identities as one column {@link #ID}, or null when there is none; segments
   * whose name starts with {@code exceptPrefix} (a file's own) are left out.
   */
  static Dataset<Row> read(SparkSession spark, String index, String exceptPrefix) {
    List<String> segments = segments(spark, index);
    segments.removeIf(name -> exceptPrefix != null && name.startsWith(exceptPrefix));
    if (segments.isEmpty()) {
      return null;
    }
    String[] paths = segments.stream().map(s -> new Path(index, s).toString()).toArray(String[]::new);
    // The schema is known: no job infers it from the segments' footers.
    return spark.read().schema(new StructType().add(ID, DataTypes.BinaryType)).parquet(paths)
        .select(col(ID));
  }

  /**
   * Brings the index in line with the checkpoint: deletes half-written segments and those not in
   * {@code expected} (a reset file's), and returns the expected segments that are missing (a crash
   * came between the checkpoint commit and the segment), for the driver to rebuild.
   */
  public static String[] reconcile(SparkSession spark, String index, String[] expected) {
    try {
      FileSystem fs = fileSystem(spark, index);
      Path root = new Path(index);
      fs.mkdirs(root);
      Set<String> wanted = new HashSet<>(Arrays.asList(expected));
      Set<String> present = new HashSet<>();
      for (FileStatus st : fs.listStatus(root)) {
        String name = st.getPath().getName();
        if (name.startsWith(TEMP_PREFIX) || (!wanted.contains(name) && !name.startsWith("."))) {
          fs.delete(st.getPath(), true);
        } else {
          present.add(name);
        }
      }
      return Arrays.stream(expected).filter(s -> !present.contains(s)).toArray(String[]::new);
    } catch (IOException e) {
      throw JobException.ofSourceIo("reconciling the identity index " + index, e);
    }
  }

  /**
   * Writes a segment from the identities of the messages in the offset ranges (flattened range by
   * range: range r's partition p at {@code r·P + p}, P = {@code partitions}).
   */
  public static void writeFromKafka(SparkSession spark, String index, String segment, String topic,
      String[] kafkaConf, int partitions, long[] from, long[] to, boolean inHeader) {
    Dataset<Row> all = null;
    for (int r = 0; r * partitions < from.length; r++) {
      Dataset<Row> keys = KafkaKeys.keysIn(spark, topic, KeyValues.parse(kafkaConf),
          Arrays.copyOfRange(from, r * partitions, (r + 1) * partitions),
          Arrays.copyOfRange(to, r * partitions, (r + 1) * partitions),
          inHeader ? KeyMode.MESSAGE_KEYED : KeyMode.POSITIONAL);
      all = all == null ? keys : all.union(keys);
    }
    write(spark, index, segment, all);
  }

  /**
   * Writes segment {@code segment} from the identities (hex, column {@link KeyColumns#KEY}) a
   * batch put into Kafka; nothing if it exists already.
   */
  static void write(SparkSession spark, String index, String segment, Dataset<Row> identities) {
    writeDigests(spark, index, segment, identities.select(unhex(col(KeyColumns.KEY)).as(ID)), -1);
  }

  /**
   * Writes segment {@code segment} from digests (column {@link #ID}), under a temporary name
   * renamed once whole. With {@code expected} of 0 or more, a segment of any other size is
   * deleted unrenamed and false returned; true once the segment exists (it may already have).
   */
  static boolean writeDigests(SparkSession spark, String index, String segment,
      Dataset<Row> digests, long expected) {
    try {
      FileSystem fs = fileSystem(spark, index);
      Path target = new Path(index, segment);
      if (fs.exists(target)) {
        return true;
      }
      Path temp = new Path(index, TEMP_PREFIX + segment);
      // Digests are all distinct: a dictionary would only cost time.
      digests.write().mode(SaveMode.Overwrite).option("parquet.enable.dictionary", "false")
          .parquet(temp.toString());
      // The count comes from the footers just written: a small job, no data read.
      if (expected >= 0 && spark.read().parquet(temp.toString()).count() != expected) {
        fs.delete(temp, true);
        return false;
      }
      if (!fs.rename(temp, target)) {
        throw new IOException("could not rename " + temp + " to " + target);
      }
      return true;
    } catch (IOException e) {
      throw JobException.ofSourceIo("writing segment " + segment + " of the identity index " + index, e);
    }
  }

  private static List<String> segments(SparkSession spark, String index) {
    try {
      FileSystem fs = fileSystem(spark, index);
      Path root = new Path(index);
      List<String> out = new ArrayList<>();
      if (!fs.exists(root)) {
        return out;
      }
      for (FileStatus st : fs.listStatus(root)) {
        String name = st.getPath().getName();
        if (st.isDirectory() && !name.startsWith("_") && !name.startsWith(".")) {
          out.add(name);
        }
      }
      out.sort(null);
      return out;
    } catch (IOException e) {
      throw JobException.ofSourceIo("reading the identity index " + index, e);
    }
  }

  private static FileSystem fileSystem(SparkSession spark, String index) throws IOException {
    return new Path(index).getFileSystem(spark.sparkContext().hadoopConfiguration());
  }
}
