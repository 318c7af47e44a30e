package io.sparksync.devservices;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.yarn.api.records.NodeState;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;

/**
 * A real HDFS for tests: Hadoop's MiniDFSCluster, a namenode and {@code N} datanodes in this JVM,
 * with its storage under a given folder and the namenode on a free port; optionally a real YARN
 * on top of it (Hadoop's MiniYARNCluster: one ResourceManager and {@code M} NodeManagers, whose
 * containers are real processes working under the same folder).
 *
 * <p>Usage: {@code MiniHdfs <base dir> <datanodes> [<node managers>]}. Once the cluster is up it
 * prints {@code ready hdfs://127.0.0.1:<port>}; with node managers, only once they all run, and
 * followed by {@code conf=<base dir>/conf}: a HADOOP_CONF_DIR/YARN_CONF_DIR for clients of both.
 * Then it takes one command per line on stdin and answers {@code ok} (or {@code error <message>})
 * on stdout:
 *
 * <ul>
 *   <li>{@code put <local file> <hdfs path> <replication> <block bytes>}: copies a file in;
 *   <li>{@code stop-datanode <index>}: stops that datanode, as a machine failing would;
 *   <li>{@code quit}: shuts the cluster down and exits (so does the end of stdin).
 * </ul>
 */
public final class MiniHdfs {
  /** Tests must never reach the machine's own name: it may resolve to a non-loopback address. */
  private static final String LOOPBACK = "127.0.0.1";

  private MiniHdfs() {}

  /** Exits on a failed start too: the cluster's non-daemon threads would keep the JVM alive. */
  public static void main(String[] args) {
    try {
      run(args);
    } catch (Throwable t) {
      t.printStackTrace();
      System.exit(1);
    }
    System.exit(0);
  }

