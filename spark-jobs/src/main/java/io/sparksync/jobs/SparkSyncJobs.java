package io.sparksync.jobs;

import io.sparksync.jobs.internal.Audit;
import io.sparksync.jobs.internal.Batches;
import io.sparksync.jobs.internal.HiveTables;
import io.sparksync.jobs.internal.IdentityIndex;
import io.sparksync.jobs.internal.KeyChecks;
import io.sparksync.jobs.internal.KeyColumns;
import io.sparksync.jobs.internal.KeyMode;
import io.sparksync.jobs.internal.Preview;
import io.sparksync.jobs.internal.Recovery;
import io.sparksync.jobs.internal.SampleData;
import io.sparksync.jobs.internal.SessionSettings;
import io.sparksync.jobs.internal.SourceFiles;
import io.sparksync.jobs.internal.TaskProducer;
import io.sparksync.jobs.internal.TestFaults;
import java.io.IOException;
import org.apache.spark.sql.SparkSession;

/**
 * The job API the TypeScript driver calls through java-bridge: one instance per driver process,
 * owning one SparkSession. Every method is safe to call from the bridge's async form; failures
 * the driver can act on arrive as {@link JobException} with a shared code.
 *
 * <p>Arguments cross the bridge as strings, numbers and arrays only ({@code "k=v"} pairs for
 * configuration), so the TypeScript side needs no Java types. Each method hands its work to one
 * class of {@code internal}: the session's settings ({@code SessionSettings}), the batch plan
 * ({@code Batches}), the recovery join ({@code Recovery}), the audit ({@code Audit}), source files
 * and tables ({@code SourceFiles}, {@code HiveTables}).
 */
public final class SparkSyncJobs {
  private final SparkSession spark;
  /** What the jobs of the next calls do, for the Spark UI ({@link #describeJobs}). */
  private volatile String description = "spark-sync";
  /** The batches being written (one file at a time: the driver syncs files one by one). */
  private final Batches batches;

  /** Bytes of files read by the session's tasks (input metrics), for the driver's figures. */
  private final java.util.concurrent.atomic.AtomicLong bytesRead =
      new java.util.concurrent.atomic.AtomicLong();

