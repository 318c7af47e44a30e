package io.sparksync.jobs.internal;

import java.util.HashMap;
import java.util.Map;

/** Settings cross the bridge as {@code key=value} strings; this turns them back into a map. */
final class KeyValues {
  private KeyValues() {}

  /** spark-sync's own settings among Kafka's (see {@link RecordLimits}): never given to a client. */
  static final String OWN_PREFIX = "spark-sync.";

  /** The Kafka client settings of {@code pairs}, without spark-sync's own. */
  static Map<String, String> parse(String[] pairs) {
    Map<String, String> m = all(pairs);
    m.keySet().removeIf(k -> k.startsWith(OWN_PREFIX));
    return m;
  }

  /** Every pair, spark-sync's own settings included. */
  static Map<String, String> all(String[] pairs) {
    Map<String, String> m = new HashMap<>();
    for (String s : pairs == null ? new String[0] : pairs) {
      int eq = s.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("expected key=value, got '" + s + "'");
      }
      m.put(s.substring(0, eq), s.substring(eq + 1));
    }
    return m;
  }
}
