package io.sparksync.jobs.internal;

import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * The settings of spark-sync's one SparkSession: defaults that {@code --conf} may override, then
 * {@code --conf}, then the settings the hash contract depends on, which nothing overrides.
 */
public final class SessionSettings {
  private SessionSettings() {}

  /** Starts (or joins) the session; {@code conf} holds {@code key=value} Spark settings. */
  public static SparkSession start(String master, String[] conf) {
    // The Spark UI is on, as with spark-submit (port 4040 or the next free one; --conf
    // spark.ui.enabled=false turns it off): an operator watches stages, tasks and executors there.
    SparkSession.Builder b = SparkSession.builder().master(master).appName("spark-sync")
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
    return b.getOrCreate();
  }

  /**
   * {name, value, …} pairs of what the session runs on: application id, master, Spark version,
   * and the driver's advertised host and ports.
   */
  public static String[] describe(SparkSession spark) {
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
      "ui_url", sc.uiWebUrl().isDefined() ? sc.uiWebUrl().get() : "(disabled)",
    };
  }
}