  private SparkSyncJobs(SparkSession spark) {
    this.spark = spark;
    this.batches = new Batches(spark);
    spark.sparkContext().addSparkListener(new org.apache.spark.scheduler.SparkListener() {
      @Override
      public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd end) {
        if (end.taskMetrics() != null) {
          bytesRead.addAndGet(end.taskMetrics().inputMetrics().bytesRead());
        }
      }
    });
  }

  /**
   * Bytes of source (and index) files the session's tasks have read so far; the listener bus is
   * drained first, so every finished task is counted.
   */
  public long sourceBytesRead() throws java.util.concurrent.TimeoutException {
    spark.sparkContext().listenerBus().waitUntilEmpty();
    return bytesRead.get();
  }

  /**
   * Starts (or joins) the SparkSession.
   *
   * @param master e.g. {@code local[*]}, {@code spark://host:7077}
   * @param conf {@code key=value} Spark settings from {@code --conf}
   */
  public static SparkSyncJobs start(String master, String[] conf) {
    return new SparkSyncJobs(SessionSettings.start(master, conf));
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
  public byte[] previewFile(String path, String format, String fileIdentity, long rows,
      String[] keyFields, String[] messageKey) {
    described();
    return ArrowResults.encode(Preview.firstRows(spark, path, format, fileIdentity, rows,
        KeyMode.withoutIndex(keyFields, messageKey)));
  }

  /**
   * What the session runs on, for the driver's log: {name, value, …} pairs of the application
   * id, master, Spark version, and the driver's advertised host and ports (where executors on a
   * cluster connect; {@code --conf spark.driver.host}, {@code spark.driver.port} and
   * {@code spark.blockManager.port} fix them behind NAT or in a container).
   */
  public String[] sessionInfo() {
    return SessionSettings.describe(spark);
  }

  /**
   * Cancels every running job of the session (a stop: SIGTERM, or a lost lease) and waits up to
   * {@code timeoutMs} until no task runs any more. Writing tasks check for it record by record
   * and drop what their producer has not sent, so once this returns true nothing of this process
   * reaches Kafka. A job started afterwards is not affected.
   *
   * @return whether every task had stopped within the time
   */
  public boolean cancelRunning(long timeoutMs) throws InterruptedException {
    org.apache.spark.SparkContext sc = spark.sparkContext();
    sc.cancelAllJobs();
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (true) {
      int running = 0;
      for (org.apache.spark.SparkExecutorInfo e : sc.statusTracker().getExecutorInfos()) {
        running += e.numRunningTasks();
      }
      if (running == 0) {
        return true;
      }
      if (System.currentTimeMillis() > deadline) {
        return false;
      }
      Thread.sleep(100);
    }
  }

  /**
   * Names the jobs of the calls that follow in the Spark UI and its REST API (e.g.
   * {@code spark-sync: orders.parquet batch 3/10 (rows 2,000,000–3,000,000)}). Spark keeps a
   * job's description per thread, so each call that runs jobs applies it on its own thread.
   */
  public void describeJobs(String description) {
    this.description = description;
  }

  private void described() {
    spark.sparkContext().setJobDescription(description);
  }

  /** Stops the SparkSession. */
  public void stop() {
    // In local mode the tasks' shared producers live in this JVM: nothing of theirs is pending.
    TaskProducer.closeShared();
    spark.stop();
  }

  /**
   * Size, modification time and row count of one source file, plus how many input splits Spark
   * makes of it under the current settings.
   *
   * @return {sizeBytes, modificationTimeMs, rows, inputSplits}
   */
  public long[] describeFile(String path, String format) {
    described();
    return SourceFiles.describe(spark, path, format);
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
    return SourceFiles.stat(spark, path);
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
    return SourceFiles.list(spark, root);
  }

  /**
   * Writes the rows of {@code path} at positions {@code [from, from + batchSize)} (up to
   * {@code fileRows}) to {@code topic}, each task one Kafka partition in position order.
   * Retry-safe: a task that is run again skips what its partition already holds past
   * {@code batchStartOffsets}. The file is read, keyed and shuffled for many batches at once
   * (the batch plan, {@code internal.Batches}); consecutive calls for the same file reuse that
   * work.
   *
   * @param batchStartOffsets per partition, the end offset the checkpoint holds before this batch;
   *     its length is the topic's partition count
   * @return per partition: {partition, records in the batch, sent now, skipped}
   */
  public long[][] writeBatch(String path, String format, String fileIdentity, long from,
      long batchSize, long fileRows, String topic, String[] kafkaConf, long[] batchStartOffsets,
      String[] keyFields, String[] messageKey, String identityIndex) {
    described();
    return batches.write(path, format, fileIdentity, from, batchSize, fileRows, topic, kafkaConf,
        batchStartOffsets, false, KeyMode.of(keyFields, messageKey, identityIndex));
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
      long batchSize, long fileRows, String topic, String[] kafkaConf, long[] batchStartOffsets,
      String[] keyFields, String[] messageKey, String identityIndex) {
    described();
    return batches.write(path, format, fileIdentity, from, batchSize, fileRows, topic, kafkaConf,
        batchStartOffsets, true, KeyMode.of(keyFields, messageKey, identityIndex));
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
      String topic, String[] kafkaConf, long[] keysFrom, long[] keysTo, String[] keyFields,
      String[] messageKey, String identityIndex) {
    described();
    return Recovery.writeDelta(spark, path, format, fileIdentity, from, to, topic, kafkaConf,
        keysFrom, keysTo, KeyMode.of(keyFields, messageKey, identityIndex));
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
      String[] kafkaConf, long[] from, long[] to, String[] messageKey) {
    described();
    return Audit.file(spark, path, format, fileIdentity, rows, topic, kafkaConf, from, to,
        KeyMode.of(new String[0], messageKey, null));
  }

  /**
   * Natural-key audit of a topic's files synced with the same {@code --key-fields} (see
   * {@code internal.Audit#naturalKeys}): their distinct identities against the identities in their
   * offset ranges, taken together.
   *
   * @param identityIn per file, {@code header} (a business message key) or {@code key}
   * @param from per file, its start offsets, flattened file by file
   * @return {distinct source identities, messages in the ranges, missing, duplicated, foreign}
   */
  public long[] auditNaturalKeys(String[] paths, String[] formats, String[] keyFields,
      String[] identityIn, String topic, String[] kafkaConf, long[] from, long[] to) {
    described();
    return Audit.naturalKeys(spark, paths, formats, keyFields, identityIn, topic, kafkaConf, from,
        to);
  }

  /**
   * What a file's key mode finds before it is sent (see {@code internal.KeyChecks}).
   *
   * @return {position of the first row with a NULL message key or -1, distinct natural-key
   *     identities or -1, of those the topic's identity index already holds or -1}
   */
  public long[] checkKeys(String path, String format, String[] keyFields, String[] messageKey,
      String identityIndex) {
    described();
    return KeyChecks.check(spark, path, format, KeyMode.of(keyFields, messageKey, identityIndex));
  }

  /**
   * The records a natural-key file has at positions {@code [from, to)}: the rows there that are
   * the first of their identity in the file and not in the topic's identity index.
   */
  public long countRecords(String path, String format, String fileIdentity, long from, long to,
      String[] keyFields, String[] messageKey, String identityIndex) {
    described();
    return KeyColumns.count(spark, path, format, fileIdentity, from, to,
        KeyMode.of(keyFields, messageKey, identityIndex));
  }

  /**
   * Brings a topic's identity index in line with the checkpoint (see
   * {@code internal.IdentityIndex#reconcile}).
   *
   * @param expected the segments of every committed natural-key batch of the topic
   * @return the expected segments that are missing, to rebuild with {@link #writeIdentitySegment}
   */
  public String[] reconcileIdentityIndex(String identityIndex, String[] expected) {
    return IdentityIndex.reconcile(spark, identityIndex, expected);
  }

  /**
   * Writes one segment of a topic's identity index: the identities of the messages a committed
   * batch put at offsets {@code [from, to)}, read back from Kafka.
   *
   * @param identityIn {@code header} (a business message key) or {@code key}
   */
  public void writeIdentitySegment(String identityIndex, String segment, String topic,
      String[] kafkaConf, long[] from, long[] to, String identityIn) {
    described();
    IdentityIndex.writeFromKafka(spark, identityIndex, segment, topic, kafkaConf, from, to,
        "header".equals(identityIn));
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
}
