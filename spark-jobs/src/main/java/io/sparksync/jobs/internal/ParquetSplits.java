package io.sparksync.jobs.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.HadoopReadOptions;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.Partition;
import org.apache.spark.rdd.PartitionPruningRDD;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.execution.FileSourceScanExec;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.datasources.FilePartition;
import org.apache.spark.sql.execution.datasources.PartitionedFile;
import scala.collection.JavaConverters;
import scala.runtime.AbstractFunction1;

/**
 * Reads only the splits of a Parquet file that hold a range of row positions.
 *
 * <p>{@code _metadata.row_index} has no pushdown: a filter on it still reads every row group. But
 * each split of a Parquet scan reads exactly the row groups whose midpoint lies in its byte range
 * (parquet-mr's range filter, which Spark's reader applies), and the footer says how many rows
 * each row group holds. So the rows a split yields are known before it runs, and a scan pruned to
 * the splits that overlap {@code [from, to)} reads those row groups and no others. A batch plan, a
 * window recovery and a preview then read what they need, not the file.
 */
final class ParquetSplits {
  /** Splits no smaller than this, so a narrow range does not become many tiny tasks. */
  static final long MIN_SPLIT_BYTES = 1L << 20;

  private ParquetSplits() {}

  /**
   * The split size for reading rows {@code [from, to)} of a file of {@code rows} rows and
   * {@code sizeBytes} bytes: the range's share of the file spread over the cluster's cores, so
   * the read is as parallel as a whole-file read, within the session's own maximum.
   */
  static long splitBytes(SparkSession spark, long sizeBytes, long rows, long from, long to) {
    long sessionMax = spark.sessionState().conf().filesMaxPartitionBytes();
    int cores = Math.max(1, spark.sparkContext().defaultParallelism());
    long rangeBytes = rows == 0 ? sizeBytes : (long) ((double) sizeBytes * (to - from) / rows);
    return Math.max(MIN_SPLIT_BYTES, Math.min(sessionMax, rangeBytes / cores + 1));
  }

  /**
   * {@code rows} (a plan over one Parquet file with no shuffle, whose partitions are the scan's
   * splits) restricted to the partitions whose row groups overlap {@code [from, to)}.
   */
  static Pruned pruned(SparkSession spark, String path, long[] stamp, Dataset<Row> rows,
      long from, long to) throws IOException {
    SparkPlan plan = rows.queryExecution().executedPlan();
    FileSourceScanExec scan = null;
    for (SparkPlan leaf : JavaConverters.seqAsJavaList(plan.collectLeaves())) {
      if (leaf instanceof FileSourceScanExec) {
        scan = (FileSourceScanExec) leaf;
      }
    }
    RDD<InternalRow> all = rows.queryExecution().toRdd();
    if (scan == null || all.getNumPartitions() != scan.inputRDD().getNumPartitions()) {
      throw new IllegalStateException("the read of " + path + " is not one scan of its splits: "
          + plan.simpleString(2));
    }
    Partition[] splits = scan.inputRDD().partitions();
    long[][][] splitRows = rowsOfSplits(spark, path, stamp, splits);
    boolean[] needed = new boolean[splits.length];
    List<long[][]> kept = new ArrayList<>();
    for (int i = 0; i < splits.length; i++) {
      List<long[]> ranges = new ArrayList<>();
      for (long[] range : splitRows[i]) {
        if (range[0] < to && range[1] > from) {
          ranges.add(new long[] {Math.max(range[0], from), Math.min(range[1], to)});
        }
      }
      needed[i] = !ranges.isEmpty();
      if (needed[i]) {
        kept.add(ranges.toArray(new long[0][]));
      }
    }
    RDD<InternalRow> pruned = PartitionPruningRDD.create(all, new Needed(needed));
    return new Pruned(spark.internalCreateDataFrame(pruned, rows.schema(), false),
        kept.toArray(new long[0][][]));
  }

  /**
   * A pruned read: the rows, and for each of its partitions (in order) the position ranges
   * {@code [from, to)} it yields, so a task knows its own rows before reading them.
   */
  static final class Pruned {
    final Dataset<Row> rows;
    final long[][][] ranges;

    Pruned(Dataset<Row> rows, long[][][] ranges) {
      this.rows = rows;
      this.ranges = ranges;
    }
  }

  /**
   * The row ranges of every split, kept for the last file and split layout: the batches of a file
   * share one layout, so its footers are read once, not once per batch.
   */
  private static String cachedLayout;
  private static long[][][] cachedRows;

  private static synchronized long[][][] rowsOfSplits(SparkSession spark, String path,
      long[] stamp, Partition[] splits) throws IOException {
    StringBuilder layout = new StringBuilder(path);
    layout.append('@').append(stamp[0]).append('/').append(stamp[1]);
    for (Partition p : splits) {
      for (PartitionedFile f : ((FilePartition) p).files()) {
        layout.append(';').append(f.start()).append('+').append(f.length());
      }
      layout.append('|');
    }
    if (layout.toString().equals(cachedLayout)) {
      return cachedRows;
    }
    Configuration conf = spark.sessionState().newHadoopConf();
    Map<Long, long[]> rowGroups = rowGroupsByStart(conf, new Path(path));
    long[][][] out = new long[splits.length][][];
    for (int i = 0; i < splits.length; i++) {
      List<long[]> ranges = new ArrayList<>();
      for (PartitionedFile f : ((FilePartition) splits[i]).files()) {
        ranges.addAll(rowsOfSplit(conf, new Path(path), rowGroups, f.start(), f.length()));
      }
      out[i] = ranges.toArray(new long[0][]);
    }
    cachedLayout = layout.toString();
    cachedRows = out;
    return out;
  }

  /** Each row group's first and end row position, by its starting byte. */
  private static Map<Long, long[]> rowGroupsByStart(Configuration conf, Path path) throws IOException {
    Map<Long, long[]> out = new HashMap<>();
    try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(path, conf))) {
      long first = 0;
      for (BlockMetaData block : reader.getRowGroups()) {
        out.put(block.getStartingPos(), new long[] {first, first + block.getRowCount()});
        first += block.getRowCount();
      }
    }
    return out;
  }

  /** The row ranges a split reads: its row groups as parquet-mr's range filter selects them. */
  private static List<long[]> rowsOfSplit(Configuration conf, Path path, Map<Long, long[]> rowGroups,
      long start, long length) throws IOException {
    List<long[]> out = new ArrayList<>();
    org.apache.parquet.ParquetReadOptions options =
        HadoopReadOptions.builder(conf, path).withRange(start, start + length).build();
    try (ParquetFileReader reader =
        ParquetFileReader.open(HadoopInputFile.fromPath(path, conf), options)) {
      for (BlockMetaData block : reader.getRowGroups()) {
        long[] range = rowGroups.get(block.getStartingPos());
        if (range == null) {
          throw new IOException("row group at byte " + block.getStartingPos() + " of " + path
              + " is not in the file's footer");
        }
        out.add(range);
      }
    }
    return out;
  }

  /**
   * Which partitions a pruned RDD keeps (serializable: it travels with the RDD): a scan's splits
   * here, a batch's placed partitions in {@link BatchPlan#writeIdentities}.
   */
  static final class Needed extends AbstractFunction1<Object, Object>
      implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final boolean[] needed;

    Needed(boolean[] needed) {
      this.needed = needed;
    }

    @Override
    public Object apply(Object index) {
      return needed[(Integer) index];
    }
  }
}
