package io.sparksync.jobs.internal;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Test-only faults, armed by the driver when a test asks for one (never in normal runs). They
 * fire inside a Spark task once it has sent {@code afterRecords} records of its partition:
 * {@code kill} SIGKILLs the whole process (driver included: Spark runs in its JVM), {@code fail}
 * flushes and then fails the task once, so Spark retries it. Public only for
 * {@code SparkSyncJobs.armTestFault}; {@link PartitionWriter} checks it after each send.
 */
public final class TestFaults {
  private static final AtomicReference<String> ARMED = new AtomicReference<>();
  private static volatile long afterRecords;

  private TestFaults() {}

  public static void arm(String fault, long records) {
    afterRecords = records;
    ARMED.set(fault);
  }

  static boolean armed() {
    return ARMED.get() != null;
  }

  /** Called by a writing task after each send, only while a fault is armed. */
  static void afterSend(long sent, Runnable flush) {
    if (sent < afterRecords) {
      return;
    }
    String fault = ARMED.get();
    if ("kill".equals(fault)) {
      flush.run();
      killThisProcess();
    } else if ("fail".equals(fault) && ARMED.compareAndSet(fault, null)) {
      flush.run();
      throw new IllegalStateException("test fault: task failed after writing " + sent + " records");
    }
  }

  private static void killThisProcess() {
    try {
      new ProcessBuilder("kill", "-9", Long.toString(ProcessHandle.current().pid()))
          .inheritIO().start().waitFor();
      Thread.sleep(60_000);
    } catch (Exception e) {
      Runtime.getRuntime().halt(137);
    }
  }
}
