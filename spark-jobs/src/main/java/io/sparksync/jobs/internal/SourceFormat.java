package io.sparksync.jobs.internal;

import io.sparksync.jobs.JobException;
import io.sparksync.jobs.JobException.Code;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;

/**
 * The format a source is read in: the one place that decides it, for files and Hive tables.
 *
 * <p>A format arrives as a spec: its name, then optionally {@code ?k=v&k=v} reader options,
 * URL-encoded ({@code csv?header=true&delimiter=%3B}). The spec is what the checkpoint stores,
 * so a file is never resumed under options that would read different rows. A Hive table's spec
 * comes from its metastore entry ({@link #ofTable}). Anything else fails with
 * {@link Code#UNSUPPORTED_FORMAT}.
 */
final class SourceFormat {
  static final Set<String> NAMES = Set.of("parquet", "orc", "csv", "json");
  private static final Set<String> CSV_OPTIONS = Set.of("header", "delimiter");

  final String name;
  final Map<String, String> options;

  private SourceFormat(String name, Map<String, String> options) {
    this.name = name;
    this.options = options;
  }

  static SourceFormat parse(String spec) {
    int q = spec.indexOf('?');
    String name = (q < 0 ? spec : spec.substring(0, q)).toLowerCase(Locale.ROOT);
    if (!NAMES.contains(name)) {
      throw new JobException(Code.UNSUPPORTED_FORMAT,
          "format '" + name + "' is not supported; spark-sync reads parquet, orc, csv and json");
    }
    Map<String, String> options = new LinkedHashMap<>();
    if (q >= 0 && q + 1 < spec.length()) {
      for (String pair : spec.substring(q + 1).split("&")) {
        int eq = pair.indexOf('=');
        String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
        String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
        if (!name.equals("csv") || !CSV_OPTIONS.contains(key)) {
          throw new JobException(Code.UNSUPPORTED_FORMAT,
              "option '" + key + "' does not apply to " + name + " (csv takes header, delimiter)");
        }
        options.put(key, value);
      }
    }
    return new SourceFormat(name, options);
  }

  /** The spec a Hive table's files are read with: its provider, or the format its SerDe stores. */
  static String ofTable(CatalogTable table) {
    String provider = table.provider().isDefined()
        ? table.provider().get().toLowerCase(Locale.ROOT) : "hive";
    if (NAMES.contains(provider)) {
      return provider;
    }
    String serde = table.storage().serde().isDefined()
        ? table.storage().serde().get().toLowerCase(Locale.ROOT) : "";
    if (provider.equals("hive") && serde.contains("parquet")) {
      return "parquet";
    }
    if (provider.equals("hive") && serde.contains("orc")) {
      return "orc";
    }
    throw new JobException(Code.UNSUPPORTED_FORMAT, "table " + table.identifier().unquotedString()
        + " is stored as " + (serde.isEmpty() ? provider : serde)
        + "; spark-sync reads Parquet, ORC, CSV and JSON tables");
  }
}
