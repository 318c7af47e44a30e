import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DevBroker, startDevBroker } from '../../src/dev';
import { isAlive } from '../../src/util/processes';

/**
 * A real Apache Kafka broker (KRaft) on a free loopback port, in a temp folder, for one test
 * file. `stop` fails the test if the broker's JVM outlives it (no leaked processes).
 */
export async function startBroker(): Promise<DevBroker & { stop(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-broker-'));
  const broker = await startDevBroker({ dataDir });
  return {
    ...broker,
    async stop() {
      await broker.stop();
      assert.equal(isAlive(broker.pid), false, `broker pid ${broker.pid} still running after stop`);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The broker a test file uses: the one the whole run shares (`SPARK_SYNC_TEST_BROKER`, started by
 * test/run-suite.ts), or one of its own. Its `stop` leaves a shared broker running for the next
 * file; the runner stops it and checks that nothing is left.
 */
export async function fileBroker(): Promise<DevBroker & { stop(): Promise<void> }> {
  const shared = process.env.SPARK_SYNC_TEST_BROKER;
  if (!shared) return startBroker();
  const port = Number(shared.slice(shared.lastIndexOf(':') + 1));
  return { bootstrap: shared, port, pid: Number(process.env.SPARK_SYNC_TEST_BROKER_PID ?? 0), dataDir: '', stop: async () => undefined };
}

/** Whether this run shares one broker across test files (test/run-suite.ts). */
export function sharedBroker(): boolean {
  return !!process.env.SPARK_SYNC_TEST_BROKER;
}

let topicCounter = 0;
/** A topic name no other test uses. */
export function uniqueTopic(prefix = 'test'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${topicCounter++}`;
}

export function tempDir(prefix = 'spark-sync-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
