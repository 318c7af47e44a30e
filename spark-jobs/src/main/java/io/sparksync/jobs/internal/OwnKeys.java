package io.sparksync.jobs.internal;

import java.util.Arrays;

/**
 * The keys of one direct-write task's rows, by position, with a lookup from a key back to its
 * position: how a retried or resumed task recognises its earlier attempt's records among a
 * batch's, since a record names its row by nothing but its key (positional keys are unique per
 * file and position). Compact, for up to millions of rows a task: each key's 32 digest bytes in
 * one array (from its 64 hex characters), and an open-addressing table from a key's first 8
 * bytes to its slot, so about 56 bytes a row.
 */
final class OwnKeys {
  private static final int DIGEST = 32;
  private final long first;
  private final int span;
  private final byte[] digests;
  private final long[] tableKeys;
  /** Slot + 1 of the key in {@code tableKeys} at the same index; 0 for an empty entry. */
  private final int[] tableSlots;
  private final int mask;
  /** A looked-up key's digest: one buffer for every record a read-back sees (a task is one thread). */
  private final byte[] scratch = new byte[DIGEST];

  /** Room for the positions {@code [first, last)}. */
  OwnKeys(long first, long last) {
    long span = Math.max(0, last - first);
    if (span > Integer.MAX_VALUE / DIGEST) {
      throw new IllegalArgumentException("a task of " + span + " rows is too large to re-check");
    }
    this.first = first;
    this.span = (int) span;
    this.digests = new byte[this.span * DIGEST];
    int capacity = Integer.highestOneBit(Math.max(2, this.span * 2 - 1)) << 1;
    this.tableKeys = new long[capacity];
    this.tableSlots = new int[capacity];
    this.mask = capacity - 1;
  }

  /** Records the row at {@code position} with its key (64 hex characters). */
  void put(long position, byte[] hexKey) {
    int slot = (int) (position - first);
    if (slot < 0 || slot >= span || !decode(hexKey, digests, slot * DIGEST)) {
      throw new IllegalStateException("row " + position + " is outside the task's positions, or "
          + "its key is not a positional identity");
    }
    long prefix = prefix(digests, slot * DIGEST);
    int i = mix(prefix) & mask;
    while (tableSlots[i] != 0) {
      i = (i + 1) & mask;
    }
    tableKeys[i] = prefix;
    tableSlots[i] = slot + 1;
  }

  /** The position of the task's row with this key (a record's key bytes), or -1 if none has it. */
  long positionOf(byte[] hexKey) {
    byte[] digest = scratch;
    if (hexKey == null || !decode(hexKey, digest, 0)) {
      return -1;
    }
    long prefix = prefix(digest, 0);
    for (int i = mix(prefix) & mask; tableSlots[i] != 0; i = (i + 1) & mask) {
      int slot = tableSlots[i] - 1;
      if (tableKeys[i] == prefix
          && Arrays.equals(digests, slot * DIGEST, (slot + 1) * DIGEST, digest, 0, DIGEST)) {
        return first + slot;
      }
    }
    return -1;
  }

  long first() {
    return first;
  }

  /** Decodes 64 hex characters into 32 bytes at {@code at}; false if the text is not that. */
  private static boolean decode(byte[] hex, byte[] into, int at) {
    if (hex.length != 2 * DIGEST) {
      return false;
    }
    for (int i = 0; i < DIGEST; i++) {
      int hi = Character.digit(hex[2 * i], 16);
      int lo = Character.digit(hex[2 * i + 1], 16);
      if (hi < 0 || lo < 0) {
        return false;
      }
      into[at + i] = (byte) ((hi << 4) | lo);
    }
    return true;
  }

  private static long prefix(byte[] bytes, int at) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (bytes[at + i] & 0xff);
    }
    return v;
  }

  /** The digest is uniform already; folding keeps the table's low bits well spread anyway. */
  private static int mix(long v) {
    return (int) (v ^ (v >>> 32));
  }
}
