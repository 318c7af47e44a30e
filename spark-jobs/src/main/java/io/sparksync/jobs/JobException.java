package io.sparksync.jobs;

/**
 * A failure the driver can act on. The message starts with {@code SPARK_SYNC[CODE]} so the
 * TypeScript side maps it to the same error code and exit code (codes are shared with
 * {@code src/errors}).
 *
 * <p>It never chains a cause: java-bridge reports only the innermost exception of a chain, which
 * would hide the code. The cause's class and message go into this message instead.
 */
public class JobException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Codes shared with the TypeScript driver. */
  public enum Code {
    /** A bad argument: a table name or a --where predicate that cannot be used. */
    USAGE,
    /** The source path does not exist or is not a readable data file. */
    SOURCE_UNREADABLE,
    /** The source's file system (an HDFS namenode or datanode) could not be reached: retriable. */
    SOURCE_UNAVAILABLE,
    /** The format is not one this build can read. */
    UNSUPPORTED_FORMAT,
    /** Kafka offsets are not what the checkpoint says they must be. */
    OFFSET_MISMATCH,
    /**
     * Resuming a cut-off batch: a partition's records past the checkpoint are not the batch's first
     * records for it, in order. The driver then falls back to the anti-join recovery.
     */
    RESUME_MISMATCH,
    /** Kafka could not be reached or did not answer in time. */
    KAFKA_UNAVAILABLE,
    /** Kafka refused a write. */
    KAFKA_WRITE_FAILED,
    /**
     * A record larger than Kafka accepts (the producer's max.request.size or the topic's
     * max.message.bytes), and no dead-letter topic to take it: a retry fails the same way.
     */
    RECORD_TOO_LARGE,
    /** A row whose --message-key column is NULL: Kafka's default partitioner has no key to hash. */
    NULL_MESSAGE_KEY,
    /**
     * Another run took the topic over: its transactional producer fenced this one's checkpoint
     * writes (or its lease moved on).
     */
    LEASE_LOST,
    /** Kafka refused the principal an operation (a topic's read or write, a transactional id). */
    KAFKA_NOT_AUTHORIZED
  }

  private final Code code;

  public JobException(Code code, String message, Throwable cause) {
    super("SPARK_SYNC[" + code + "]: " + message
        + (cause == null ? "" : " (caused by " + cause.getClass().getName() + ")"));
    this.code = code;
  }

  public JobException(Code code, String message) {
    this(code, message, null);
  }

  public Code code() {
    return code;
  }

  /**
   * An I/O failure on the source: {@link Code#SOURCE_UNAVAILABLE} when the file system could not
   * be reached (connection refused or timed out, unknown host, a namenode in standby or safe
   * mode), so that a scheduler retries; {@link Code#SOURCE_UNREADABLE} otherwise.
   */
  public static JobException ofSourceIo(String what, Throwable e) {
    Throwable network = unreachableCause(e);
    if (network != null) {
      return new JobException(Code.SOURCE_UNAVAILABLE, what + ": the file system did not answer ("
          + network.getClass().getSimpleName() + ": " + firstLine(network) + ")", e);
    }
    return new JobException(Code.SOURCE_UNREADABLE, what + ": " + firstLine(e), e);
  }

  /**
   * The first cause in the chain that says the file system could not be reached (connection
   * refused or timed out, unknown host, a namenode in standby or safe mode), or null.
   */
  public static Throwable unreachableCause(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String name = t.getClass().getName();
      if (t instanceof java.net.ConnectException || t instanceof java.net.UnknownHostException
          || t instanceof java.net.SocketTimeoutException || t instanceof java.net.NoRouteToHostException
          || name.endsWith(".StandbyException") || name.endsWith(".SafeModeException")
          || name.endsWith(".RetriableException")) {
        return t;
      }
    }
    return null;
  }

  /** The first line of an exception's message: one line for the operator, details with --verbose. */
  public static String firstLine(Throwable t) {
    String m = String.valueOf(t.getMessage());
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
