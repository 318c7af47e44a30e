import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from '../../src/dev/dev-broker';
import { isAlive } from '../../src/util/processes';
import { tempDir } from '../helpers/broker-fixture';
import { runCli } from '../helpers/cli';

test('broker start returns a ready KRaft broker; broker stop leaves no process behind', async () => {
  const dataDir = path.join(tempDir(), 'kafka');
  const port = await freePort();
  const started = await runCli(['broker', 'start', '--port', String(port), '--data-dir', dataDir]);
  assert.equal(started.code, 0, started.stderr);
  const pid = Number(started.summary.pid);
  assert.equal(started.summary.bootstrap, `127.0.0.1:${port}`);
  try {
    assert.ok(isAlive(pid), 'broker runs after start returned');
    // Ready means ready: a topic can be created and described at once, with no retry loop here.
    const admin = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'ready-check', numPartitions: 2 }], waitForLeaders: true });
    const meta = await admin.fetchTopicMetadata({ topics: ['ready-check'] });
    assert.equal(meta.topics[0].partitions.length, 2);
    await admin.disconnect();

    const again = await runCli(['broker', 'start', '--port', String(port), '--data-dir', dataDir]);
    assert.equal(again.code, 2, 'a second start on the same data dir is refused');
    assert.match(again.stderr, /already running/);
  } finally {
    const stopped = await runCli(['broker', 'stop', '--data-dir', dataDir]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.summary.stopped, true);
  }
  assert.equal(isAlive(pid), false, 'no broker process after stop');
  const idle = await runCli(['broker', 'stop', '--data-dir', dataDir]);
  assert.equal(idle.summary.stopped, false);
});
