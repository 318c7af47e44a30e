package io.sparksync.jobs.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The header spark-sync.id holds an identity's 32 raw digest bytes, read back as its hex text. */
class KeyModeIdTest {
  private static final String HEX = "00ff10a2" + "3c".repeat(28);

  @Test
  void theHeaderIsTheDigestsBytesAndReadsBackAsItsHex() {
    byte[] header = KeyMode.idHeader(HEX.getBytes(StandardCharsets.US_ASCII));
    assertEquals(32, header.length);
    assertEquals((byte) 0xff, header[1]);
    assertArrayEquals(HEX.getBytes(StandardCharsets.US_ASCII), KeyMode.idText(header));
  }

  @Test
  void aHeaderOfHexTextFromEarlierVersionsReadsAsItIs() {
    byte[] text = HEX.getBytes(StandardCharsets.US_ASCII);
    assertArrayEquals(text, KeyMode.idText(text));
  }
}
