package io.sparksync.jobs;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * The hash-key specification of DESIGN.md §3, in plain Java.
 *
 * <p>{@code key = hex(SHA-256(escape(f1) | … | escape(fn) | escape(file) | position))}, where
 * escape doubles {@code \} and turns {@code |} into {@code \|}, and SQL NULL renders as {@code \N}.
 * The Spark job computes the same key with SQL expressions ({@code internal.KeyColumns}); both are
 * held to {@code hash-vectors.json} by tests, so a key never depends on which side computed it.
 */
public final class HashKeys {
  /** Name stored in the checkpoint's {@code hash_algorithm}. */
  public static final String ALGORITHM = "SHA-256";
  /** How SQL NULL is rendered in the canonical text. */
  public static final String NULL_TEXT = "\\N";

  private HashKeys() {}

  /** Escapes one field text: {@code \} becomes {@code \\}, {@code |} becomes {@code \|}. */
  public static String escape(String text) {
    if (text == null) {
      return NULL_TEXT;
    }
    return text.replace("\\", "\\\\").replace("|", "\\|");
  }

  /** The canonical text hashed for a row: escaped fields, escaped file identity, position. */
  public static String canonical(List<String> fields, String file, long position) {
    StringBuilder sb = new StringBuilder();
    for (String f : fields) {
      sb.append(escape(f)).append('|');
    }
    return sb.append(escape(file)).append('|').append(position).toString();
  }

  /**
   * The canonical text of a natural-key identity ({@code --key-fields}): the escaped key fields
   * alone, joined by {@code |}, with no file and no position, so the same values hash alike in
   * every file.
   */
  public static String naturalCanonical(List<String> keyFields) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < keyFields.size(); i++) {
      sb.append(i == 0 ? "" : "|").append(escape(keyFields.get(i)));
    }
    return sb.toString();
  }

  /**
   * The partition Kafka's Java producer picks for a non-null message key by default: murmur2 of
   * the key bytes, made positive, modulo {@code partitions} (the same as {@code
   * BuiltInPartitioner.partitionForKey}), so spark-sync's records of a business key land where the
   * application's own producers put that key.
   */
  public static int partitionOfMessageKey(byte[] messageKey, int partitions) {
    return org.apache.kafka.common.utils.Utils.toPositive(
        org.apache.kafka.common.utils.Utils.murmur2(messageKey)) % partitions;
  }

  /** Lower-case hex SHA-256 of the UTF-8 bytes of {@code canonical}. */
  public static String key(String canonical) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest(canonical.getBytes(StandardCharsets.UTF_8));
      StringBuilder hex = new StringBuilder(64);
      for (byte b : digest) {
        hex.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
      }
      return hex.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  }

  /**
   * The Kafka partition of a key: the 32 digest bytes as an unsigned big-endian integer, modulo
   * {@code partitions}. Computed by Horner's rule, so no BigInteger is allocated per record.
   */
  public static int partitionOf(String hexKey, int partitions) {
    return partitionOf(hexKey.getBytes(StandardCharsets.US_ASCII), partitions);
  }

  /** Each ASCII byte's hex digit value, -1 for a byte that is no hex digit. */
  private static final byte[] HEX_DIGIT = new byte[256];

  static {
    java.util.Arrays.fill(HEX_DIGIT, (byte) -1);
    for (int c = 0; c < 256; c++) {
      int d = Character.digit(c, 16);
      if (d >= 0) {
        HEX_DIGIT[c] = (byte) d;
      }
    }
  }

  /**
   * {@link #partitionOf(String, int)} of a key given as its ASCII hex bytes. It runs once per
   * record on the write path (a profile at 10M rows found a digit-by-digit modulo at 9% of the
   * CPU), so it folds 7 digits at a time: the remainder stays below 2^31 and 7 digits below 2^28,
   * so {@code r * 2^28 + chunk} fits a long, and one modulo per chunk suffices.
   */
  public static int partitionOf(byte[] hexKey, int partitions) {
    long r = 0;
    int n = hexKey.length;
    int bad = 0;
    for (int i = 0; i < n; i += 7) {
      int end = Math.min(n, i + 7);
      long chunk = 0;
      for (int j = i; j < end; j++) {
        int d = HEX_DIGIT[hexKey[j] & 0xff];
        bad |= d;
        chunk = (chunk << 4) | (d & 0xf);
      }
      r = ((r << (4 * (end - i))) | chunk) % partitions;
    }
    if (bad < 0) {
      throw new IllegalArgumentException("a spark-sync key is hex digits, not "
          + new String(hexKey, StandardCharsets.ISO_8859_1));
    }
    return (int) r;
  }

}
