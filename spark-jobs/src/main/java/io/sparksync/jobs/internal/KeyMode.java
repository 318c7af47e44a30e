package io.sparksync.jobs.internal;

import io.sparksync.jobs.HashKeys;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * How the records of a file are keyed (DESIGN.md §3): which identity spark-sync keeps exactly
 * once, and what Kafka sees as the message key.
 *
 * <ul>
 *   <li>Identity: positional by default (every field, the file and the position), or natural
 *       ({@code --key-fields}): only the named fields, so equal values are one record in every
 *       file, and an identity the topic already has (its {@link IdentityIndex}) is not sent again.
 *   <li>Message key: the identity's 64 hex characters by default, or the business key
 *       ({@code --message-key}): the column's text, or for several columns a JSON object of their
 *       texts; the partition is then Kafka's default partitioner's, and the identity travels in
 *       the header {@link #HEADER_ID} as its 32 raw digest bytes.
 * </ul>
 *
 * <p>A placed record's key bytes ({@link BatchWriter#place}) are the identity's 64 hex
 * characters, followed in message-key mode by the message key's UTF-8 bytes: the identity has a
 * fixed length, so the split is unambiguous and the shuffle and sort carry one byte array.
 */
public final class KeyMode implements Serializable {
  private static final long serialVersionUID = 1L;
  static final String HEADER_ID = "spark-sync.id";
  /** Hex characters of a SHA-256 identity. */
  static final int ID_CHARS = 64;
  static final KeyMode POSITIONAL = new KeyMode(null, null, null);
  /** Reading identities back: in the header, as any business message key puts them. */
  static final KeyMode MESSAGE_KEYED = new KeyMode(null, new String[0], null);

  /** The natural-key fields, or null: positional identity. */
  final String[] keyFields;
  /** The message-key columns, or null: the identity is the message key. */
  final String[] messageKey;
  /** The topic's identity index (a folder URI) in natural-key mode, else null. */
  final String identityIndex;

  private KeyMode(String[] keyFields, String[] messageKey, String identityIndex) {
    this.keyFields = keyFields;
    this.messageKey = messageKey;
    this.identityIndex = identityIndex;
  }

  /** From the bridge: empty arrays (and an empty index) mean the defaults. */
  public static KeyMode of(String[] keyFields, String[] messageKey, String identityIndex) {
    boolean natural = keyFields != null && keyFields.length > 0;
    if (natural && (identityIndex == null || identityIndex.isEmpty())) {
      throw new IllegalArgumentException("natural-key mode needs the topic's identity index");
    }
    return new KeyMode(natural ? keyFields.clone() : null,
        messageKey != null && messageKey.length > 0 ? messageKey.clone() : null,
        natural ? identityIndex : null);
  }

  /** The identity and message key alone, for reading rows without the index (a preview). */
  public static KeyMode withoutIndex(String[] keyFields, String[] messageKey) {
    return new KeyMode(keyFields != null && keyFields.length > 0 ? keyFields.clone() : null,
        messageKey != null && messageKey.length > 0 ? messageKey.clone() : null, null);
  }

  boolean natural() {
    return keyFields != null;
  }

  boolean messageKeyed() {
    return messageKey != null;
  }

  /** The identity's hex bytes of a placed key. */
  byte[] identity(byte[] placedKey) {
    return messageKeyed() ? Arrays.copyOf(placedKey, ID_CHARS) : placedKey;
  }

  /**
   * The header {@link #HEADER_ID} of an identity: its 32 digest bytes, half the size of the 64
   * hex characters it is written as elsewhere (DESIGN.md §3).
   */
  static byte[] idHeader(byte[] hexIdentity) {
    return HexFormat.of().parseHex(new String(hexIdentity, StandardCharsets.US_ASCII));
  }

  /**
   * An identity's 64 hex characters from its {@link #HEADER_ID} value: 32 raw digest bytes, or the
   * hex text itself, which records written before the header became raw bytes carry.
   */
  static byte[] idText(byte[] header) {
    if (header == null || header.length != ID_CHARS / 2) {
      return header;
    }
    return HexFormat.of().formatHex(header).getBytes(StandardCharsets.US_ASCII);
  }

  /** The same as {@link #idText}, as a Spark SQL expression over a header value column {@code v}. */
  static String idTextSql(String v) {
    return "(CASE WHEN length(" + v + ") = " + (ID_CHARS / 2) + " THEN lower(hex(" + v
        + ")) ELSE CAST(" + v + " AS STRING) END)";
  }

  /** The Kafka message key of a placed key. */
  byte[] kafkaKey(byte[] placedKey) {
    return messageKeyed() ? Arrays.copyOfRange(placedKey, ID_CHARS, placedKey.length) : placedKey;
  }

  /** A placed key: the identity's hex bytes, then the message key's bytes (if any). */
  static byte[] placedKey(byte[] identity, byte[] messageKey) {
    if (messageKey == null) {
      return identity;
    }
    byte[] placed = Arrays.copyOf(identity, ID_CHARS + messageKey.length);
    System.arraycopy(messageKey, 0, placed, ID_CHARS, messageKey.length);
    return placed;
  }

  /** The Kafka partition of a placed key. */
  int partition(byte[] placedKey, int partitions) {
    if (messageKeyed()) {
      return HashKeys.partitionOfMessageKey(kafkaKey(placedKey), partitions);
    }
    return HashKeys.partitionOf(placedKey, partitions);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof KeyMode)) {
      return false;
    }
    KeyMode m = (KeyMode) o;
    return Arrays.equals(keyFields, m.keyFields) && Arrays.equals(messageKey, m.messageKey)
        && java.util.Objects.equals(identityIndex, m.identityIndex);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(Arrays.hashCode(keyFields), Arrays.hashCode(messageKey),
        identityIndex);
  }
}
