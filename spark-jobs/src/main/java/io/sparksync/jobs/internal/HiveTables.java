package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobException;
import io.sparksync.jobs.JobException.Code;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.TableIdentifier;
import org.apache.spark.sql.catalyst.analysis.UnresolvedAttribute;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.catalog.CatalogTablePartition;
import org.apache.spark.sql.catalyst.catalog.SessionCatalog;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.SubqueryExpression;
import org.apache.spark.sql.catalyst.parser.ParseException;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.Option;
import scala.collection.JavaConverters;

/**
 * Plans a Hive table ({@code hive:db.table}) into its data files: those of every partition, or
 * of the partitions {@code --where} selects, each known by its path relative to the table's
 * location. The table name is checked as identifiers and the predicate is parsed by Spark as one
 * expression over partition columns only, then evaluated on the partitions' values; neither is
 * ever pasted into SQL text.
 */
public final class HiveTables {
  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  private HiveTables() {}

  /** @return triples, flattened: {relative path, URI, format, …} in path order */
  public static String[] list(SparkSession spark, String name, String where) {
    TableIdentifier id = identifier(name);
    SessionCatalog catalog = spark.sessionState().catalog();
    if (!catalog.tableExists(id)) {
      throw new JobException(Code.SOURCE_UNREADABLE, "Hive table " + name + " does not exist");
    }
    CatalogTable table;
    try {
      table = catalog.getTableMetadata(id);
    } catch (AnalysisException e) {
      throw new JobException(Code.SOURCE_UNREADABLE, "Hive table " + name + " cannot be read: "
          + JobException.firstLine(e));
    }
    String format = SourceFormat.ofTable(table);
    Path location = new Path(table.location());
    List<Path> roots = new ArrayList<>();
    List<String> partitionColumns = JavaConverters.seqAsJavaList(table.partitionColumnNames());
    if (partitionColumns.isEmpty()) {
      if (where != null) {
        throw new JobException(Code.USAGE, "--where selects partitions, but " + name
            + " is not partitioned");
      }
      roots.add(location);
    } else {
      List<CatalogTablePartition> partitions =
          JavaConverters.seqAsJavaList(catalog.listPartitions(id, Option.empty()));
      for (CatalogTablePartition p : where == null ? partitions
          : selected(spark, table, partitions, where)) {
        roots.add(new Path(p.location()));
      }
    }
    List<String> flat = new ArrayList<>();
    try {
      FileSystem fs = location.getFileSystem(spark.sparkContext().hadoopConfiguration());
      String tablePrefix = fs.makeQualified(location).toUri().getPath() + "/";
      for (Path root : roots) {
        FileStatus rootStatus;
        try {
          rootStatus = fs.getFileStatus(root);
        } catch (FileNotFoundException e) {
          continue; // a partition in the metastore whose folder holds no data yet
        }
        String[] files = SourceFiles.list(fs, rootStatus);
        for (int i = 0; i < files.length; i += 2) {
          String path = new Path(files[i + 1]).toUri().getPath();
          // A partition stored outside the table's folder is known by its full path.
          flat.add(path.startsWith(tablePrefix) ? path.substring(tablePrefix.length()) : path);
          flat.add(files[i + 1]);
          flat.add(format);
        }
      }
    } catch (IOException e) {
      throw new JobException(Code.SOURCE_UNREADABLE,
          "cannot list the files of " + name + ": " + e.getMessage(), e);
    }
    return flat.toArray(new String[0]);
  }

  static TableIdentifier identifier(String name) {
    String[] parts = name.split("\\.", -1);
    for (String part : parts) {
      if (!IDENTIFIER.matcher(part).matches() || parts.length > 2) {
        throw new JobException(Code.USAGE, "'" + name + "' is not a table name: expected db.table,"
            + " each part letters, digits and _");
      }
    }
    return parts.length == 1 ? new TableIdentifier(parts[0])
        : new TableIdentifier(parts[1], Option.apply(parts[0]));
  }

  /** The partitions whose values satisfy {@code where}. */
  private static List<CatalogTablePartition> selected(SparkSession spark, CatalogTable table,
      List<CatalogTablePartition> partitions, String where) {
    Expression predicate;
    try {
      predicate = spark.sessionState().sqlParser().parseExpression(where);
    } catch (ParseException e) {
      throw new JobException(Code.USAGE, "--where is not a valid predicate: "
          + JobException.firstLine(e));
    }
    Set<String> columns = JavaConverters.seqAsJavaList(table.partitionColumnNames()).stream()
        .map(c -> c.toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
    check(predicate, columns, where);
    // The partitions' values as rows, typed as the table declares them, filtered by Spark.
    StructType partitionSchema = table.partitionSchema();
    StructType asText = new StructType();
    for (StructField f : partitionSchema.fields()) {
      asText = asText.add(f.name(), DataTypes.StringType);
    }
    asText = asText.add("__index", DataTypes.IntegerType);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < partitions.size(); i++) {
      Object[] values = new Object[partitionSchema.size() + 1];
      for (int c = 0; c < partitionSchema.size(); c++) {
        Option<String> v = partitions.get(i).spec().get(partitionSchema.fields()[c].name());
        values[c] = v.isDefined() ? v.get() : null;
      }
      values[partitionSchema.size()] = i;
      rows.add(RowFactory.create(values));
    }
    List<Column> typed = new ArrayList<>();
    for (StructField f : partitionSchema.fields()) {
      typed.add(new Column(f.name()).cast(f.dataType()).as(f.name()));
    }
    typed.add(new Column("__index"));
    Dataset<Row> values = spark.createDataFrame(rows, asText).select(typed.toArray(new Column[0]));
    List<CatalogTablePartition> chosen = new ArrayList<>();
    for (Row r : values.filter(new Column(predicate)).select("__index").collectAsList()) {
      chosen.add(partitions.get(r.getInt(0)));
    }
    chosen.sort((a, b) -> a.location().toString().compareTo(b.location().toString()));
    return chosen;
  }

  /** Only partition columns, and no subquery: the predicate selects partitions, nothing else. */
  private static void check(Expression e, Set<String> partitionColumns, String where) {
    if (e instanceof SubqueryExpression) {
      throw new JobException(Code.USAGE, "--where '" + where + "' holds a subquery; it may only"
          + " compare partition columns");
    }
    if (e instanceof UnresolvedAttribute) {
      String column = ((UnresolvedAttribute) e).name().toLowerCase(Locale.ROOT);
      if (!partitionColumns.contains(column)) {
        throw new JobException(Code.USAGE, "--where '" + where + "' uses " + column
            + ", which is not a partition column (" + String.join(", ", partitionColumns) + ")");
      }
    }
    for (Expression child : JavaConverters.seqAsJavaList(e.children())) {
      check(child, partitionColumns, where);
    }
  }
}
