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
   * {@code partitions}. Computed nibble by nibble so no BigInteger is allocated per record.
   */
  public static int partitionOf(String hexKey, int partitions) {
    return partitionOf(hexKey.getBytes(StandardCharsets.US_ASCII), partitions);
  }

  /** {@link #partitionOf(String, int)} of a key given as its ASCII hex bytes. */
  public static int partitionOf(byte[] hexKey, int partitions) {
    long r = 0;
    for (byte b : hexKey) {
      r = (r * 16 + Character.digit(b, 16)) % partitions;
    }
    return (int) r;
  }

}
