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
 * <p>An operation on a file takes one {@link JobRequest} (JSON: the file, its key mode, the topic,
 * the Kafka settings, the rows and offsets); the others take a few strings and numbers. So the
 * TypeScript side needs no Java types, and a new option is a field, not a new argument. Each
 * method hands its work to one
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
   * The first {@code request.limit} rows of a file with their positions and keys, as an Arrow IPC
   * stream (columns position, key, then each field as the text its key hashes).
   */
  public byte[] previewFile(String request) {
    described();
    JobRequest r = JobRequest.parse(request);
    return ArrowResults.encode(Preview.firstRows(spark, r.source.path, r.source.format,
        r.source.identity, r.limit, r.keyModeWithoutIndex()));
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
    spark.sparkContext().cancelAllJobs();
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (true) {
      if (runningTasks() == 0) {
        return true;
      }
      if (System.currentTimeMillis() > deadline) {
        return false;
      }
      Thread.sleep(100);
    }
  }

  /** How many tasks run on the session's executors now. */
  public int runningTasks() {
    int running = 0;
    for (org.apache.spark.SparkExecutorInfo e : spark.sparkContext().statusTracker()
        .getExecutorInfos()) {
      running += e.numRunningTasks();
    }
    return running;
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
   * Writes the rows of the request's file at positions {@code [from, from + batchSize)} (up to the
   * file's rows) to the topic. Retry-safe: a task that is run again skips what Kafka already holds
   * of its rows past {@code startOffsets} (the checkpoint's offsets before this batch; their
   * length is the topic's partition count). The file is read, keyed and shuffled for many
   * batches at once (the batch plan, {@code internal.Batches}); consecutive calls for the same
   * file reuse that work.
   *
   * @return per partition: {partition, records in the batch, sent now, skipped, dead-lettered,
   *     replayed}
   */
  public long[][] writeBatch(String request) {
    described();
    return batches.write(JobRequest.parse(request), false);
  }

  /**
   * Window recovery of a batch a crash cut off (DESIGN.md §2, step 3) as an ordered merge: each
   * partition's records past {@code startOffsets} must be the batch's first records for that
   * partition in position order (the crashed run's task wrote them so). Each task reads them back,
   * checks them key by key, skips them and writes the rest. Costs one batch; no join.
   *
   * @throws JobException {@code RESUME_MISMATCH} if a partition holds anything else (say a foreign
   *     write); the driver then recovers with {@link #writeDelta}, which handles any content
   */
  public long[][] resumeBatch(String request) {
    described();
    return batches.write(JobRequest.parse(request), true);
  }

  /**
   * Recovery write (DESIGN.md §2): the rows at positions {@code [from, to)} whose key is not among
   * the keys Kafka holds in the request's {@code ranges} (a left anti join), appended at
   * {@code writeFrom}, the partitions' end offsets now (past the key window when other files wrote
   * after a cut-off batch). With {@code from} = records processed and the batch's tail as ranges
   * this costs one batch; with {@code from} = 0 and the file's ranges it is the whole-file join.
   *
   * @return per partition: {partition, records written now, sent, skipped, dead-lettered,
   *     replayed}
   */
  public long[][] writeDelta(String request) {
    described();
    return Recovery.writeDelta(spark, JobRequest.parse(request));
  }

  /**
   * Audit of one file (DESIGN.md §2): its rows at positions {@code [0, source.rows)} are keyed
   * again and compared with the keys in its offset {@code ranges} of the topic (with
   * {@code topicFrom}: every record of the topic, its ranges marked) and with its
   * {@code deadLetters}. Done by Spark, so it scales with the data; only a few numbers reach the
   * driver.
   *
   * @return {source rows, messages in the ranges, missing keys, duplicated keys (present more than
   *     once, in the topic or the dead-letter topic), foreign messages in the ranges (keys not of
   *     this file), rows found in the dead-letter topic, copies outside the ranges}
   */
  public long[] auditFile(String request) {
    described();
    return Audit.file(spark, JobRequest.parse(request));
  }

  /**
   * Natural-key audit of a topic's files synced with the same {@code --key-fields} (see
   * {@code internal.Audit#naturalKeys}): their distinct identities against the identities in their
   * offset ranges, taken together. The request's {@code files} each name a file's source, keys,
   * ranges and dead letters; its own {@code keys}, {@code topic}, {@code topicFrom} and
   * {@code topicTo} apply to all.
   *
   * @return as {@link #auditFile}, for the files' distinct identities taken together
   */
  public long[] auditNaturalKeys(String request) {
    described();
    return Audit.naturalKeys(spark, JobRequest.parse(request));
  }

  /**
   * What a file's key mode finds before it is sent (see {@code internal.KeyChecks}). In
   * natural-key mode, a request naming the file's rows, its batch size and the offsets before its
   * first batch plans those batches here ({@code internal.Batches#identitiesInFile}), and the
   * file's first write uses that plan.
   *
   * @return {position of the first row with a NULL message key or -1, distinct natural-key
   *     identities or -1, -1}
   */
  public long[] checkKeys(String request) {
    described();
    JobRequest r = JobRequest.parse(request);
    return KeyChecks.check(spark, r.source.path, r.source.format, r.keyMode(),
        () -> batches.identitiesInFile(r));
  }

  /**
   * The records a natural-key file has at positions {@code [from, to)} to send: the rows there that
   * are the first of their identity in the file and that no other file has sent.
   */
  public long countRecords(String request) {
    described();
    JobRequest r = JobRequest.parse(request);
    return KeyColumns.count(spark, r.source.path, r.source.format, r.source.identity, r.from, r.to,
        r.keyMode());
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
   * Writes one segment ({@code segment}) of a topic's identity index ({@code keys.identityIndex}):
   * the identities of the messages a committed batch (or a cut-off batch's tail) put in its
   * offset {@code ranges}, read back from Kafka; in the header {@code spark-sync.id} when the
   * request has a {@code keys.messageKey}.
   */
  public void writeIdentitySegment(String request) {
    described();
    JobRequest r = JobRequest.parse(request);
    IdentityIndex.writeFromKafka(spark, r.keys.identityIndex, r.segment, r.topic, r.kafkaConf,
        r.ranges.isEmpty() ? 0 : r.ranges.get(0).from.length, r.rangeFrom(), r.rangeTo(),
        r.keys.messageKey.length > 0);
  }

  /**
   * Natural-key mode, after a batch's checkpoint commit: writes its identity-index segment from
   * the batch plan that wrote it (the identities its tasks sent; see
   * {@code internal.Batches#indexFromPlan}), without reading Kafka.
   *
   * @return false, with nothing written, when the plan no longer holds the batch or holds other
   *     than {@code identities} records of it: then {@link #writeIdentitySegment}
   */
  public boolean indexBatchFromPlan(String request) {
    described();
    return batches.indexFromPlan(JobRequest.parse(request));
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