  private static void run(String[] args) throws Exception {
    String base = args[0];
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base);
    // Small blocks, so a test file spans several and every datanode holds some.
    conf.setLong("dfs.namenode.fs-limits.min-block-size", 64 * 1024);
    int datanodes = Integer.parseInt(args[1]);
    int nodeManagers = args.length > 2 ? Integer.parseInt(args[2]) : 0;
    MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf)
        .numDataNodes(datanodes).nameNodePort(0).format(true).build();
    MiniYARNCluster yarn = null;
    try {
      cluster.waitActive();
      FileSystem fs = cluster.getFileSystem();
      String ready = "ready hdfs://127.0.0.1:" + cluster.getNameNodePort();
      if (nodeManagers > 0) {
        conf.set(FileSystem.FS_DEFAULT_NAME_KEY, ready.substring("ready ".length()));
        yarn = startYarn(conf, base, nodeManagers);
        ready += " conf=" + writeClientConf(yarn, base, nodeManagers);
      }
      System.out.println(ready);
      System.out.flush();
      serve(cluster, fs);
    } finally {
      if (yarn != null) {
        yarn.stop();
      }
      cluster.shutdown(true);
    }
  }

  private static void serve(MiniDFSCluster cluster, FileSystem fs) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null && !line.equals("quit"); line = in.readLine()) {
      String[] cmd = line.trim().split("\\s+");
      try {
        switch (cmd[0]) {
          case "put":
            put(fs, cmd[1], new Path(cmd[2]), Short.parseShort(cmd[3]), Long.parseLong(cmd[4]));
            break;
          case "stop-datanode":
            if (cluster.stopDataNode(Integer.parseInt(cmd[1])) == null) {
              throw new IllegalArgumentException("no datanode " + cmd[1]);
            }
            break;
          default:
            throw new IllegalArgumentException("unknown command " + cmd[0]);
        }
        System.out.println("ok");
      } catch (Exception e) {
        System.out.println("error " + e.toString().replace('\n', ' '));
      }
      System.out.flush();
    }
  }

  private static void put(FileSystem fs, String local, Path target, short replication,
      long blockBytes) throws Exception {
    try (InputStream src = Files.newInputStream(Paths.get(local));
        OutputStream out = fs.create(target, true, 64 * 1024, replication, blockBytes)) {
      src.transferTo(out);
    }
  }

  /**
   * Starts one ResourceManager and {@code nodeManagers} NodeManagers over the HDFS's
   * configuration, each NodeManager sized for a small Spark application: an ApplicationMaster
   * and two executors of about 900 MB each.
   */
  private static MiniYARNCluster startYarn(Configuration hdfsConf, String base, int nodeManagers) {
    // MiniYARNCluster puts its NodeManagers' local and log folders under test.build.data
    // (default: target/ in the working directory); the fixture's processes must stay in base.
    System.setProperty("test.build.data", base);
    YarnConfiguration conf = new YarnConfiguration(hdfsConf);
    // MiniYARNCluster advertises "localhost" on ephemeral ports; bind every server to loopback.
    conf.set(YarnConfiguration.RM_HOSTNAME, LOOPBACK);
    conf.set(YarnConfiguration.RM_BIND_HOST, LOOPBACK);
    conf.set(YarnConfiguration.NM_BIND_HOST, LOOPBACK);
    // MiniYARNCluster overwrites yarn.nodemanager.resource.memory-mb with this one.
    conf.setInt(YarnConfiguration.YARN_MINICLUSTER_NM_PMEM_MB, 3072);
    conf.setInt(YarnConfiguration.NM_VCORES, 4);
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 64);
    // No vmem/pmem check to lift (a Java 17 container reserves far more virtual memory than its
    // heap): MiniYARNCluster turns the containers' resource monitor off.
    // A nearly full disk must not mark the only node unhealthy (Spark's own YARN suite does this).
    conf.setFloat(YarnConfiguration.NM_MAX_PER_DISK_UTILIZATION_PERCENTAGE, 100f);
    // Forced into every container's environment. Spark launches containers with
    // $JAVA_HOME/bin/java, and they get the NodeManager's JAVA_HOME only if it is set: give them
    // this JVM's. (Where containers bind is the application's setting: Spark passes its own
    // SPARK_* variables on, and a second value here would be appended to them with a ':'.)
    String javaHome = System.getenv().getOrDefault("JAVA_HOME", System.getProperty("java.home"));
    conf.set(YarnConfiguration.NM_ADMIN_USER_ENV, YarnConfiguration.DEFAULT_NM_ADMIN_USER_ENV
        + ",JAVA_HOME=" + javaHome);
    // hadoop-client-minicluster lacks capacity-scheduler.xml: declare its one queue here.
    conf.set("yarn.scheduler.capacity.root.queues", "default");
    conf.setInt("yarn.scheduler.capacity.root.default.capacity", 100);
    conf.setInt("yarn.scheduler.capacity.root.default.maximum-capacity", 100);
    conf.setFloat("yarn.scheduler.capacity.root.default.user-limit-factor", 1);
    conf.set("yarn.scheduler.capacity.root.default.state", "RUNNING");
    conf.set("yarn.scheduler.capacity.root.default.acl_submit_applications", "*");
    conf.set("yarn.scheduler.capacity.root.default.acl_administer_queue", "*");
    conf.setInt("yarn.scheduler.capacity.node-locality-delay", -1);
    MiniYARNCluster yarn = new MiniYARNCluster("yarn", 1, nodeManagers, 1, 1);
    yarn.init(conf);
    yarn.start();
    return yarn;
  }

  /**
   * Writes the cluster's client configuration to {@code <base>/conf}, with the ResourceManager
   * addresses as 127.0.0.1 rather than the "localhost" it advertises, and returns that folder
   * once a client of those files sees {@code nodeManagers} running NodeManagers and the HDFS.
   */
  private static String writeClientConf(MiniYARNCluster yarn, String base, int nodeManagers)
      throws Exception {
    // What a real cluster's client configuration holds, and no more: the cluster's own
    // configuration carries test-only settings (MiniDFSCluster's StaticMapping topology class)
    // that a client without Hadoop's test jars cannot load.
    Configuration cluster = yarn.getResourceManager().getConfig();
    Configuration conf = new Configuration(false);
    for (String key : List.of(FileSystem.FS_DEFAULT_NAME_KEY, "dfs.replication",
        YarnConfiguration.RM_HOSTNAME)) {
      conf.set(key, cluster.get(key));
    }
    for (String key : YarnConfiguration.getServiceAddressConfKeys(cluster)) {
      String address = cluster.get(key);
      conf.set(key, LOOPBACK + address.substring(address.lastIndexOf(':')));
    }
    java.nio.file.Path dir = Files.createDirectories(Paths.get(base, "conf"));
    // Clients read core-site.xml always, hdfs-site.xml and yarn-site.xml once they load HDFS or
    // YARN classes: each file holds the whole client configuration, so any of them suffices.
    for (String file : List.of("core-site.xml", "hdfs-site.xml", "yarn-site.xml")) {
      try (OutputStream out = Files.newOutputStream(dir.resolve(file))) {
        conf.writeXml(out);
      }
    }
    Configuration client = new Configuration(false);
    client.addResource(new Path(dir.resolve("yarn-site.xml").toUri()));
    try (FileSystem fs = FileSystem.newInstance(client)) {
      fs.getFileStatus(new Path("/"));
    }
    YarnClient yarnClient = YarnClient.createYarnClient();
    yarnClient.init(client);
    yarnClient.start();
    try {
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (yarnClient.getNodeReports(NodeState.RUNNING).size() < nodeManagers) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("NodeManagers not running after 60 s: "
              + yarnClient.getNodeReports());
        }
        Thread.sleep(200);
      }
    } finally {
      yarnClient.stop();
    }
    return dir.toString();
  }
}
