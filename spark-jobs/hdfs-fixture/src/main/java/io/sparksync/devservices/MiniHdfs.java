package io.sparksync.devservices;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * A real HDFS for tests: Hadoop's MiniDFSCluster, a namenode and {@code N} datanodes in this JVM,
 * with its storage under a given folder and the namenode on a free port.
 *
 * <p>Usage: {@code MiniHdfs <base dir> <datanodes>}. Prints {@code ready hdfs://127.0.0.1:<port>}
 * once the cluster is up, then takes one command per line on stdin and answers {@code ok} (or
 * {@code error <message>}) on stdout:
 *
 * <ul>
 *   <li>{@code put <local file> <hdfs path> <replication> <block bytes>}: copies a file in;
 *   <li>{@code stop-datanode <index>}: stops that datanode, as a machine failing would;
 *   <li>{@code quit}: shuts the cluster down and exits (so does the end of stdin).
 * </ul>
 */
public final class MiniHdfs {
  private MiniHdfs() {}

  public static void main(String[] args) throws Exception {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, args[0]);
    // Small blocks, so a test file spans several and every datanode holds some.
    conf.setLong("dfs.namenode.fs-limits.min-block-size", 64 * 1024);
    int datanodes = Integer.parseInt(args[1]);
    MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf)
        .numDataNodes(datanodes).nameNodePort(0).format(true).build();
    cluster.waitActive();
    FileSystem fs = cluster.getFileSystem();
    System.out.println("ready hdfs://127.0.0.1:" + cluster.getNameNodePort());
    System.out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    try {
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
    } finally {
      cluster.shutdown(true);
    }
    System.exit(0);
  }

  private static void put(FileSystem fs, String local, Path target, short replication,
      long blockBytes) throws Exception {
    try (InputStream src = Files.newInputStream(Paths.get(local));
        OutputStream out = fs.create(target, true, 64 * 1024, replication, blockBytes)) {
      src.transferTo(out);
    }
  }
}
