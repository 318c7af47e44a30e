package io.sparksync.jobs.internal;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.SparkEnv;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * The rows of a direct-write task that must first find what an earlier attempt wrote (a retry, or
 * a resumed batch): records carry no header that names their row, so the task learns its own
 * rows' keys ({@link OwnKeys}) before it reads Kafka back, and a task's rows can be read only once.
 * They wait in a file of Spark's local directory meanwhile (the executor deletes its directory
 * when it exits, so a killed task leaves nothing behind for long). First attempts, the common
 * case, never spool.
 */
final class RowSpool implements AutoCloseable {
  /** One row of the write: its key (hex text), value (JSON) and position in the file. */
  static final class Keyed {
    byte[] key;
    byte[] value;
    long position;
  }

  private final File file;
  private final OwnKeys keys;
  private final long rows;
  private DataInputStream in;

  private RowSpool(File file, OwnKeys keys, long rows) {
    this.file = file;
    this.keys = keys;
    this.rows = rows;
  }

  /** The task's rows (keyed: key, value, position), read up to the end into a local file. */
  static RowSpool of(Iterator<InternalRow> rows, long first, long last) {
    File file = SparkEnv.get() != null
        ? SparkEnv.get().blockManager().diskBlockManager().createTempLocalBlock()._2()
        : tempFile();
    OwnKeys keys = new OwnKeys(first, last);
    long n = 0;
    try (DataOutputStream out = new DataOutputStream(
        new BufferedOutputStream(new FileOutputStream(file), 1 << 16))) {
      Keyed k = new Keyed();
      while (rows.hasNext()) {
        read(rows.next(), k);
        keys.put(k.position, k.key);
        out.writeLong(k.position);
        out.writeInt(k.key.length);
        out.write(k.key);
        out.writeInt(k.value.length);
        out.write(k.value);
        n++;
      }
    } catch (IOException e) {
      file.delete();
      throw new UncheckedIOException("could not spool a retried task's rows to " + file, e);
    }
    return new RowSpool(file, keys, n);
  }

  private static File tempFile() {
    try {
      return File.createTempFile("spark-sync-rows-", ".spool");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Copies a keyed row's fields out of Spark's (reused) row buffer. */
  static void read(InternalRow r, Keyed into) {
    into.key = r.getUTF8String(0).getBytes();
    into.value = r.getUTF8String(1).getBytes();
    into.position = r.getLong(2);
  }

  OwnKeys keys() {
    return keys;
  }

  /** The spooled rows again, in the order they came. */
  Iterator<Keyed> replay() {
    closeInput();
    try {
      in = new DataInputStream(new BufferedInputStream(new FileInputStream(file), 1 << 16));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Iterator<Keyed>() {
      private long read;
      private final Keyed k = new Keyed();

      @Override
      public boolean hasNext() {
        return read < rows;
      }

      @Override
      public Keyed next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        try {
          k.position = in.readLong();
          k.key = new byte[in.readInt()];
          in.readFully(k.key);
          k.value = new byte[in.readInt()];
          in.readFully(k.value);
        } catch (EOFException e) {
          throw new IllegalStateException("the spool " + file + " ended early", e);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        read++;
        return k;
      }
    };
  }

  private void closeInput() {
    if (in != null) {
      try {
        in.close();
      } catch (IOException e) {
        // only read from
      }
      in = null;
    }
  }

  @Override
  public void close() {
    closeInput();
    file.delete();
  }
}
