package io.sparksync.jobs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The bridge's job API takes one request per operation (JobRequest), not positional lists that
 * every new option would lengthen on both sides: no public method has more than 6 parameters.
 */
class JobApiShapeTest {
  private static final int MAX_PARAMETERS = 6;

  @Test
  void noPublicMethodOfTheJobApiTakesMoreThanSixParameters() {
    List<String> tooLong = new ArrayList<>();
    for (Class<?> api : new Class<?>[] {SparkSyncJobs.class, CheckpointLog.class}) {
      for (Method m : api.getDeclaredMethods()) {
        if (Modifier.isPublic(m.getModifiers()) && m.getParameterCount() > MAX_PARAMETERS) {
          tooLong.add(api.getSimpleName() + "." + m.getName() + " (" + m.getParameterCount() + ")");
        }
      }
    }
    assertTrue(tooLong.isEmpty(), "methods with more than " + MAX_PARAMETERS + " parameters: " + tooLong);
  }
}
