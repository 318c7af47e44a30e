package io.sparksync.jobs;

import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import io.sparksync.jobs.internal.BatchPlan;
import io.sparksync.jobs.internal.BatchWriter;
import io.sparksync.jobs.internal.HiveTables;
import io.sparksync.jobs.internal.KafkaKeys;
import io.sparksync.jobs.internal.KeyValues;
import io.sparksync.jobs.internal.Preview;
import io.sparksync.jobs.internal.SampleData;
import io.sparksync.jobs.internal.Slot;
import io.sparksync.jobs.internal.SourceFiles;
import io.sparksync.jobs.internal.SourceReader;
import io.sparksync.jobs.internal.TestFaults;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
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
  /** Up to this many keys (64 MB), a recovery join broadcasts the keys found in Kafka. */
  static final long BROADCAST_KEYS_MAX = 1_000_000L;

  private final SparkSession spark;
  /** The batches being written (one file at a time: the driver syncs files one by one). */
  private BatchPlan plan;

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
        .config("spark.sql.shuffle.partitions", "8")
        // Records cross the shuffle as byte arrays; Kryo moves them far cheaper than Java
        // serialization.
        .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
        .config("spark.kryo.classesToRegister", Slot.class.getName())
        // An unreachable or silent namenode fails in seconds (exit 3, retriable), not after
        // Hadoop's 45 connect timeouts of 20 s or a call that never returns; --conf may raise these.
        .config("spark.hadoop.ipc.client.rpc-timeout.ms", "30000")
        .config("spark.hadoop.ipc.client.connect.timeout", "5000")
        .config("spark.hadoop.ipc.client.connect.max.retries", "2")
        .config("spark.hadoop.ipc.client.connect.max.retries.on.timeouts", "2");
    for (Map.Entry<String, String> e : KeyValues.parse(conf).entrySet()) {
      b.config(e.getKey(), e.getValue());
    }
    // Part of the hash contract, so not overridable: timestamps render in UTC, and no task runs
    // twice at once (two attempts writing one partition would interleave).
    b.config("spark.sql.session.timeZone", "UTC").config("spark.speculation", "false");
    return new SparkSyncJobs(b.getOrCreate());
  }

  /**
   * Spark's and Kafka's own log level in this JVM ({@code ERROR} by default, from
   * log4j2.properties; {@code INFO} with --verbose).
   */
  public static void setLogLevel(String level) {
    // Every logger, not only the root: log4j2.properties quiets some below it.
    org.apache.logging.log4j.core.config.Configurator.setAllLevels(
        org.apache.logging.log4j.LogManager.ROOT_LOGGER_NAME,
        org.apache.logging.log4j.Level.toLevel(level, org.apache.logging.log4j.Level.ERROR));
  }

  /**
   * The first {@code rows} rows of a file with their positions and keys, as an Arrow IPC stream
   * (columns position, key, then each field as the text its key hashes).
   */
  public byte[] previewFile(String path, String format, String fileIdentity, long rows) {
    return ArrowResults.encode(Preview.firstRows(spark, path, format, fileIdentity, rows));
  }

  /**
   * What the session runs on, for the driver's log: {name, value, …} pairs of the application
   * id, master, Spark version, and the driver's advertised host and ports (where executors on a
   * cluster connect; {@code --conf spark.driver.host}, {@code spark.driver.port} and
   * {@code spark.blockManager.port} fix them behind NAT or in a container).
   */
  public String[] sessionInfo() {
    var sc = spark.sparkContext();
    var conf = sc.getConf();
    return new String[] {
      "app_id", sc.applicationId(),
      "master", sc.master(),
      "spark_version", sc.version(),
      "driver_host", conf.get("spark.driver.host", ""),
      "driver_bind_address", conf.get("spark.driver.bindAddress", conf.get("spark.driver.host", "")),
      "driver_port", conf.get("spark.driver.port", ""),
      "block_manager_port",
      String.valueOf(org.apache.spark.SparkEnv.get().blockManager().blockManagerId().port()),
    };
  }

  /** Stops the SparkSession. */
  public void stop() {
    spark.stop();
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
          path + " is a directory, not a data file", null);
    }
    return new long[] {
      st.getLen(), st.getModificationTime(), SourceReader.rows(spark, path, format, st.getLen()),
      SourceReader.inputSplits(spark, path, format)
    };
  }

  /**
   * The data files of a Hive table ({@code db.table}), of every partition or of those
   * {@code where} (a predicate over partition columns, or null) selects; see {@link HiveTables}.
   * Needs a session started with {@code spark.sql.catalogImplementation=hive}.
   *
   * @return triples, flattened: {path relative to the table's location, URI, format, …}
   */
  public String[] listTable(String table, String where) {
    return HiveTables.list(spark, table, where);
  }

  /** Size and modification time of a file: {sizeBytes, modificationTimeMs}. */
  public long[] statFile(String path) {
    FileStatus st = status(path);
    return new long[] {st.getLen(), st.getModificationTime()};
  }

  /**
   * The data files under {@code root} (a file or a directory, any Hadoop file system: local,
   * {@code file://}, {@code hdfs://}), recursively, in path order. Skipped, as Spark and Hive
   * skip them: names starting with {@code .}, names starting with {@code _} that are not
   * {@code key=value} partition folders ({@code _SUCCESS}, {@code _temporary}), {@code .crc}
   * checksums and files still being copied ({@code ._COPYING_}).
   *
   * @return pairs, flattened: {path relative to root, fully qualified URI, …}; a file root
   *     gives its own name
   */
  public String[] listFiles(String root) {
    FileStatus st = status(root);
    try {
      return SourceFiles.list(st.getPath().getFileSystem(spark.sparkContext().hadoopConfiguration()),
          st);
    } catch (IOException e) {
      throw JobException.ofSourceIo("cannot list " + root, e);
    }
  }

  /**
   * Writes the rows of {@code path} at positions {@code [from, from + batchSize)} (up to
   * {@code fileRows}) to {@code topic}, each task one Kafka partition in position order.
   * Retry-safe: a task that is run again skips what its partition already holds past
   * {@code batchStartOffsets}. The file is read, keyed and shuffled for many batches at once
   * ({@link BatchPlan}); consecutive calls for the same file reuse that work.
   *
   * @param batchStartOffsets per partition, the end offset the checkpoint holds before this batch;
   *     its length is the topic's partition count
   * @return per partition: {partition, records in the batch, sent now, skipped}
   */
  public long[][] writeBatch(String path, String format, String fileIdentity, long from,
      long batchSize, long fileRows, String topic, String[] kafkaConf, long[] batchStartOffsets) {
    return write(path, format, fileIdentity, from, batchSize, fileRows, topic, kafkaConf,
        batchStartOffsets, false);
  }

  /**
   * Window recovery of a batch a crash cut off (DESIGN.md §2, step 3) as an ordered merge: each
   * partition's records past {@code batchStartOffsets} must be the batch's first records for that
   * partition in position order (the crashed run's task wrote them so). Each task reads them back,
   * checks them key by key, skips them and writes the rest. Costs one batch; no join.
   *
   * @throws JobException {@code RESUME_MISMATCH} if a partition holds anything else (say a foreign
   *     write); the driver then recovers with {@link #writeDelta}, which handles any content
   */
  public long[][] resumeBatch(String path, String format, String fileIdentity, long from,
      long batchSize, long fileRows, String topic, String[] kafkaConf, long[] batchStartOffsets) {
    return write(path, format, fileIdentity, from, batchSize, fileRows, topic, kafkaConf,
        batchStartOffsets, true);
  }

  private long[][] write(String path, String format, String fileIdentity, long from,
      long batchSize, long fileRows, String topic, String[] kafkaConf, long[] batchStartOffsets,
      boolean resume) {
    FileStatus st = status(path);
    plan = BatchPlan.forBatch(plan, spark, path, format, fileIdentity, fileRows, batchSize,
        batchStartOffsets.length, new long[] {st.getLen(), st.getModificationTime()}, from);
    return plan.write(from, topic, KeyValues.parse(kafkaConf), batchStartOffsets, resume);
  }

  /**
   * Recovery write (DESIGN.md §2): the rows at positions {@code [from, to)} whose key is not among
   * the keys Kafka holds at offsets {@code [keysFrom, keysTo)} (a left anti join), appended after
   * {@code keysTo}. With {@code from} = records processed and {@code keysFrom} = the checkpoint's
   * offsets this costs one batch; with {@code from} = 0 and {@code keysFrom} = the file's start
   * offsets it is the whole-file join.
   *
   * @return per partition: {partition, records written now, sent, skipped}
   */
  public long[][] writeDelta(String path, String format, String fileIdentity, long from, long to,
      String topic, String[] kafkaConf, long[] keysFrom, long[] keysTo) {
    Map<String, String> kafka = KeyValues.parse(kafkaConf);
    var rows = BatchWriter.keyed(spark, path, format, fileIdentity, from, to);
    var written = KafkaKeys.keysIn(spark, topic, kafka, keysFrom, keysTo);
    long keys = 0;
    for (int p = 0; p < keysTo.length; p++) {
      keys += keysTo[p] - keysFrom[p];
    }
    if (keys <= BROADCAST_KEYS_MAX) {
      // Few keys (a window's, or a small file's) go to every task: the rows are joined where
      // they are read, with no shuffle of the rows for the join.
      written = broadcast(written);
    }
    var delta = rows.join(written,
        rows.col(BatchWriter.KEY).equalTo(written.col(BatchWriter.KEY)), "left_anti");
    var placed = BatchWriter.place(delta, keysTo.length, from, Math.max(1, to - from), 1);
    return BatchWriter.writeBatch(placed, 0, fileIdentity, topic, kafka, keysTo, false);
  }

  /**
   * Audit of one file (DESIGN.md §2): its rows at positions {@code [0, rows)} are keyed again and
   * compared with the keys at offsets {@code [from, to)} of the topic. Done by Spark, so it scales
   * with the data; only five numbers reach the driver.
   *
   * @return {source rows, messages in the range, missing keys, duplicated keys (present more than
   *     once), foreign messages (keys not of this file)}
   */
  public long[] auditFile(String path, String format, String fileIdentity, long rows, String topic,
      String[] kafkaConf, long[] from, long[] to) {
    var source = BatchWriter.keyed(spark, path, format, fileIdentity, 0, rows).select(col(BatchWriter.KEY), lit(true).as("in_source"));
    var inKafka = KafkaKeys.keysIn(spark, topic, KeyValues.parse(kafkaConf), from, to)
        .groupBy(BatchWriter.KEY).count();
    Row r = source.join(inKafka, source.col(BatchWriter.KEY).equalTo(inKafka.col(BatchWriter.KEY)),
            "full_outer")
        .agg(
            count(col("in_source")).as("source_rows"),
            coalesce(sum(col("count")), lit(0L)).as("messages"),
            count(when(col("in_source").and(col("count").isNull()), 1)).as("missing"),
            count(when(col("in_source").and(col("count").gt(1)), 1)).as("duplicated"),
            coalesce(sum(when(col("in_source").isNull(), col("count"))), lit(0L)).as("foreign"))
        .first();
    return new long[] {r.getLong(0), r.getLong(1), r.getLong(2), r.getLong(3), r.getLong(4)};
  }

  /**
   * Test-only: arms a fault that fires in the next writing task once it has sent
   * {@code afterRecords} records ({@code kill}: SIGKILL this process; {@code fail}: fail the task
   * once). Never called in normal runs.
   */
  public void armTestFault(String fault, long afterRecords) {
    TestFaults.arm(fault, afterRecords);
  }

  /**
   * Writes rows {@code [firstRow, firstRow + rows)} of the deterministic sample table as one
   * {@code format} file (parquet or orc) at {@code path}.
   */
  public void writeSample(String path, String format, long firstRow, long rows,
      long rowGroupBytes) throws IOException {
    SampleData.write(spark, path, format, firstRow, rows, rowGroupBytes);
  }

  private FileStatus status(String path) {
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
