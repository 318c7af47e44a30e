package io.sparksync.jobs;

import io.sparksync.jobs.internal.BatchWriter;
import io.sparksync.jobs.internal.SampleData;
import io.sparksync.jobs.internal.SourceReader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * The job API the TypeScript driver calls through java-bridge: one instance per driver process,
 * owning one SparkSession. Every method is safe to call from the bridge's async form; failures
 * the driver can act on arrive as {@link JobException} with a shared code.
 *
 * <p>Arguments cross the bridge as strings, numbers and arrays only ({@code "k=v"} pairs for
 * configuration), so the TypeScript side needs no Java types.
 */
public final class SparkSyncJobs {
  private final SparkSession spark;

  private SparkSyncJobs(SparkSession spark) {
    this.spark = spark;
  }

  /**
   * Starts (or joins) the SparkSession.
   *
   * @param master e.g. {@code local[*]}, {@code spark://host:7077}
   * @param conf {@code key=value} Spark settings from {@code --conf}
   */
  public static SparkSyncJobs start(String master, String[] conf) {
    SparkSession.Builder b = SparkSession.builder().master(master).appName("spark-sync")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8");
    for (Map.Entry<String, String> e : pairs(conf).entrySet()) {
      b.config(e.getKey(), e.getValue());
    }
    // Part of the hash contract, so not overridable: timestamps render in UTC, and no task runs
    // twice at once (two attempts writing one partition would interleave).
    b.config("spark.sql.session.timeZone", "UTC").config("spark.speculation", "false");
    return new SparkSyncJobs(b.getOrCreate());
  }

  /** Stops the SparkSession. */
  public void stop() {
    spark.stop();
  }

  public String sparkVersion() {
    return spark.version();
  }

  /**
   * Size, modification time and row count of one source file, plus how many input splits Spark
   * makes of it under the current settings.
   *
   * @return {sizeBytes, modificationTimeMs, rows, inputSplits}
   */
  public long[] describeFile(String path, String format) {
    FileStatus st = status(path);
    if (st.isDirectory()) {
      throw new JobException(JobException.Code.SOURCE_UNREADABLE,
          path + " is a directory; this build syncs single files");
    }
    var data = SourceReader.read(spark, path, format);
    try {
      return new long[] {
        st.getLen(), st.getModificationTime(), data.count(), data.rdd().getNumPartitions()
      };
    } catch (Exception e) {
      throw new JobException(JobException.Code.SOURCE_UNREADABLE,
          "cannot read " + path + ": " + e.getMessage(), e);
    }
  }

  /**
   * Writes the rows of {@code path} at positions {@code [from, to)} to {@code topic}, each task
   * one Kafka partition in position order. Retry-safe: a task that is run again skips what its
   * partition already holds past {@code batchStartOffsets}.
   *
   * @param batchStartOffsets per partition, the end offset the checkpoint holds before this batch;
   *     its length is the topic's partition count
   * @return per partition: {partition, records in the batch, sent now, skipped}
   */
  public long[][] writeBatch(String path, String format, String fileIdentity, long from, long to,
      String topic, String[] kafkaConf, long[] batchStartOffsets) {
    return BatchWriter.write(SourceReader.readWithPositions(spark, path, format), fileIdentity,
        from, to, topic, pairs(kafkaConf), batchStartOffsets);
  }

  /** Writes the deterministic sample table as one Parquet file at {@code path}. */
  public void writeSampleParquet(String path, long rows, long rowGroupBytes) throws IOException {
    SampleData.writeParquet(spark, path, rows, rowGroupBytes);
  }

  /** The key of every row of a file, for audits and tests; positions in order. */
  public String[] keysOf(String path, String format, String fileIdentity) {
    var positioned = SourceReader.readWithPositions(spark, path, format);
    var schema = positioned.schema();
    var fields = java.util.Arrays.stream(schema.fields())
        .filter(f -> !f.name().equals(SourceReader.POSITION)).toList();
    return positioned
        .orderBy(SourceReader.POSITION)
        .select(io.sparksync.jobs.internal.KeyColumns.key(fields, fileIdentity,
            positioned.col(SourceReader.POSITION)))
        .as(org.apache.spark.sql.Encoders.STRING())
        .collectAsList()
        .toArray(new String[0]);
  }

  private FileStatus status(String path) {
    Path p = new Path(path);
    try {
      return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).getFileStatus(p);
    } catch (FileNotFoundException e) {
      throw new JobException(JobException.Code.SOURCE_UNREADABLE, path + " does not exist", null);
    } catch (IOException e) {
      throw new JobException(JobException.Code.SOURCE_UNREADABLE,
          "cannot stat " + path + ": " + e.getMessage(), e);
    }
  }

  static Map<String, String> pairs(String[] kv) {
    Map<String, String> m = new HashMap<>();
    for (String s : kv == null ? new String[0] : kv) {
      int eq = s.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("expected key=value, got '" + s + "'");
      }
      m.put(s.substring(0, eq), s.substring(eq + 1));
    }
    return m;
  }
}
